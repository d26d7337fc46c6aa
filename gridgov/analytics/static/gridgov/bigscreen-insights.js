// The big screen's 研判 panel (insights/_screen.html): fetched again from /api/v1/insights/screen by
// the screen's one refresh loop (dashboard.js's gridgovRefresh) and redrawn. Titles and
// names are set as text, never as markup. The panel uses data-insight, not data-figure, so the
// dashboard's own refresh (dashboard.js) never writes case figures into it.
(function () {
  "use strict";
  const panel = document.getElementById("insight-screen");
  if (!panel) return;

  function element(tag, text, className) {
    const made = document.createElement(tag);
    if (text !== undefined) made.textContent = text;
    if (className) made.className = className;
    return made;
  }

  function none(columns) {
    const row = element("tr");
    const cell = element("td", panel.dataset.none);
    cell.colSpan = columns;
    row.append(cell);
    return row;
  }

  function kinds(data) {
    const body = document.getElementById("insight-screen-kinds");
    const rows = data.kinds.map((k) => {
      const row = element("tr");
      row.dataset.kind = k.kind;
      row.append(element("td", k.label), element("td", String(k.open)),
        ...k.severity.map((n) => element("td", String(n))));
      return row;
    });
    body.replaceChildren(...(rows.length ? rows : [none(data.severities.length + 2)]));
  }

  function list(id, items, detail) {
    const target = document.getElementById(id);
    const rows = items.map((item) => {
      const row = element("li");
      row.dataset.warning = item.id;
      const link = element("a", item.title);
      link.href = item.url;
      row.append(link, " ", element("span", detail(item), "hint"));
      return row;
    });
    target.replaceChildren(...(rows.length ? rows : [element("li", panel.dataset.none, "hint")]));
  }

  function render(data) {
    panel.querySelectorAll("[data-insight]").forEach((cell) => {
      const key = cell.dataset.insight;
      if (key in data.totals) cell.textContent = data.totals[key];
    });
    kinds(data);
    list("insight-screen-newest", data.newest, (w) => `${w.grid} · ${w.age}`);
    list("insight-screen-hotspots", data.hotspots, (h) => `${h.grid} · ${h.cases} ${panel.dataset.cases}`);
  }

  window.gridgovRefresh(panel.dataset.refreshUrl, render);  // dashboard.js, loaded before
})();
