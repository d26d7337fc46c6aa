// The 研判 map: the listed warnings that have a place, one layer per kind (the layers control lists
// them) — hotspots as circles as wide as their cases spread, recurring problems as markers, the rest
// as dots — over the outlines of the user's grids; tiles only when a tile server is configured.
(function () {
  "use strict";
  const SEVERITY_COLOURS = { 1: "#2471a3", 2: "#b9770e", 3: "#c0392b" };
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const box = document.getElementById("insights-map");
  if (!box || !window.L) return;
  const labels = read("insights-labels");
  const roots = read("insights-roots");
  const map = L.map(box, { maxZoom: 19 });
  const tileUrl = read("tile-url");
  if (tileUrl) L.tileLayer(tileUrl, { attribution: read("tile-attribution"), maxZoom: 19 }).addTo(map);
  map.setView([31.3, 120.5], 12);  // before any layer: a renderer made earlier keeps a wrong origin

  function popup(w) {
    const div = document.createElement("div");
    const link = document.createElement("a");
    link.href = w.url;
    link.textContent = w.title;
    link.className = "insights-popup-link";
    div.append(link, document.createElement("br"), `${w.kind_label} · ${w.severity_label} · ${w.state_label}`,
               document.createElement("br"), w.grid);
    if (w.count) div.append(document.createElement("br"), `${labels.cases}: ${w.count}`);
    if (!w.is_current) div.append(document.createElement("br"), labels.gone);
    return div;
  }

  async function outlines() {
    const response = await fetch("/public/grids.geojson");
    if (!response.ok) return;
    const collection = await response.json();
    collection.features = collection.features.filter(
      (f) => roots.some((root) => String(f.properties.code || "").startsWith(root)));
    L.geoJSON(collection, { style: { color: "#1f4e79", weight: 1, fillOpacity: 0.02 }, interactive: false })
      .addTo(map);
  }

  function shape(w) {
    const colour = SEVERITY_COLOURS[w.severity] || "#555";
    if (w.kind === "hotspot") {
      return L.circle([w.lat, w.lon], { radius: Math.max(w.radius_m || 0, 15), color: colour, weight: 2,
                                        fillColor: colour, fillOpacity: 0.25 });
    }
    if (w.kind === "recurrence") return L.marker([w.lat, w.lon], { title: w.title, alt: w.title });
    return L.circleMarker([w.lat, w.lon], { radius: 7, color: "#fff", weight: 1.5, fillColor: colour,
                                            fillOpacity: 0.95 });
  }

  async function warnings() {
    const response = await fetch(box.dataset.points, { credentials: "same-origin" });
    if (!response.ok) return;
    const found = (await response.json()).warnings;
    const layers = {};
    const bounds = L.latLngBounds([]);
    for (const w of found) {
      if (!layers[w.kind_label]) layers[w.kind_label] = L.layerGroup().addTo(map);
      bounds.extend([w.lat, w.lon]);
      const drawn = shape(w).bindPopup(() => popup(w)).addTo(layers[w.kind_label]);
      const element = drawn.getElement ? drawn.getElement() : null;
      if (element) element.dataset.warning = String(w.id);
    }
    if (found.length) L.control.layers(null, layers, { collapsed: window.innerWidth < 600 }).addTo(map);
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { animate: false, maxZoom: 17 });
    document.getElementById("insights-map-count").textContent = `${labels.shown} ${found.length}`;
    box.dataset.loaded = String(found.length);
  }

  outlines().catch(() => null).then(warnings);
})();
