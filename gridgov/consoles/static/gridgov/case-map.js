// The command centre's map: the scope's grids as outlines, open cases as dots coloured by
// their light, clustered when many; a dot opens the case. Reloads with the queue's filters.
(function () {
  "use strict";
  const LIGHTS = { green: "#1e8449", yellow: "#d4ac0d", red: "#c0392b" };
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const element = document.getElementById("case-map");
  const map = L.map(element, { preferCanvas: true, zoomSnap: 0.25, maxZoom: 19 });  // clustering needs a maxZoom
  const tileUrl = read("tile-url");
  if (tileUrl) L.tileLayer(tileUrl, { attribution: read("tile-attribution"), maxZoom: 19 }).addTo(map);
  // chunkedLoading: thousands of dots are added a slice at a time, the page stays responsive.
  const clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50, chunkedLoading: true });
  map.addLayer(clusters);

  // A dot carries only its id, number and light: the rest of the case is read when it is opened.
  async function popup(p) {
    const box = document.createElement("div");
    const link = document.createElement("a");
    link.href = `/cases/${p.id}/`;
    link.textContent = p.number;
    box.append(link);
    const response = await fetch(`/api/v1/cases/${p.id}`, { credentials: "same-origin" });
    if (response.ok) {
      const c = await response.json();
      box.append(document.createElement("br"), `${c.category} · ${c.state_label}`,
                 document.createElement("br"), c.grid.name);
    }
    return box;
  }

  // The grids' outlines in view, down to the level-3 grids: enough to read the map.
  window.gridgovGridView(map, {
    level: 3, geojson: { style: { color: "#1f4e79", weight: 1, fillOpacity: 0.02 }, interactive: false },
  });

  async function cases() {
    const filters = new URLSearchParams(window.location.search);
    const query = new URLSearchParams();
    for (const key of ["light", "state", "grid", "category"]) {
      if (filters.get(key)) query.set(key, filters.get(key));
    }
    const response = await fetch(`/api/v1/cases/map?${query}`, { credentials: "same-origin" });
    if (!response.ok) return 0;
    const collection = await response.json();
    clusters.clearLayers();
    const markers = collection.features.map((f) => {
      const [lon, lat] = f.geometry.coordinates;
      const colour = LIGHTS[f.properties.light] || "#555";
      return L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 1.5, fillColor: colour,
                                          fillOpacity: 0.95 })
        .bindPopup(document.createElement("div"))
        .on("popupopen", async (event) => event.popup.setContent(await popup(f.properties)));
    });
    clusters.addLayers(markers);
    document.getElementById("case-map-note").hidden = !collection.truncated;
    return markers.length;
  }

  cases().then((count) => {
    const area = read("grid-bounds");
    if (area) map.fitBounds(area);
    else if (clusters.getLayers().length) map.fitBounds(clusters.getBounds());
    else map.setView([31.3, 120.5], 11);
    element.dataset.loaded = String(count);
  });
  // New cases appear on the map as they do in the queue.
  setInterval(() => cases().then((count) => { element.dataset.loaded = String(count); }), 60000);
})();
