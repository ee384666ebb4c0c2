/**
 * Small DOM helpers for the dashboard. Text goes in as textContent, never as markup, so
 * a counter name or a dead letter's body is shown as it is and never parsed as HTML.
 */

/**
 * Builds an element: `el("td", { class: "num", dataset: { value: "3" } }, "3")`.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs] attributes; `dataset` sets data-*; `style` a cssText
 * @param {...(Node | string | number)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") node.style.cssText = String(value);
    else node.setAttribute(key, String(value));
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** Shows `text` in a status line; `kind` is "", "warn" or "error" (for its colour). */
export function setStatus(node, text, kind = "") {
  node.textContent = text;
  node.dataset.kind = kind;
}

/** A stable pastel colour for a member id, the same in the members table and the shard grid. */
export function memberColor(id) {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return `hsl(${(h >>> 0) % 360} 65% 82%)`;
}

/** `12:03:04` in the browser's time zone. */
export function clockTime(date = new Date()) {
  return date.toLocaleTimeString([], { hour12: false });
}

/** A bucket's start as a label for its period (UTC, like the buckets): `2026-11-21`, `2026-11-21 10:00`. */
export function bucketLabel(period, iso) {
  if (!iso) return "all time";
  switch (period) {
    case "minute":
    case "hour":
      return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
    case "month":
      return iso.slice(0, 7);
    case "year":
      return iso.slice(0, 4);
    default:
      return iso.slice(0, 10);
  }
}
