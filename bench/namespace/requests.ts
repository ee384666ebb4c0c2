/**
 * The requests bench/namespace.ts times, from the cheapest (a bare echo) to the costliest (a
 * top 1000), each with the check of its reply against the ground truth.
 */
import { bucketKey, encodeName, shardQuerySubject, type ShardQuery } from "@tally/core";
import { DAY_MS, nameOf, type GroundTruth } from "./dataset.js";
import { COUNTERS, EMPTY_NS, NS, SHARDS } from "./options.js";

const enc = new TextEncoder();

/** One kind of request: what it asks, and what its reply must be. */
export interface ReadKind {
  id: string;
  /** What the table prints. */
  label: string;
  /** The subject of request number `i` (some kinds rotate over keys or shards). */
  subject: (i: number) => string;
  body: Uint8Array;
  /** Why the parsed, whole (not `partial`) reply of request `i` is wrong, or undefined when it is right. */
  check: (reply: Record<string, unknown>, i: number) => string | undefined;
}

/** Compares as JSON: the replies are plain data in a fixed key order. */
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** An error reply is wrong (a partial one is counted apart, by the caller, before the check). */
function noError(r: Record<string, unknown>): string | undefined {
  return r.error === undefined ? undefined : `error ${JSON.stringify(r.error)}`;
}

/** The request kinds, reading the day bucket `truth.dayIndex` and all-time of {@link NS}. */
export function readKinds(truth: GroundTruth): ReadKind[] {
  const at = truth.dayIndex * DAY_MS + DAY_MS / 2;
  const dayKey = bucketKey("day", truth.dayIndex);
  const middle = truth.sortedNames[Math.floor(truth.sortedNames.length / 2)]!;
  const top = (id: string, label: string, ns: string, period: "day" | "all", limit: number): ReadKind => ({
    id,
    label,
    subject: () => `count.top.${ns}.${period}`,
    body: enc.encode(JSON.stringify(period === "day" ? { at, limit } : { limit })),
    check: (r) => {
      const want = ns === NS ? truth.top(period, limit) : [];
      return noError(r) ?? (same(r.items, want) ? undefined : `items differ from the ground truth`);
    },
  });
  const list = (id: string, label: string, prefix: string, after: string): ReadKind => {
    const want = truth.list(prefix, after, 100);
    const body: Record<string, unknown> = { limit: 100 };
    if (prefix !== "") body.prefix = prefix;
    if (after !== "") body.after = after;
    return {
      id,
      label,
      subject: () => `count.list.${NS}.all`,
      body: enc.encode(JSON.stringify(body)),
      check: (r) => noError(r) ?? (same({ names: r.names, next: r.next }, want) ? undefined : "page differs"),
    };
  };
  const shardQuery: ShardQuery = { kind: "top", ns: NS, period: "day", key: dayKey, limit: 10 };
  return [
    {
      id: "echo",
      label: "NATS echo (baseline 2)",
      subject: (i) => `echo.${i}`,
      body: new Uint8Array(0),
      check: () => undefined,
    },
    {
      id: "get",
      label: "count.get (baseline 1)",
      subject: (i) => `count.get.${NS}.${encodeName(nameOf(i % COUNTERS))}`,
      body: new Uint8Array(0),
      check: (r, i) => noError(r) ?? (r.value === truth.all[i % COUNTERS] ? undefined : `value ${String(r.value)}`),
    },
    {
      id: "shard",
      label: "one shard's part: tally.ns.<s> top day 10",
      subject: (i) => shardQuerySubject(i % SHARDS),
      body: enc.encode(JSON.stringify(shardQuery)),
      check: (r) => noError(r) ?? (Array.isArray(r.items) ? undefined : "no items"),
    },
    top("gather", "top day 10, empty namespace (gather only)", EMPTY_NS, "day", 10),
    top("top10", "top day 10", NS, "day", 10),
    top("top100", "top day 100", NS, "day", 100),
    top("top1000", "top day 1000", NS, "day", 1000),
    top("topAll10", "top all 10", NS, "all", 10),
    list("listFirst", "list all 100, first page", "", ""),
    list("listMiddle", "list all 100, middle page (after)", "", middle),
    list("listPrefix", "list all 100, prefix checkout-", "checkout-", ""),
  ];
}
