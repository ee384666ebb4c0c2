/**
 * A counter's series: the `count.get` series reply for the last N buckets of a period
 * (`/api/series`), drawn with uPlot and listed in a table of exact values, refreshed
 * every few seconds.
 */
import uPlot from "/assets/vendor/uPlot.esm.js";
import { describeError, every, getJson } from "./api.js";
import { bucketLabel, clockTime, el, setStatus } from "./dom.js";

/** Wires the form, the chart and the table; returns `submit()`, which reads the form and loads. */
export function startSeriesChart({ form, chart, table, status }, refreshMs = 2000) {
  let query;
  let plot;
  const load = every(refreshMs, async () => {
    if (!query) return;
    const asked = query;
    try {
      const reply = await getJson("/api/series", asked);
      if (asked !== query) return;
      plot = drawChart(chart, plot, reply);
      drawTable(table, reply);
      const total = reply.points.reduce((s, p) => s + p.value, 0);
      const first = reply.points[0];
      const last = reply.points.at(-1);
      const range = first
        ? `${bucketLabel(reply.period, first.bucket)} … ${bucketLabel(reply.period, last.bucket)}`
        : "";
      const expired = reply.retainedFrom
        ? ` · buckets before ${bucketLabel(reply.period, reply.retainedFrom)} have expired`
        : "";
      setStatus(
        status,
        `${reply.ns} ${reply.name} · ${reply.period} · ${range} · total ${total}${expired} · updated ${clockTime()}`,
      );
    } catch (err) {
      if (asked !== query) return;
      table.dataset.state = "error";
      setStatus(status, describeError(err), "error");
    }
  });
  new ResizeObserver(() => plot?.setSize(size(chart))).observe(chart);
  const submit = () => {
    const data = new FormData(form);
    query = {
      ns: String(data.get("ns")).trim(),
      name: String(data.get("name")),
      period: String(data.get("period")),
      to: String(data.get("to")).trim(),
      points: String(data.get("points")).trim(),
    };
    table.dataset.state = "loading";
    void load();
    return query;
  };
  return { submit };
}

function size(chart) {
  return { width: Math.max(200, chart.clientWidth), height: 220 };
}

/** Draws the points (bucket start in seconds, value), reusing the plot when it can. */
function drawChart(chart, plot, reply) {
  const data = [reply.points.map((p) => Date.parse(p.bucket) / 1000), reply.points.map((p) => p.value)];
  chart.dataset.points = String(reply.points.length);
  if (plot && plot.series[1].label === reply.name) {
    plot.setData(data);
    return plot;
  }
  plot?.destroy();
  return new uPlot(
    {
      ...size(chart),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"), // buckets are UTC
      scales: { y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
      series: [
        {},
        {
          label: reply.name,
          stroke: "#2f6fdd",
          width: 2,
          fill: "rgba(47, 111, 221, 0.12)",
          points: { show: true, size: 5 },
          value: (_u, v) => (v === null ? "–" : String(v)),
        },
      ],
    },
    data,
    chart,
  );
}

function drawTable(table, reply) {
  const rows = reply.points.map((p) =>
    el(
      "tr",
      { "data-testid": "series-row", dataset: { bucket: p.bucket } },
      el("td", {}, bucketLabel(reply.period, p.bucket)),
      el("td", { class: "num", "data-testid": "series-value" }, String(p.value)),
    ),
  );
  table.tBodies[0].replaceChildren(...rows);
  Object.assign(table.dataset, { state: "ok", ns: reply.ns, name: reply.name, period: reply.period });
}
