/**
 * The dashboard page: wires the cluster map, top counters, series chart and dead
 * letters to the page. The forms start from the page's query string
 * (`/?ns=web&period=day&at=2026-11-21&name=home`), and each submit writes it back, so a
 * view can be bookmarked or shared.
 */
import { startClusterMap } from "./cluster-map.js";
import { startDeadLetters } from "./dead-letters.js";
import { startSeriesChart } from "./series-chart.js";
import { startTopCounters } from "./top-counters.js";

/** Every period; those the cluster does not count are marked once the first cluster view arrives. */
const PERIODS = ["all", "minute", "hour", "day", "week", "month", "year"];

const $ = (id) => document.getElementById(id);
const topForm = $("top-form");
const seriesForm = $("series-form");
const params = new URLSearchParams(location.search);

for (const [select, fallback] of [
  [topForm.elements.period, "all"],
  [seriesForm.elements.period, "day"],
]) {
  select.replaceChildren(...PERIODS.map((p) => new Option(p, p)));
  select.value = fallback;
}
// The query string: top's fields by their names, the series' with a "series" prefix.
fill(topForm, { ns: params.get("ns"), period: params.get("period"), at: params.get("at"), limit: params.get("limit") });
fill(seriesForm, {
  ns: params.get("ns"),
  name: params.get("name"),
  period: params.get("seriesPeriod"),
  to: params.get("to") ?? params.get("at"),
  points: params.get("points"),
});

const series = startSeriesChart({
  form: seriesForm,
  chart: $("chart"),
  table: $("series-table"),
  status: $("series-status"),
});
const top = startTopCounters({ form: topForm, table: $("top-table"), status: $("top-status") }, (name, q) => {
  fill(seriesForm, { ns: q.ns, name, ...(q.period !== "all" ? { period: q.period } : {}), to: q.at });
  series.submit();
  saveQuery();
});
startDeadLetters({ table: $("dlq-table"), status: $("dlq-status") });

let periodsMarked = false;
startClusterMap(
  { feed: $("feed"), node: $("node"), summary: $("cluster-summary"), members: $("members"), shards: $("shards") },
  (view) => {
    if (periodsMarked) return;
    periodsMarked = true;
    for (const select of [topForm.elements.period, seriesForm.elements.period])
      for (const option of select.options)
        if (!view.config.periods.includes(option.value)) {
          option.disabled = true;
          option.textContent = `${option.value} (not counted)`;
        }
  },
);

topForm.addEventListener("submit", (e) => {
  e.preventDefault();
  top.submit();
  if (!seriesForm.elements.ns.value) seriesForm.elements.ns.value = topForm.elements.ns.value;
  saveQuery();
});
seriesForm.addEventListener("submit", (e) => {
  e.preventDefault();
  series.submit();
  saveQuery();
});
if (topForm.elements.ns.value) top.submit();
if (seriesForm.elements.ns.value && seriesForm.elements.name.value) series.submit();

/** Sets the form's fields that have a value in `values`. */
function fill(form, values) {
  for (const [key, value] of Object.entries(values))
    if (value !== null && value !== undefined && value !== "") form.elements[key].value = value;
}

/** Writes both forms into the query string (without reloading). */
function saveQuery() {
  const t = new FormData(topForm);
  const s = new FormData(seriesForm);
  const q = new URLSearchParams();
  const put = (k, v) => v && q.set(k, String(v));
  put("ns", t.get("ns") || s.get("ns"));
  put("period", t.get("period"));
  put("at", t.get("at"));
  put("limit", t.get("limit"));
  put("name", s.get("name"));
  put("seriesPeriod", s.get("period"));
  put("to", s.get("to"));
  put("points", s.get("points"));
  history.replaceState(null, "", `?${q}`);
}
