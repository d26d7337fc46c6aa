// 研判's charts (ECharts), drawn from the JSON the page carries: open warnings by kind on the list
// (a bar opens the list of that kind), a trend's cases week by week on its warning's page.
(function () {
  "use strict";
  if (!window.echarts) return;
  const data = (id) => {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  };

  function draw(name, option, empty, emptyText) {
    const element = document.querySelector(`[data-chart="${name}"]`);
    if (!element) return null;
    const chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(empty ? { title: { text: emptyText || "", left: "center", top: "middle",
      textStyle: { fontSize: 14, fontWeight: "normal" } }, series: [] } : option, true);
    element.dataset.drawn = empty ? "empty" : "1";
    window.addEventListener("resize", () => chart.resize());
    return chart;
  }

  const byKind = data("insights-by-kind");
  if (byKind) {
    const labels = data("insights-labels") || {};
    const chart = draw("by-kind", {
      tooltip: { trigger: "item" }, grid: { left: 40, right: 16, top: 16, bottom: 48 },
      xAxis: { type: "category", data: byKind.map((k) => k.name), axisLabel: { interval: 0, width: 90,
                                                                                overflow: "truncate" } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: byKind.map((k) => ({ value: k.value, href: k.href })),
                 itemStyle: { color: "#2e86c1" } }],
    }, byKind.length === 0, labels.no_data);
    if (chart) chart.on("click", (params) => { if (params.data && params.data.href) window.location.href = params.data.href; });
  }

  const weeks = data("insights-weeks");
  if (weeks) {
    draw("weeks", {
      tooltip: { trigger: "axis" }, grid: { left: 40, right: 16, top: 16, bottom: 28 },
      xAxis: { type: "category", data: weeks.labels }, yAxis: { type: "value", minInterval: 1 },
      series: [{ name: weeks.name, type: "bar",
                 data: weeks.values.map((v, i) => ({ value: v, itemStyle: {
                   color: i === weeks.values.length - 1 ? "#c0392b" : "#2e86c1" } })) }],
    }, weeks.values.length === 0);
  }
})();
