// The governance report's charts: wedge outcomes and the exposure-at-catch
// histogram. The figures are also on the page as text and tables.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  const node = document.getElementById("report-charts");
  if (!node) return;
  const data = JSON.parse(node.textContent);
  const integerAxis = { beginAtZero: true, ticks: { precision: 0 } };

  function bar(id, series, label, colors) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, {
      type: "bar",
      data: { labels: series.labels, datasets: [{ label: label, data: series.values, backgroundColor: colors }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: integerAxis } },
    });
  }

  bar("outcomes-chart", data.outcomes, "Wedges", ["#059669", "#d97706", "#dc2626"]);
  bar("exposure-chart", data.exposure, "Rollbacks", "#2563eb");
})();
