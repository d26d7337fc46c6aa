// The public map: the grids' outlines and recent public reports as dots (orange while being
// handled, green once closed), clustered; the form narrows them by status and dates.
(function () {
  "use strict";
  const COLOURS = { open: "#d35400", closed: "#1e8449" };
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const labels = read("public-map-labels");
  const map = L.map("public-map", { maxZoom: 19 });  // SVG dots: each one can be tabbed to and clicked
  const tileUrl = read("tile-url");
  if (tileUrl) L.tileLayer(tileUrl, { attribution: read("tile-attribution"), maxZoom: 19 }).addTo(map);
  map.setView([31.3, 120.5], 12);  // before any layer: a renderer made earlier keeps a wrong origin
  const clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
  map.addLayer(clusters);

  function popup(p) {
    const box = document.createElement("div");
    const title = document.createElement("strong");
    title.textContent = p.service_name;
    box.append(title, document.createElement("br"), `${labels[p.status] || p.status} · ${p.address}`,
               document.createElement("br"), (p.requested_datetime || "").slice(0, 10),
               ` · ${p.service_request_id}`);
    return box;
  }

  async function outlines() {
    const response = await fetch("/public/grids.geojson");
    if (!response.ok) return;
    const layer = L.geoJSON(await response.json(), {
      style: { color: "#1f4e79", weight: 1, fillOpacity: 0.02 }, interactive: false,
    }).addTo(map);
    // Not animated: dots added during a zoom animation would be placed for the old zoom.
    if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { animate: false });
  }

  async function reports() {
    const query = new URLSearchParams(new FormData(document.getElementById("public-filters")));
    for (const [key, value] of [...query.entries()]) if (!value) query.delete(key);
    const response = await fetch(`/public/reports.geojson?${query}`);
    const count = document.getElementById("public-map-count");
    if (!response.ok) {
      count.textContent = (await response.json()).map((e) => e.description).join(" ");
      return;
    }
    const collection = await response.json();
    clusters.clearLayers();
    clusters.addLayers(collection.features.map((f) => {
      const [lon, lat] = f.geometry.coordinates;
      return L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 1.5,
                                          fillColor: COLOURS[f.properties.status] || "#555", fillOpacity: 0.95 })
        .bindPopup(() => popup(f.properties));
    }));
    count.textContent = `${labels.shown} ${collection.features.length}` + (collection.truncated ? ` ${labels.more}` : "");
  }

  document.getElementById("public-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    reports();
  });
  outlines().then(reports);
})();
