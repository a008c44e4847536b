/* KPI dashboard charts (Chart.js, vendored). Data comes from the JSON data block
   #kpi-chart-data; every chart is followed by a table holding the same figures. */
(function () {
  "use strict";
  var source = document.getElementById("kpi-chart-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var charts = JSON.parse(source.textContent);
  var palette = ["#0017c1", "#e25100", "#259d63", "#7f19dd", "#b78f00"];
  var font = { family: "'Noto Sans JP', 'Hiragino Sans', 'Yu Gothic', sans-serif", size: 14 };
  window.Chart.defaults.font = font;
  window.Chart.defaults.color = "#1a1a1a";
  window.Chart.defaults.animation = false;

  Object.keys(charts).forEach(function (key) {
    var canvas = document.getElementById("chart-" + key);
    if (!canvas) {
      return;
    }
    var spec = charts[key];
    var datasets = spec.datasets.map(function (set, index) {
      var color = palette[index % palette.length];
      return {
        label: set.label,
        data: set.data,
        borderColor: color,
        backgroundColor: color,
        borderWidth: 2,
        pointRadius: 3,
        spanGaps: true
      };
    });
    var y = { beginAtZero: true, title: { display: true, text: spec.y } };
    if (spec.max) {
      y.max = spec.max;
    }
    if (spec.whole_numbers) {
      // Counts of cases and people: no 0.5 件 on the axis.
      y.ticks = { precision: 0 };
    }
    canvas.dataset.kpiChart = "drawn";
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          title: { display: true, text: spec.title },
          legend: { position: "bottom" }
        },
        scales: { y: y }
      }
    });
  });
})();
