// Draw the charts of a page with Chart.js (loaded before this module as window.Chart).
// Each <canvas data-chart="ID"> reads its spec from <script type="application/json" id="ID">,
// written by keystage/analysis/charts.py; the table beside it holds the same figures.
const Chart = window.Chart;

function bars(spec) {
  // A bar per school or group, with its 95% interval as a thin floating bar on top.
  return {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: [
        { label: spec.label, data: spec.values, backgroundColor: "#1d70b8", order: 2 },
        { label: "95% interval", data: spec.intervals, backgroundColor: "#0b0c0c",
          barPercentage: 0.15, grouped: false, order: 1 },
      ],
    },
    options: {
      indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: spec.intervals.some((i) => i !== null) } },
      scales: { x: { title: { display: true, text: spec.axis } } },
    },
  };
}

function scatter(spec) {
  // One point per pupil; a click opens the pupil's page where the reader may see it.
  return {
    type: "scatter",
    data: { datasets: [{ label: spec.label, data: spec.points, backgroundColor: "#1d70b8" }] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: { x: { title: { display: true, text: spec.x } },
                y: { title: { display: true, text: spec.y } } },
      onClick: (event, elements) => {
        const point = elements.length ? spec.points[elements[0].index] : null;
        if (point && point.url) window.location.assign(point.url);
      },
      plugins: { tooltip: { callbacks: { label: (item) => spec.points[item.dataIndex].name } } },
    },
  };
}

function lines(spec) {
  // One line per series (LA, emerging and published national) over the years; gaps stay gaps.
  const colours = ["#1d70b8", "#f47738", "#0b0c0c"];
  return {
    type: "line",
    data: {
      labels: spec.years,
      datasets: spec.lines.map((line, i) => ({
        label: line.label, data: line.data, borderColor: colours[i % colours.length],
        backgroundColor: colours[i % colours.length], spanGaps: false,
      })),
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false },
  };
}

const KINDS = { scatter, line: lines, bars };

if (Chart) {
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) continue;
    const spec = JSON.parse(source.textContent);
    // The figure's height from the spec (set here: the page's policy allows no inline styles).
    canvas.parentElement.style.height = `${spec.height}px`;
    new Chart(canvas, (KINDS[spec.kind] || bars)(spec));
  }
}
