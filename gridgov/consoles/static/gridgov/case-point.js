// The case page's map: the reported point inside its grid's outline.
(function () {
  "use strict";
  const box = document.getElementById("case-point");
  const point = [Number(box.dataset.lat), Number(box.dataset.lon)];
  const map = L.map(box, { maxZoom: 19, scrollWheelZoom: false }).setView(point, 16);
  L.circleMarker(point, { radius: 8, color: "#fff", weight: 2, fillColor: "#c0392b", fillOpacity: 1 }).addTo(map);
  fetch(`/api/v1/grids/${box.dataset.grid}/geojson?depth=0`, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null)).then((data) => {
      if (!data) return;
      const outline = L.geoJSON(data, { style: { color: "#1f4e79", weight: 2, fillOpacity: 0.05 } }).addTo(map);
      map.fitBounds(outline.getBounds().extend(point), { maxZoom: 17 });
    }).catch(() => {});
})();
