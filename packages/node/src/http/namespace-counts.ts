/**
 * Per-namespace event counts for `/metrics` with a bounded label set: plain numbers
 * bumped on the hot path, turned into at most {@link TOP_NAMESPACES} + 1 labels at
 * scrape time.
 */

/**
 * How many namespaces get a label of their own: the K with the most events since the
 * node started (ties by name); the others are summed under {@link OTHER_NAMESPACES}.
 */
export const TOP_NAMESPACES = 20;

/**
 * The label of every namespace outside the top K. A real namespace never starts with
 * `_` (reserved), so none can clash with it (one called `other` can exist).
 */
export const OTHER_NAMESPACES = "_other";

/** The label of a dead letter whose subject names no valid namespace (bad subject, reserved namespace). */
export const INVALID_NAMESPACE = "_invalid";

/**
 * Namespaces counted one by one; events of any namespace seen after this many are
 * counted under {@link OTHER_NAMESPACES} only, so memory stays bounded whatever
 * producers publish.
 */
export const MAX_TRACKED_NAMESPACES = 10_000;

/** Sizes of a {@link NamespaceCounts} (tests make them small). */
export interface NamespaceCountsOptions {
  /** @default TOP_NAMESPACES */
  top?: number;
  /** @default MAX_TRACKED_NAMESPACES */
  maxTracked?: number;
}

/**
 * Events per namespace since the node started, and what `/metrics` exports of them.
 *
 * Each scrape hands the events counted since the previous one to a label: the
 * namespace's own if it is in the top K now, else {@link OTHER_NAMESPACES}. So every
 * exported series only grows (a Prometheus counter), the exported values always sum to
 * the exact total, and a namespace that enters the top K later keeps what it had
 * counted under `_other` there. A namespace that leaves the top K stops being exported
 * (its series goes stale); if it comes back its series carries on from its old value.
 * At most K + 1 series are exported at a time.
 */
export class NamespaceCounts {
  readonly #top: number;
  readonly #maxTracked: number;
  /** Events per namespace; objects, so the hot path does one map lookup. */
  readonly #counts = new Map<string, { n: number }>();
  /** Events of namespaces beyond the cap. */
  #untracked = 0;
  /** Per namespace, the count already handed to a label. */
  readonly #handed = new Map<string, number>();
  #untrackedHanded = 0;
  /** Per label, its exported value (kept for namespaces that left the top K). */
  readonly #exported = new Map<string, number>([[OTHER_NAMESPACES, 0]]);

  constructor(opts: NamespaceCountsOptions = {}) {
    this.#top = opts.top ?? TOP_NAMESPACES;
    this.#maxTracked = opts.maxTracked ?? MAX_TRACKED_NAMESPACES;
  }

  /** Counts `n` events of `ns` (the hot path: one map lookup). */
  add(ns: string, n = 1): void {
    const c = this.#counts.get(ns);
    if (c !== undefined) c.n += n;
    else if (this.#counts.size < this.#maxTracked) this.#counts.set(ns, { n });
    else this.#untracked += n;
  }

  /** Events of `ns` since start (undefined when not tracked). */
  total(ns: string): number | undefined {
    return this.#counts.get(ns)?.n;
  }

  /**
   * Hands what was counted since the previous call to the labels and returns the series
   * to export now: the top K namespaces, then {@link OTHER_NAMESPACES} (always, from 0).
   */
  scrape(): Map<string, number> {
    const top = new Set(topByCount(this.#counts, this.#top));
    let other = this.#untracked - this.#untrackedHanded;
    this.#untrackedHanded = this.#untracked;
    for (const [ns, c] of this.#counts) {
      const delta = c.n - (this.#handed.get(ns) ?? 0);
      if (delta === 0) continue;
      this.#handed.set(ns, c.n);
      if (top.has(ns)) this.#exported.set(ns, (this.#exported.get(ns) ?? 0) + delta);
      else other += delta;
    }
    this.#exported.set(OTHER_NAMESPACES, this.#exported.get(OTHER_NAMESPACES)! + other);
    const out = new Map<string, number>();
    for (const ns of top) {
      const v = this.#exported.get(ns) ?? 0; // counted under _other so far: starts at 0
      this.#exported.set(ns, v);
      out.set(ns, v);
    }
    out.set(OTHER_NAMESPACES, this.#exported.get(OTHER_NAMESPACES)!);
    return out;
  }
}

/**
 * The `k` keys with the highest counts, highest first, ties by key (ascending). One pass
 * keeping the best `k` in order: no sort of every key at each scrape.
 */
export function topByCount(counts: ReadonlyMap<string, { n: number }>, k: number): string[] {
  const best: { key: string; n: number }[] = [];
  if (k <= 0) return [];
  const before = (n: number, key: string, o: { key: string; n: number }) => n > o.n || (n === o.n && key < o.key);
  for (const [key, c] of counts) {
    const n = c.n;
    if (n <= 0) continue;
    if (best.length === k && !before(n, key, best[k - 1]!)) continue;
    let i = best.length;
    while (i > 0 && before(n, key, best[i - 1]!)) i--;
    best.splice(i, 0, { key, n });
    if (best.length > k) best.pop();
  }
  return best.map((b) => b.key);
}

/**
 * The namespace of a stored event's subject (`tally.ev.<shard>.<ns>.<name>`) for the
 * dead-letter label: {@link INVALID_NAMESPACE} unless it has five tokens and the
 * namespace does not start with `_` (which no valid one does).
 */
export function deadLetterNamespace(subject: string): string {
  const tokens = subject.split(".");
  const ns = tokens[3];
  if (tokens.length !== 5 || ns === undefined || ns === "" || ns.startsWith("_") || ns.includes("\uFFFD"))
    return INVALID_NAMESPACE;
  return ns;
}
