// The governance report's trend charts: four quarters of effectiveness, as lines.
// The same figures are in the table beside them. Also readies the page for print:
// every <details> opens and the charts redraw at the paper's width.
(function () {
  "use strict";

  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (node) {
      node.setAttribute("open", "");
      node.dataset.printOpened = "true";
    });
    resizeAll();
  });
  window.addEventListener("afterprint", function () {
    document.querySelectorAll("details[data-print-opened]").forEach(function (node) {
      node.removeAttribute("open");
      delete node.dataset.printOpened;
    });
    resizeAll();
  });

  function resizeAll() {
    if (typeof Chart === "undefined") return;
    Object.values(Chart.instances).forEach(function (chart) { chart.resize(); });
  }

  if (typeof Chart === "undefined") return;
  const node = document.getElementById("trend-charts");
  if (!node) return;
  const data = JSON.parse(node.textContent);

  function lines(id, datasets, y) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        spanGaps: true,
        plugins: { legend: { position: "bottom" } },
        scales: { y: y },
      },
    });
  }

  function series(label, values, color, dashed) {
    return {
      label: label,
      data: values,
      borderColor: color,
      backgroundColor: color,
      borderDash: dashed ? [6, 4] : [],
      tension: 0,
      pointRadius: 4,
    };
  }

  lines(
    "trend-incidents-chart",
    [
      series("During wedged rollouts", data.wedged, "#2563eb", false),
      series("During waived rollouts", data.waived, "#dc2626", true),
    ],
    { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Incidents" } }
  );
  lines(
    "trend-shares-chart",
    [
      series("Incidents contained", data.contained, "#059669", false),
      series("Rollbacks told within 60 s", data.compliance, "#7c3aed", true),
    ],
    { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } }
  );
})();
