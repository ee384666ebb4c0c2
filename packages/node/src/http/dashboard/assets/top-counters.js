/**
 * Top counters: the biggest counters of a namespace in one bucket of a period
 * (`/api/top`, the `count.top.<ns>.<period>` reply), exact values as text, refreshed
 * every few seconds. Clicking a name charts its series.
 */
import { describeError, every, getJson } from "./api.js";
import { bucketLabel, clockTime, el, setStatus } from "./dom.js";

/**
 * Wires the form and the table. `onPick(name, query)` is called when a name is clicked.
 * Returns `show(query)`, which fills the form and loads.
 */
export function startTopCounters({ form, table, status }, onPick, refreshMs = 2000) {
  let query;
  const load = every(refreshMs, async () => {
    if (!query) return;
    const asked = query;
    try {
      const reply = await getJson("/api/top", asked);
      if (asked !== query) return; // a newer query was submitted meanwhile
      draw(table, reply, (name) => onPick(name, asked));
      const when = bucketLabel(reply.period, reply.bucket);
      const partial = reply.partial ? ` · partial: shards ${reply.missingShards.join(", ")} did not answer` : "";
      setStatus(
        status,
        `${reply.ns} · ${reply.period} · ${when} · ${reply.items.length} counter${reply.items.length === 1 ? "" : "s"}` +
          `${partial} · updated ${clockTime()}`,
        reply.partial ? "warn" : "",
      );
    } catch (err) {
      if (asked !== query) return;
      table.dataset.state = "error";
      setStatus(status, describeError(err), "error");
    }
  });
  const submit = () => {
    const data = new FormData(form);
    query = {
      ns: String(data.get("ns")).trim(),
      period: String(data.get("period")),
      at: String(data.get("at")).trim(),
      limit: String(data.get("limit")).trim(),
    };
    table.dataset.state = "loading";
    void load();
    return query;
  };
  return { submit, current: () => query };
}

function draw(table, reply, pick) {
  const max = Math.max(1, ...reply.items.map((i) => Math.abs(i.value)));
  const rows = reply.items.map((item, i) =>
    el(
      "tr",
      { "data-testid": "top-row", style: `--share:${Math.abs(item.value) / max}` },
      el("td", { class: "num muted" }, i + 1),
      el(
        "td",
        { "data-testid": "top-name" },
        el("a", { href: "#series", title: "chart its series", dataset: { name: item.name } }, item.name),
      ),
      el("td", { class: "num bar", "data-testid": "top-value" }, String(item.value)),
    ),
  );
  table.tBodies[0].replaceChildren(...rows);
  for (const a of table.querySelectorAll("a[data-name]")) a.addEventListener("click", () => pick(a.dataset.name));
  Object.assign(table.dataset, { state: "ok", ns: reply.ns, period: reply.period, bucket: reply.bucket ?? "" });
}
