// The grid map: the grids of the user's area in view, coloured by level; click one for its people.
(function () {
  "use strict";
  const COLOURS = { 1: "#1f4e79", 2: "#2e86c1", 3: "#1e8449", 4: "#b9770e", 5: "#7d3c98" };
  const WEIGHTS = { 1: 3, 2: 2, 3: 1.5, 4: 1, 5: 1 };
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const tileUrl = read("tile-url");
  const labels = read("map-labels");
  const panel = document.getElementById("grid-panel");

  const map = L.map("grid-map", { preferCanvas: true, zoomSnap: 0.25 });
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: read("tile-attribution"), maxZoom: 19 }).addTo(map);
  }
  const layers = {};

  function style(feature) {
    const level = feature.properties.level;
    return {
      color: COLOURS[level] || "#555", weight: WEIGHTS[level] || 1,
      fillColor: COLOURS[level] || "#555", fillOpacity: level >= 3 ? 0.08 : 0.03,
    };
  }

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  async function showGrid(code) {
    const response = await fetch(`/api/v1/grids/${code}`, { credentials: "same-origin" });
    const grid = await response.json();
    panel.replaceChildren();
    if (!response.ok) { panel.append(text("p", grid.detail, "error")); return; }
    panel.append(text("h2", grid.name));
    panel.append(text("p", grid.code, "code"));
    const open = text("a", labels.open);
    open.href = `/grids/${encodeURIComponent(grid.code)}/`;
    open.id = "grid-page-link";
    panel.append(open);
    const path = grid.ancestors.map((a) => a.name).join(" › ");
    if (path) panel.append(text("p", path, "hint"));
    const facts = document.createElement("dl");
    for (const [k, v] of [[labels.level, grid.level], [labels.households, grid.households_estimate],
                          [labels.area, `${(grid.area_m2 / 1e6).toFixed(2)} km²`],
                          [labels.children, grid.children.length]]) {
      facts.append(text("dt", k), text("dd", String(v)));
    }
    panel.append(facts, text("h3", labels.staff));
    const list = document.createElement("ul");
    list.className = "staff";
    for (const s of grid.staff) {
      const li = text("li", `${s.name} · ${s.role_label}${s.post ? " · " + s.post_label : ""} `);
      li.append(text("span", s.phone, "phone"));
      list.append(li);
    }
    if (!grid.staff.length) list.append(text("li", labels.none));
    panel.append(list);
    selected = code;
    Object.values(layers).forEach((layer) => layer.setStyle(style(layer.feature)));
    if (layers[code]) layers[code].setStyle({ weight: 4, color: "#c0392b" });
  }

  // What is drawn: the grids in view, as deep as the zoom shows, fetched again after every move.
  const element = document.getElementById("grid-map");
  let selected = null;
  window.gridgovGridView(map, {
    geojson: {
      style,
      onEachFeature(feature, layer) {
        layers[feature.properties.code] = layer;
        layer.bindTooltip(`${feature.properties.name}`, { sticky: true });
        layer.on("click", (event) => { L.DomEvent.stopPropagation(event); showGrid(feature.properties.code); });
      },
    },
    onDrawn(collection) {
      const shown = new Set(collection.features.map((f) => f.properties.code));
      Object.keys(layers).forEach((code) => { if (!shown.has(code)) delete layers[code]; });
      if (selected && layers[selected]) layers[selected].setStyle({ weight: 4, color: "#c0392b" });
      element.dataset.level = String(collection.level);
      element.dataset.loaded = String(collection.features.length);
      document.getElementById("grid-map-note").hidden = !collection.truncated;
    },
  });

  const area = read("grid-bounds");
  const wanted = read("grid-focus");  // /grids/map/?grid=<code> (the link on a grid's page)
  if (wanted) map.fitBounds(wanted.bounds);
  else if (area) map.fitBounds(area);
  else map.setView([31.3, 120.5], 11);
  if (wanted) { selected = wanted.code; showGrid(wanted.code); }
})();
