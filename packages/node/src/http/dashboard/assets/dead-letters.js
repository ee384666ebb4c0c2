/**
 * Dead letters: the most recent invalid events the nodes stored but never counted, newest
 * first, with their codes and reasons (`/api/dead-letters`), refreshed every few seconds.
 */
import { describeError, every, getJson } from "./api.js";
import { el, setStatus } from "./dom.js";

/** How many of the newest records the panel shows. */
const SHOWN = 20;

/** Starts the panel's refresh loop. */
export function startDeadLetters({ table, status }, refreshMs = 3000) {
  return every(refreshMs, async () => {
    try {
      const { total, items } = await getJson("/api/dead-letters", { limit: SHOWN });
      table.tBodies[0].replaceChildren(...items.map(row));
      table.dataset.state = "ok";
      setStatus(
        status,
        total === 0
          ? "no dead letters: every stored event was valid"
          : `${total} dead letter${total === 1 ? "" : "s"} in the stream${total > items.length ? `; the newest ${items.length}` : ""}`,
        total === 0 ? "" : "warn",
      );
    } catch (err) {
      table.dataset.state = "error";
      setStatus(status, describeError(err), "error");
    }
  });
}

function row(d) {
  return el(
    "tr",
    { "data-testid": "dead-letter", dataset: { seq: String(d.seq), code: d.code } },
    el("td", { class: "num" }, d.dlqSeq),
    el("td", { class: "muted" }, d.time.replace("T", " ").replace(/\.\d+Z$/, "Z")),
    el("td", { class: "mono" }, d.subject),
    el("td", { class: "code", "data-testid": "dead-letter-code" }, d.code),
    el("td", { "data-testid": "dead-letter-reason" }, d.reason),
    el("td", { "data-testid": "dead-letter-node" }, d.node || "–"),
    el("td", { class: "mono" }, JSON.stringify(d.body)),
  );
}
