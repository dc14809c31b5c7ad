// The proposal page's charts: exposure, and one small chart per metric, on one time
// axis in UTC (Chart.js time scale with the Luxon adapter). Stage openings and the
// policy's events are drawn as vertical marks on every chart; each metric chart
// draws its stages' success-criterion (green) and rollback-trigger (red) thresholds.
// The data comes from the JSON in #chart-data, replaced by the page's live updates.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;

  const COLOURS = {
    exposure: "#1d4ed8",
    radius: "#6b7280",
    metric: "#0f172a",
    criterion: "#15803d",
    trigger: "#b91c1c",
    stage: "#94a3b8",
    "RWG-002": "#b45309",
    "RWG-003": "#b91c1c",
    "RWG-004": "#15803d",
    "WDG-103": "#1d4ed8",
  };
  const EMPTY = {
    pending: "The rollout has not started: exposure and metrics appear here once it runs.",
    "no-metrics": "No metrics received yet: they appear here once the deployer reports them.",
  };
  const charts = { exposure: null, metrics: {} };

  function readData() {
    const node = document.getElementById("chart-data");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (error) {
      return null;
    }
  }

  function narrow() {
    return window.matchMedia("(max-width: 640px)").matches;
  }

  // Vertical marks: stage openings (dashed grey, labelled with the stage id) and
  // events (solid, in the event's colour). Drawn under the data.
  const marksPlugin = {
    id: "wedgeMarks",
    beforeDatasetsDraw(chart, args, options) {
      const x = chart.scales.x;
      const area = chart.chartArea;
      if (!x || !area) return;
      const context = chart.ctx;
      context.save();
      context.font = "11px system-ui, sans-serif";
      (options.stages || []).forEach(function (mark) {
        const at = x.getPixelForValue(mark.x);
        if (at < area.left - 1 || at > area.right + 1) return;
        context.strokeStyle = COLOURS.stage;
        context.setLineDash([3, 3]);
        context.beginPath();
        context.moveTo(at, area.top);
        context.lineTo(at, area.bottom);
        context.stroke();
        if (options.labels) {
          context.fillStyle = "#475569";
          context.fillText(mark.label, Math.min(at + 3, area.right - 40), area.top + 11);
        }
      });
      context.setLineDash([]);
      (options.events || []).forEach(function (mark) {
        const at = x.getPixelForValue(mark.x);
        if (at < area.left - 1 || at > area.right + 1) return;
        context.strokeStyle = COLOURS[mark.code] || "#111827";
        context.lineWidth = 2;
        context.beginPath();
        context.moveTo(at, area.top);
        context.lineTo(at, area.bottom);
        context.stroke();
        if (options.labels) {
          context.fillStyle = COLOURS[mark.code] || "#111827";
          context.fillText(mark.label, Math.max(area.left, at - 70), area.bottom - 4);
        }
      });
      context.restore();
    },
  };

  // Round tick steps: a span of any length gets ticks on whole minutes, quarter
  // hours, hours or days, each label once (the date only where it changes).
  const MINUTE = 60 * 1000;
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map(
    (minutes) => minutes * MINUTE,
  );

  function niceTicks(scale) {
    const limit = narrow() ? 4 : 7;
    const span = scale.max - scale.min;
    const step = STEPS.find((candidate) => span / candidate <= limit) || STEPS[STEPS.length - 1];
    const ticks = [];
    for (let value = Math.ceil(scale.min / step) * step; value <= scale.max; value += step) {
      ticks.push({ value: value });
    }
    scale.ticks = ticks;
    scale.wedgeStep = step;
  }

  function tickLabel(value, index, ticks) {
    const zone = { zone: "utc" };
    const moment = luxon.DateTime.fromMillis(value, zone);
    const step = this.wedgeStep || MINUTE;
    if (step >= 1440 * MINUTE) return moment.toFormat("d LLL");
    const previous = index > 0 ? luxon.DateTime.fromMillis(ticks[index - 1].value, zone) : null;
    const time = moment.toFormat("HH:mm");
    if (previous === null || !previous.hasSame(moment, "day")) {
      return index === 0 && this.max - this.min < 1440 * MINUTE ? time : [time, moment.toFormat("d LLL")];
    }
    return time;
  }

  function timeAxis(range) {
    return {
      type: "time",
      min: range.start,
      max: range.end,
      adapters: { date: { zone: "UTC" } },
      time: { tooltipFormat: "d LLL, HH:mm:ss 'UTC'" },
      afterBuildTicks: niceTicks,
      ticks: { maxRotation: 0, autoSkip: false, callback: tickLabel },
      grid: { color: "#eef2f7" },
    };
  }

  function baseOptions(data, yTitle, labels) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: false,
      normalized: true,
      interaction: { mode: "nearest", intersect: false, axis: "x" },
      scales: {
        x: timeAxis(data.range),
        y: { beginAtZero: true, title: { display: !!yTitle, text: yTitle }, grace: "5%" },
      },
      plugins: {
        legend: { display: false },
        wedgeMarks: { stages: data.stages, events: data.events, labels: labels },
        tooltip: {
          filter: function (item) {
            return !item.dataset.threshold;
          },
        },
      },
    };
  }

  function exposureConfig(data) {
    const radius = [
      { x: data.range.start, y: data.max_blast_radius },
      { x: data.range.end, y: data.max_blast_radius },
    ];
    const options = baseOptions(data, "exposure %", true);
    options.scales.y.max = 100;
    options.scales.y.ticks = { callback: (value) => value + " %" };
    return {
      type: "line",
      data: {
        datasets: [
          {
            label: "Exposure",
            data: data.exposure,
            stepped: "before",
            borderColor: COLOURS.exposure,
            backgroundColor: "rgba(29, 78, 216, 0.08)",
            fill: true,
            pointRadius: 0,
            borderWidth: 2,
          },
          {
            label: "Max blast radius",
            data: radius,
            borderColor: COLOURS.radius,
            borderDash: [6, 4],
            borderWidth: 1,
            pointRadius: 0,
            threshold: true,
          },
        ],
      },
      options: options,
      plugins: [marksPlugin],
    };
  }

  function thresholdSets(segments, colour, kind) {
    return segments.map(function (segment) {
      return {
        label: kind + ": " + segment.label,
        data: [
          { x: segment.from, y: segment.y },
          { x: segment.to, y: segment.y },
        ],
        borderColor: colour,
        borderDash: kind === "trigger" ? [2, 3] : [6, 3],
        borderWidth: 1.5,
        pointRadius: 0,
        threshold: true,
      };
    });
  }

  function metricConfig(data, metric) {
    const unit = metric.unit ? " (" + metric.unit + ")" : "";
    const options = baseOptions(data, metric.name + unit, false);
    // Metrics such as availability live far from zero: scale to the data and thresholds;
    // metrics that start near zero (error rates, latencies) keep zero as their floor.
    const ys = metric.points
      .map((point) => point.y)
      .concat(metric.criteria.map((line) => line.y), metric.triggers.map((line) => line.y));
    const low = Math.min.apply(null, ys);
    const high = Math.max.apply(null, ys);
    options.scales.y.beginAtZero = false;
    options.scales.y.grace = "10%";
    if (ys.length && low >= 0 && low <= high / 2) options.scales.y.min = 0;
    return {
      type: "line",
      data: {
        datasets: [
          {
            label: metric.name + unit,
            data: metric.points,
            borderColor: COLOURS.metric,
            backgroundColor: COLOURS.metric,
            pointRadius: metric.points.length > 60 ? 0 : 2,
            borderWidth: 1.5,
          },
        ]
          .concat(thresholdSets(metric.criteria, COLOURS.criterion, "criterion"))
          .concat(thresholdSets(metric.triggers, COLOURS.trigger, "trigger")),
      },
      options: options,
      plugins: [marksPlugin],
    };
  }

  function describe(metric) {
    const parts = [metric.name + ": " + metric.points.length + " readings"];
    if (metric.criteria.length) parts.push("success criterion " + metric.criteria[metric.criteria.length - 1].label);
    if (metric.triggers.length) parts.push("rollback trigger " + metric.triggers[metric.triggers.length - 1].label);
    return parts.join("; ");
  }

  function showEmpty(kind) {
    const note = document.querySelector("[data-chart-empty]");
    if (!note) return;
    note.textContent = kind ? EMPTY[kind] || "" : "";
    note.hidden = !kind;
  }

  function destroyAll() {
    if (charts.exposure) charts.exposure.destroy();
    charts.exposure = null;
    Object.keys(charts.metrics).forEach(function (name) {
      charts.metrics[name].destroy();
    });
    charts.metrics = {};
    const holder = document.getElementById("metric-charts");
    if (holder) holder.replaceChildren();
  }

  function render() {
    const data = readData();
    const exposureBox = document.querySelector(".chart-exposure");
    const holder = document.getElementById("metric-charts");
    const canvas = document.getElementById("exposure-chart");
    if (!data || !canvas || !holder) return;
    const legend = document.querySelector(".chart-legend");
    if (data.empty === "pending") {
      destroyAll();
      if (exposureBox) exposureBox.hidden = true;
      if (legend) legend.hidden = true;
      showEmpty("pending");
      return;
    }
    if (exposureBox) exposureBox.hidden = false;
    if (legend) legend.hidden = false;
    showEmpty(data.empty);
    if (charts.exposure) {
      const fresh = exposureConfig(data);
      charts.exposure.data = fresh.data;
      charts.exposure.options = fresh.options;
      charts.exposure.update("none");
    } else {
      charts.exposure = new Chart(canvas, exposureConfig(data));
    }
    if (data.empty === "no-metrics") {
      Object.keys(charts.metrics).forEach(function (name) {
        charts.metrics[name].destroy();
      });
      charts.metrics = {};
      holder.replaceChildren();
      return;
    }
    data.metrics.forEach(function (metric) {
      const config = metricConfig(data, metric);
      const existing = charts.metrics[metric.name];
      if (existing) {
        existing.data = config.data;
        existing.options = config.options;
        existing.update("none");
        existing.canvas.setAttribute("aria-label", describe(metric));
        return;
      }
      const figure = document.createElement("figure");
      figure.className = "chart-box chart-metric";
      const caption = document.createElement("figcaption");
      caption.textContent = metric.name + (metric.unit ? " (" + metric.unit + ")" : "");
      const box = document.createElement("div");
      box.className = "chart-canvas";
      const metricCanvas = document.createElement("canvas");
      metricCanvas.setAttribute("role", "img");
      metricCanvas.setAttribute("aria-label", describe(metric));
      box.appendChild(metricCanvas);
      figure.appendChild(caption);
      figure.appendChild(box);
      holder.appendChild(figure);
      charts.metrics[metric.name] = new Chart(metricCanvas, config);
    });
  }

  render();
  // The live region replaces #chart-source out of band every few seconds.
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    const target = event.detail && event.detail.target;
    if (target && target.id === "chart-source") render();
  });
})();
