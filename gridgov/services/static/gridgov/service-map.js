// The service map: a community's points, one layer per kind (the layers control lists them),
// over the grids' outlines; tiles only when a tile server is configured, so it works offline.
(function () {
  "use strict";
  const COLOURS = ["#c0392b", "#2471a3", "#1e8449", "#b9770e", "#7d3c98", "#117a65", "#a04000",
                   "#2e4053", "#b03a2e", "#1a5276", "#6e2c00", "#4a235a"];
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const labels = read("services-map-labels");
  const box = document.getElementById("services-map");
  const map = L.map(box, { maxZoom: 19 });
  const tileUrl = read("tile-url");
  if (tileUrl) L.tileLayer(tileUrl, { attribution: read("tile-attribution"), maxZoom: 19 }).addTo(map);
  map.setView([29.1, 119.6], 12);  // before any layer: a renderer made earlier keeps a wrong origin

  function popup(p) {
    const div = document.createElement("div");
    const title = document.createElement("strong");
    title.textContent = p.name;
    const rating = p.rating === null ? labels.none : `${p.rating} (${p.ratings})`;
    div.append(title, document.createElement("br"), `${p.kind_label} · ${p.address}`, document.createElement("br"),
               `${labels.phone}: ${p.phone || "—"}`, document.createElement("br"),
               `${labels.hours}: ${(p.hours || []).join("; ") || "—"}`, document.createElement("br"),
               `${labels.rating}: ${rating}`);
    return div;
  }

  async function outlines(code) {
    const response = await fetch("/public/grids.geojson");
    if (!response.ok) return;
    const collection = await response.json();
    collection.features = collection.features.filter((f) => String(f.properties.code || "").startsWith(code));
    L.geoJSON(collection, { style: { color: "#1f4e79", weight: 1, fillOpacity: 0.02 }, interactive: false }).addTo(map);
  }

  async function servicePoints(code) {
    const response = await fetch(`/services/map/points.geojson?community=${encodeURIComponent(code)}`);
    if (!response.ok) return;
    const collection = await response.json();
    const layers = {};
    const kinds = [];
    const bounds = L.latLngBounds([]);
    for (const f of collection.features) {
      const p = f.properties;
      if (!layers[p.kind_label]) { layers[p.kind_label] = L.layerGroup().addTo(map); kinds.push(p.kind_label); }
      const [lon, lat] = f.geometry.coordinates;
      bounds.extend([lat, lon]);
      L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 1.5, fillOpacity: 0.95,
                                   fillColor: COLOURS[kinds.indexOf(p.kind_label) % COLOURS.length] })
        .bindPopup(() => popup(p)).addTo(layers[p.kind_label]);
    }
    L.control.layers(null, layers, { collapsed: window.innerWidth < 600 }).addTo(map);
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.1), { animate: false });
    document.getElementById("services-map-count").textContent = `${labels.shown} ${collection.features.length}`;
  }

  const code = box.dataset.community;
  if (code) outlines(code).then(() => servicePoints(code));
})();
