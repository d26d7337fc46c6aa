// What the workbench forms share: the CSRF token and client keys for API requests, per-field
// errors in the API's shape, and the category search with suggestions (the categories come
// with the page, so the search works with no network).
window.gridgovForms = (function () {
  "use strict";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));  // works on plain http too
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // {field: [messages]} into the form's [data-error-for] slots; unknown fields go to __all__.
  function showErrors(form, errors) {
    form.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
    for (const [name, messages] of Object.entries(errors || {})) {
      const slot = form.querySelector(`[data-error-for="${name}"]`) || form.querySelector('[data-error-for="__all__"]');
      slot.textContent = [].concat(messages).join(" ");
    }
  }

  // The search box, its suggestion list and the hidden category_id field; `onChoose` after a pick.
  function categorySearch({ search, suggestions, field, categories, onChoose }) {
    const norm = (text) => text.toLowerCase();
    function matches(query) {
      const words = norm(query).split(/\s+/).filter(Boolean);
      if (!words.length) return [];
      return categories.filter((c) => words.every((w) => norm(c.name).includes(w) || c.code.startsWith(w)
                                                          || norm(c.parent).includes(w))).slice(0, 12);
    }
    function choose(category) {
      field.value = category.id;
      search.value = category.name;
      suggestions.replaceChildren();
      search.setAttribute("aria-expanded", "false");
      if (onChoose) onChoose(category);
    }
    function suggest() {
      field.value = "";
      const found = matches(search.value);
      suggestions.replaceChildren(...found.map((c) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = c.parent ? `${c.name} · ${c.parent}` : c.name;
        button.addEventListener("click", () => choose(c));
        li.append(button);
        return li;
      }));
      search.setAttribute("aria-expanded", found.length ? "true" : "false");
    }
    search.addEventListener("input", suggest);
    if (search.value && !field.value) suggest();  // typed before the script loaded
    search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {  // Enter takes the first suggestion instead of sending the form
        event.preventDefault();
        const first = matches(search.value)[0];
        if (first) choose(first);
      }
    });
    return { clear: () => suggestions.replaceChildren() };
  }

  // A Leaflet map of the user's grids (`levels` deep) on which a point is picked: `onPick` gets it
  // in the tiles' datum (GCJ-02 on AMap, BD-09 on Baidu); `show` puts the marker on a point.
  function pickMap({ box, tiles, area, levels, hasPoint, onPick }) {
    if (!box || !window.L) return { show() {} };
    const map = L.map(box, { maxZoom: 19 });
    if (tiles.url) L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 19 }).addTo(map);
    window.gridgovGridView(map, {
      level: levels, geojson: { style: { color: "#1f4e79", weight: 1, fillOpacity: 0.03 }, interactive: false },
    });
    if (area && !hasPoint()) map.fitBounds(area); else map.setView(tiles.center, 13);
    map.on("click", (event) => onPick(event.latlng.lat, event.latlng.lng, tiles.crs));
    let marker = null;
    return {
      show(lat, lon) {
        if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon]).addTo(map);
        map.setView([lat, lon], Math.max(map.getZoom(), 16));
      },
    };
  }

  return { csrfToken, newKey, showErrors, categorySearch, pickMap };
})();
