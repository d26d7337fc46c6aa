// The dashboard's charts (ECharts), drawn from the JSON the page carries; a click on any
// part of a chart opens the case list behind it. On the big screen the figures are fetched
// again every minute from the same API the page was built from.
(function () {
  "use strict";
  const labels = JSON.parse(document.getElementById("dashboard-labels").textContent);
  const dark = document.body.classList.contains("big-screen");
  const charts = {};
  const LIGHT_COLOURS = { green: "#1e8449", yellow: "#d4ac0d", red: "#c0392b" };

  function chart(name) {
    const element = document.querySelector(`[data-chart="${name}"]`);
    if (!element || !window.echarts) return null;
    if (!charts[name]) {
      charts[name] = window.echarts.init(element, dark ? "dark" : null, { renderer: "canvas" });
      charts[name].on("click", (params) => {
        const drill = params.data && params.data.drill;
        if (drill) window.location.href = drill;
      });
    }
    return charts[name];
  }

  function draw(name, option, rows) {
    const target = chart(name);
    if (!target) return;
    const empty = rows !== undefined && rows.length === 0;
    if (option) option.backgroundColor = "transparent";
    target.setOption(empty ? { title: { text: labels.no_data, left: "center", top: "middle",
      textStyle: { fontSize: 14, fontWeight: "normal" } }, series: [] } : option, true);
    target.getDom().dataset.drawn = empty ? "empty" : "1";
  }

  function pie(items, valueKey) {
    return { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "70%"],
      data: items.map((c) => ({ name: c.name, value: c[valueKey], drill: c.drill })) }] };
  }

  function trend(data) {
    const points = data.trend.points;
    const series = ["reported", "registered", "closed", "closed_on_time"].map((key) => ({
      name: labels[key], type: "line", smooth: true, showSymbol: points.length < 40,
      data: points.map((p) => ({ value: p[key], drill: p.drill })),
    }));
    draw("trend", { tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: points.map((p) => p.label) }, yAxis: { type: "value" }, series }, points);
  }

  function areaMap(data) {
    const shaped = data.areas.filter((a) => a.boundary);
    if (!shaped.length) { draw("areas", null, []); return; }
    const name = `areas-${data.grid ? data.grid.code : "all"}`;
    window.echarts.registerMap(name, { type: "FeatureCollection", features: shaped.map((a) => ({
      type: "Feature", properties: { name: a.code }, geometry: a.boundary })) });
    const names = Object.fromEntries(shaped.map((a) => [a.code, a.name]));
    const values = shaped.map((a) => a.per_1000_households || 0);
    draw("areas", {
      tooltip: { trigger: "item", formatter: (p) => `${names[p.name] || p.name}<br>${labels.per_1000}: ${
        (p.value || 0).toFixed(1)}` },
      visualMap: { min: 0, max: Math.max(1, ...values), calculable: true, left: 0, bottom: 0,
        inRange: { color: ["#eaf2f8", "#5dade2", "#1b4f72"] }, textStyle: { color: dark ? "#ddd" : "#333" } },
      series: [{ type: "map", map: name, roam: true, label: { show: shaped.length <= 12,
        formatter: (p) => names[p.name] || p.name, fontSize: 10 },
        data: shaped.map((a) => ({ name: a.code, value: a.per_1000_households || 0, drill: a.drill })) }],
    });
  }

  function bars(name, items, valueKey, horizontal, colourOf) {
    const ordered = horizontal ? [...items].reverse() : items;
    const axis = { type: "category", data: ordered.map((c) => c.name), axisLabel: { width: 96, overflow: "truncate" } };
    draw(name, { tooltip: { trigger: "item" }, grid: { left: horizontal ? 104 : 40, right: 16, top: 16, bottom: 28 },
      xAxis: horizontal ? { type: "value" } : axis, yAxis: horizontal ? axis : { type: "value" },
      series: [{ type: "bar", data: ordered.map((c) => ({ value: c[valueKey], drill: c.drill,
        itemStyle: colourOf ? { color: colourOf(c) } : undefined })) }] }, items);
  }

  function render(data) {
    trend(data);
    areaMap(data);
    draw("categories", pie(data.categories, "reported"), data.categories);
    bars("problems", data.top_problems, "reported", true);
    draw("channels", pie(data.channels, "reported"), data.channels);
    bars("lights", data.lights, "open", false, (c) => LIGHT_COLOURS[c.code]);
    const rated = data.totals.rated;
    draw("satisfaction", pie([{ name: labels.satisfied, satisfied: data.totals.satisfied },
      { name: labels.not_satisfied, satisfied: rated - data.totals.satisfied }], "satisfied"), rated ? [1] : []);
    if (data.visits) {
      draw("visits", pie([{ name: labels.covered, n: data.visits.covered, drill: data.visits.link },
        { name: labels.not_covered, n: data.visits.households - data.visits.covered, drill: data.visits.link }], "n"),
      data.visits.households ? [1] : []);
    }
    if (data.special_groups) bars("groups", data.special_groups, "people", true);
    document.querySelectorAll("[data-figure]").forEach((cell) => {
      const key = cell.dataset.figure;
      if (key in data.totals) cell.textContent = data.totals[key];
      else if (key in data.open_now) cell.textContent = data.open_now[key];
      else if (key in data.rates) cell.textContent = data.rates[key] === null ? "—" : `${(data.rates[key] * 100).toFixed(1)}%`;
    });
    const updated = document.getElementById("screen-updated");
    if (updated) updated.textContent = new Date().toLocaleTimeString();
  }

  render(JSON.parse(document.getElementById("dashboard-data").textContent));
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

  // Every panel of the big screen refreshes through this one loop (bigscreen-insights.js too),
  // at the screen's interval (the body's data-refresh-seconds).
  window.gridgovRefresh = function (url, redraw) {
    const seconds = Number(document.body.dataset.refreshSeconds) || 60;
    setInterval(async () => {
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) redraw(await response.json());
      } catch (error) { /* the network is back at the next tick; the wall keeps the last figures */ }
    }, seconds * 1000);
  };

  const url = document.body.dataset.refreshUrl;
  if (url) window.gridgovRefresh(url, render);
})();
