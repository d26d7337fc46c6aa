// The grids in a map's view, fetched again after every move (GET /api/v1/grids/shapes): as deep as
// the zoom shows, or no deeper than `level`. A city's polygons are never sent all at once.
// gridgovGridView(map, { level, geojson, onDrawn }) → the L.geoJSON layer (geojson: its options;
// onDrawn(collection) after each redraw, with `level` and `truncated` of the answer).
(function () {
  "use strict";

  window.gridgovGridView = function (map, { level = null, geojson = {}, onDrawn = null } = {}) {
    const layer = L.geoJSON(null, geojson).addTo(map);
    const clamp = (value, limit) => Math.max(-limit, Math.min(limit, value)).toFixed(6);
    let inFlight = null;

    async function draw() {
      if (inFlight) inFlight.abort();  // the map moved again: the older answer is of no use
      const controller = new AbortController();
      inFlight = controller;
      const view = map.getBounds().pad(0.2);  // a margin: a short pan needs no new request
      const query = new URLSearchParams({
        west: clamp(view.getWest(), 180), south: clamp(view.getSouth(), 90),
        east: clamp(view.getEast(), 180), north: clamp(view.getNorth(), 90),
        zoom: map.getZoom().toFixed(2),
      });
      if (level) query.set("level", String(level));
      let collection;
      try {
        const response = await fetch(`/api/v1/grids/shapes?${query}`,
                                     { credentials: "same-origin", signal: controller.signal });
        if (!response.ok) return;
        collection = await response.json();
      } catch (error) {
        if (error.name === "AbortError") return;
        throw error;
      }
      layer.clearLayers();
      layer.addData(collection);
      if (onDrawn) onDrawn(collection);
    }

    map.on("moveend", draw);
    return layer;
  };
})();
