import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  RequestError,
  TallyError,
  bucketIndex,
  bucketIso,
  bucketKey,
  firstRetainedIndex,
  mergeList,
  mergeTop,
  parseListRequest,
  parseNamespaceReadSubject,
  parseTopRequest,
  type GatherFlags,
  type LogGapMark,
  type NamespaceReadTarget,
  type NamespaceRequest,
  type Period,
  type Retention,
  type ShardListPage,
  type ShardQuery,
  type TopItem,
} from "@tally/core";
import type { NodeMetrics } from "../http/metrics.js";
import { respondError, respondJson, type ReplyAnnotation } from "../nats/replies.js";
import { LOG_GAP_HEADER } from "../admin/log-gaps.js";
import { bucketExpired } from "../shard/read-server.js";
import { askShard, type ShardAnswer } from "./shard-ask.js";

/** What gathering needs from the node. */
export interface GathererContext {
  readonly nc: NatsConnection;
  readonly shards: number;
  readonly periods: readonly Period[];
  readonly retention: () => Readonly<Retention>;
  /** The node's clock (epoch ms): what buckets expire by, and `at`'s default. */
  readonly now: () => number;
  readonly gatherTimeoutMs: number;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
}

/** Every node answers namespace-wide reads in one queue group: one node gathers each request. */
export const GATHER_QUEUE = "tally-gather";

/**
 * Answers `count.top.<ns>.<period>` and `count.list.<ns>.<period>` on any node: checks the
 * request, asks every shard's owner for its part on `tally.ns.<shard>` at once, and merges
 * them. A shard that does not answer by the deadline (its owner is gone, or it is moving
 * and not back in time) is named in `missingShards` with `partial: true`, never left out
 * silently. A shard's final error (none is expected: the request is checked here first)
 * fails the whole read.
 */
export class NamespaceGatherer {
  readonly #ctx: GathererContext;
  #subs: Subscription[] = [];

  constructor(ctx: GathererContext) {
    this.#ctx = ctx;
  }

  start(): void {
    const nc = this.#ctx.nc;
    this.#subs = ["count.top.*.*", "count.list.*.*"].map((subject) =>
      nc.subscribe(subject, { queue: GATHER_QUEUE, callback: (_err, msg) => void this.#handle(msg) }),
    );
  }

  /** Stops taking requests; those being gathered still get their answer. */
  stop(): void {
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
  }

  async #handle(msg: Msg): Promise<void> {
    if (!msg.reply) return;
    const started = performance.now();
    let kind = "namespace";
    try {
      const target = parseNamespaceReadSubject(msg.subject);
      kind = target.kind;
      const now = this.#ctx.now();
      const req = target.kind === "top" ? parseTopRequest(msg.data, now) : parseListRequest(msg.data, now);
      const { query, bucket } = this.#plan(target, req, now);
      const answers = await this.#gather(query);
      const body = merge(target, bucket, query, answers);
      this.#ctx.metrics.reads.inc({ outcome: body.partial ? `${kind}_partial` : `${kind}_ok` });
      respondJson(msg, body, logGapAnnotation(body.logGaps));
    } catch (err) {
      const code = err instanceof TallyError ? err.code : "INTERNAL";
      if (code === "INTERNAL") this.#ctx.log.error({ err, subject: msg.subject }, "namespace read failed");
      this.#ctx.metrics.reads.inc({ outcome: `${kind}_${code}` });
      respondError(msg, err);
    } finally {
      if (kind === "top" || kind === "list")
        this.#ctx.metrics.readSeconds.observe({ kind }, (performance.now() - started) / 1000);
    }
  }

  /** Checks the period and the bucket's retention, and builds the query every shard gets. */
  #plan(
    target: NamespaceReadTarget,
    req: NamespaceRequest,
    now: number,
  ): { query: ShardQuery; bucket: string | undefined } {
    const { ns, period: p } = target;
    let key = 0;
    let bucket: string | undefined;
    if (p !== "all") {
      if (!this.#ctx.periods.includes(p)) {
        throw new RequestError(
          "PERIOD_NOT_ENABLED",
          `period ${p} is not counted; enabled: ${this.#ctx.periods.join(", ")} (set with tally init --periods)`,
        );
      }
      const i = bucketIndex(p, req.at);
      const keep = this.#ctx.retention()[p];
      const first = firstRetainedIndex(p, keep, now);
      if (i < first) throw bucketExpired(p, i, first, keep!);
      key = bucketKey(p, i);
      bucket = bucketIso(p, i);
    }
    const query: ShardQuery = { kind: req.kind, ns, period: p, key, limit: req.limit };
    if (req.kind === "list") {
      if (req.prefix !== "") query.prefix = req.prefix;
      if (req.after !== "") query.after = req.after;
    }
    if (req.minSeq !== undefined) query.minSeq = req.minSeq;
    return { query, bucket };
  }

  /** Every shard's answer (or undefined: it did not answer in time), all asked at once. */
  async #gather(query: ShardQuery): Promise<(ShardAnswer | undefined)[]> {
    const { nc, shards, gatherTimeoutMs } = this.#ctx;
    const deadline = Date.now() + gatherTimeoutMs;
    const data = new TextEncoder().encode(JSON.stringify(query));
    return Promise.all(Array.from({ length: shards }, (_, s) => askShard(nc, s, data, deadline)));
  }
}

/** A `Tally-Warning` header when some shard's values may miss events, as on `count.get` replies. */
function logGapAnnotation(logGaps: GatherFlags["logGaps"]): ReplyAnnotation | undefined {
  if (!logGaps) return undefined;
  const shards = Object.keys(logGaps).join(", ");
  return {
    fields: {},
    headers: {
      [LOG_GAP_HEADER]: `shards ${shards} are marked with a log gap: their values may miss events (see logGaps; tally accept-gap clears the mark)`,
    },
  };
}

/** The merged reply: exact over the shards that answered, and says which did not. */
function merge(
  target: NamespaceReadTarget,
  bucket: string | undefined,
  query: ShardQuery,
  answers: (ShardAnswer | undefined)[],
): Record<string, unknown> & GatherFlags {
  const missing: number[] = [];
  const logGaps: Record<string, LogGapMark> = {};
  const parts: unknown[] = [];
  answers.forEach((a, shard) => {
    if (a === undefined) missing.push(shard);
    else {
      parts.push(a.body);
      if (a.logGap) logGaps[shard] = a.logGap;
    }
  });
  const head = { ns: target.ns, period: target.period, ...(bucket === undefined ? {} : { bucket }) };
  const merged =
    query.kind === "top"
      ? {
          items: mergeTop(
            parts.map((b) => (b as { items: TopItem[] }).items),
            query.limit,
          ),
        }
      : mergeList(parts as ShardListPage[], query.limit);
  const flags: GatherFlags = {};
  if (missing.length > 0) {
    flags.partial = true;
    flags.missingShards = missing;
  }
  if (Object.keys(logGaps).length > 0) flags.logGaps = logGaps;
  return { ...head, ...merged, ...flags };
}
