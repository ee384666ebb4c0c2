/**
 * The live cluster map: members with their heartbeats and shard counts, and one cell per
 * shard with its owner, lease epoch and lag, redrawn on every `cluster` event of the
 * node's server-sent event stream (`/api/cluster/events`, about once a second).
 */
import { clockTime, el, memberColor, setStatus } from "./dom.js";

/**
 * Opens the event stream and draws every view it sends. `onView(view)` is called after
 * each drawing (the page fills its period lists from the first one).
 */
export function startClusterMap({ feed, node, summary, members, shards }, onView = () => {}) {
  const events = new EventSource("/api/cluster/events");
  const setFeed = (state, text) => {
    feed.dataset.state = state;
    feed.textContent = text;
  };
  events.addEventListener("open", () => setFeed("live", "live"));
  events.addEventListener("error", () => setFeed("down", "reconnecting…"));
  events.addEventListener("cluster", (e) => {
    const view = JSON.parse(e.data);
    setFeed("live", `live · ${clockTime(new Date(view.at))}`);
    node.textContent = view.node;
    drawSummary(summary, view);
    drawMembers(members, view);
    drawShards(shards, view);
    onView(view);
  });
  events.addEventListener("cluster-error", (e) => {
    const { error } = JSON.parse(e.data);
    setFeed("down", "status unavailable");
    setStatus(summary, `cluster status failed: ${error.code}: ${error.message}`, "error");
  });
  return events;
}

function drawSummary(summary, view) {
  const live = view.members.filter((m) => m.live).length;
  const served = view.shards.filter((s) => s.owner !== undefined).length;
  const behind = view.shards.filter((s) => (s.lag ?? 0) > 0).length;
  const gaps = view.shards.filter((s) => s.logGap).length;
  const text =
    `${live} live member${live === 1 ? "" : "s"} · ${served}/${view.config.shards} shards owned` +
    (behind > 0 ? ` · ${behind} behind` : " · all caught up") +
    ` · log: ${view.log.messages} events, seq ${view.log.firstSeq}–${view.log.lastSeq}` +
    (gaps > 0 ? ` · ${gaps} shard(s) marked with a log gap` : "");
  setStatus(summary, text, gaps > 0 || served < view.config.shards ? "warn" : "");
}

function drawMembers(table, view) {
  const rows = view.members.map((m) =>
    el(
      "tr",
      { "data-testid": "member", dataset: { member: m.id, live: String(m.live), shards: String(m.shards) } },
      el("td", {}, el("span", { class: "swatch", style: `background:${memberColor(m.id)}` }), m.id),
      el("td", { class: "muted" }, m.host),
      el("td", { class: "num", "data-testid": "member-shards" }, m.shards),
      el("td", { class: "num" }, `${(m.heartbeatAgeMs / 1000).toFixed(1)} s ago`),
      el(
        "td",
        { class: !m.live ? "bad" : m.refusingShards ? "warn" : "ok", title: m.refusingShards ?? "" },
        !m.live ? "gone" : m.refusingShards ? "live, refusing shards" : "live",
      ),
    ),
  );
  table.tBodies[0].replaceChildren(...rows);
}

function drawShards(grid, view) {
  const cells = view.shards.map((s) => {
    const owned = s.owner !== undefined;
    const lag = s.lag === undefined ? "–" : String(s.lag);
    const title =
      `shard ${s.shard}: ` +
      (owned
        ? `owner ${s.owner}, lease epoch ${s.epoch}, applied seq ${s.appliedSeq ?? "–"}, lag ${lag}`
        : "no owner") +
      (s.logGap ? `; log gap: events ${s.logGap.restoredSeq + 1}–${s.logGap.logFirstSeq - 1} may be missing` : "");
    return el(
      "div",
      {
        class: `shard${owned ? "" : " unowned"}${s.logGap ? " gap" : ""}${(s.lag ?? 0) > 0 ? " behind" : ""}`,
        style: owned ? `background:${memberColor(s.owner)}` : undefined,
        title,
        "data-testid": "shard",
        dataset: { shard: String(s.shard), owner: s.owner ?? "", epoch: String(s.epoch ?? ""), lag },
      },
      el("b", {}, `#${s.shard}`),
      el("span", {}, owned ? s.owner : "no owner"),
      el("small", {}, owned ? `e${s.epoch} · lag ${lag}` : ""),
    );
  });
  grid.replaceChildren(...cells);
}
