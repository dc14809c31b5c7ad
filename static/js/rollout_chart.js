// The proposal page's charts: exposure as a step line with RWG event markers,
// and the metrics the criteria name. Redrawn after each live update.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  const colors = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];
  const markerColor = { "RWG-001": "#2563eb", "RWG-002": "#d97706", "RWG-003": "#dc2626", "RWG-004": "#059669" };
  const timeAxis = {
    type: "linear",
    ticks: {
      maxTicksLimit: 8,
      callback: function (value) {
        return new Date(value).toISOString().slice(5, 16).replace("T", " ");
      },
    },
  };
  let exposureChart = null;
  let metricsChart = null;

  function read() {
    const node = document.getElementById("chart-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function draw() {
    const data = read();
    if (!data) return;
    const exposure = {
      datasets: [
        { label: "Exposure %", data: data.exposure, stepped: "before", borderColor: "#2563eb", pointRadius: 0, borderWidth: 2 },
        {
          label: "Events",
          data: data.markers,
          type: "scatter",
          pointRadius: 6,
          pointBackgroundColor: data.markers.map(function (m) { return markerColor[m.code] || "#111"; }),
        },
        {
          label: "Max blast radius",
          data: data.exposure.length ? [{ x: data.exposure[0].x, y: data.max_blast_radius }, { x: data.exposure[data.exposure.length - 1].x, y: data.max_blast_radius }] : [],
          borderColor: "#9ca3af", borderDash: [6, 4], pointRadius: 0, borderWidth: 1,
        },
      ],
    };
    const metrics = {
      datasets: data.metrics.map(function (m, i) {
        return { label: m.name + (m.unit ? " (" + m.unit + ")" : ""), data: m.points, borderColor: colors[i % colors.length], pointRadius: 2, borderWidth: 1.5, yAxisID: "y" + i };
      }),
    };
    const metricScales = { x: timeAxis };
    data.metrics.forEach(function (m, i) { metricScales["y" + i] = { position: i % 2 ? "right" : "left", display: i < 2 }; });
    const tooltip = {
      callbacks: {
        label: function (ctx) {
          const raw = ctx.raw || {};
          return (raw.code ? raw.code + " " + (raw.stage || "") + ": " : ctx.dataset.label + ": ") + ctx.parsed.y;
        },
      },
    };
    if (exposureChart) {
      exposureChart.data = exposure;
      exposureChart.update("none");
    } else {
      exposureChart = new Chart(document.getElementById("exposure-chart"), {
        type: "line",
        data: exposure,
        options: { animation: false, maintainAspectRatio: false, scales: { x: timeAxis, y: { min: 0, max: 100, title: { display: true, text: "%" } } }, plugins: { tooltip: tooltip } },
      });
    }
    if (metricsChart) {
      metricsChart.data = metrics;
      metricsChart.options.scales = metricScales;
      metricsChart.update("none");
    } else {
      metricsChart = new Chart(document.getElementById("metrics-chart"), {
        type: "line",
        data: metrics,
        options: { animation: false, maintainAspectRatio: false, scales: metricScales },
      });
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "live") draw();
  });
})();
