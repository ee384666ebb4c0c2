import type { Logger } from "pino";
import type { NodeMetrics, ShardStats } from "../http/metrics.js";
import type { ShardActor } from "../shard/shard-actor.js";
import type { LeaseTable } from "./leases.js";

/**
 * The shards this node holds a lease for, taking, serving or giving up, and the ways
 * one is given up: a hand-off (graceful: snapshot, checkpoint, then release the lease)
 * or a drop (at once, no checkpoint: the lease is gone or going). Every give-up runs to
 * its end even while the node stops; {@link closeAll} waits for all of them, so the
 * node never closes its store or connection under one.
 */
export class OwnedShards {
  readonly #leases: LeaseTable;
  readonly #metrics: NodeMetrics;
  readonly #log: Logger;
  readonly #onReleased: () => void;
  readonly #actors = new Map<number, ShardActor>();
  /** Held shards being handed off or dropped, and the work doing it; not taken again until done. */
  readonly #releasing = new Map<number, Promise<void>>();
  readonly #renewing = new Set<number>();

  constructor(leases: LeaseTable, metrics: NodeMetrics, log: Logger, onReleased: () => void) {
    this.#leases = leases;
    this.#metrics = metrics;
    this.#log = log;
    this.#onReleased = onReleased;
  }

  get size(): number {
    return this.#actors.size;
  }

  has(shard: number): boolean {
    return this.#actors.has(shard);
  }

  /** Shards being handed off or dropped. */
  releasing(): number[] {
    return [...this.#releasing.keys()];
  }

  /** True while `actor` is still this node's actor for its shard and not being given up. */
  holds(actor: ShardActor): boolean {
    return this.#actors.get(actor.shard) === actor && !this.#releasing.has(actor.shard);
  }

  add(actor: ShardActor): void {
    this.#actors.set(actor.shard, actor);
  }

  /** Every held actor, giving-up ones included. */
  all(): ShardActor[] {
    return [...this.#actors.values()];
  }

  /** Held actors not being given up. */
  serving(): ShardActor[] {
    return this.all().filter((a) => !this.#releasing.has(a.shard));
  }

  /** Shard → confirmed sequence of the shards whose reads this node takes (for heartbeats). */
  describe(): Record<string, number> {
    return Object.fromEntries(
      this.all()
        .filter((a) => a.takingReads)
        .map((a) => [a.shard, a.confirmedSeq]),
    );
  }

  stats(): ShardStats[] {
    return this.all()
      .map((a) => a.stats())
      .sort((a, b) => a.shard - b.shard);
  }

  /** Drops every shard whose lease has lapsed (it could not be renewed in time). */
  dropLapsed(): void {
    for (const a of this.serving()) if (!a.lease.valid()) this.drop(a.shard, "lease lapsed before it could be renewed");
  }

  /** Renews every held lease, one renewal in flight per shard; a lost one is dropped at once. */
  renewAll(): void {
    for (const a of this.serving()) {
      const s = a.shard;
      if (this.#renewing.has(s)) continue;
      this.#renewing.add(s);
      this.#leases
        .renew(a.lease)
        .then((r) => {
          if (r === "lost" && this.holds(a)) this.drop(s, "lease lost");
        })
        .catch((err: unknown) => this.#log.warn({ err, shard: s }, "lease renewal failed"))
        .finally(() => this.#renewing.delete(s));
    }
  }

  /** Graceful hand-off: stop, snapshot, checkpoint, then release the lease for the next owner. */
  handOff(s: number): void {
    const actor = this.#actors.get(s);
    if (!actor || this.#releasing.has(s)) return;
    const started = performance.now();
    this.#log.debug({ shard: s, epoch: actor.lease.epoch }, "hand-off started");
    this.#giveUp(
      actor,
      actor
        .close({ checkpoint: true })
        .catch((err: unknown) => this.#log.error({ err, shard: s }, "hand-off: final snapshot or checkpoint failed"))
        .then(() => this.#leases.release(actor.lease))
        .then(() => {
          this.#metrics.handoffs.inc({ direction: "out" });
          this.#log.info(
            { shard: s, epoch: actor.lease.epoch, ms: Math.round(performance.now() - started) },
            "shard handed off",
          );
        }),
    );
  }

  /**
   * Stops serving a shard at once, without a checkpoint (its lease is gone or going;
   * another node may own it). With `release` the lease is given back.
   */
  drop(s: number, why: string, release = false): void {
    const actor = this.#actors.get(s);
    if (!actor || this.#releasing.has(s)) return;
    if (!release) {
      actor.lease.lose();
      this.#metrics.leasesLost.inc();
      this.#log.warn({ shard: s, epoch: actor.lease.epoch }, `stopped serving shard: ${why}`);
    }
    this.#giveUp(
      actor,
      actor
        .close({ checkpoint: false })
        .catch((err: unknown) => this.#log.error({ err, shard: s }, "closing a dropped shard failed"))
        .then(() => (release ? this.#leases.release(actor.lease) : undefined)),
    );
  }

  #giveUp(actor: ShardActor, work: Promise<void>): void {
    const done = work.finally(() => {
      if (this.#actors.get(actor.shard) === actor) this.#actors.delete(actor.shard);
      this.#releasing.delete(actor.shard);
      this.#onReleased();
    });
    this.#releasing.set(actor.shard, done);
  }

  /**
   * The node stops: every shard is handed off (final snapshot, checkpoint, lease
   * released) even if another's fails, and every hand-off or drop already running is
   * awaited. Resolves with the failures.
   */
  async closeAll(): Promise<unknown[]> {
    const actors = this.all();
    const results = await Promise.allSettled([
      ...actors.map(async (a) => {
        try {
          await a.close({ checkpoint: true }); // memoised: a hand-off already running is awaited, not redone
        } finally {
          if (a.lease.valid()) await this.#leases.release(a.lease);
        }
      }),
      ...this.#releasing.values(),
    ]);
    this.#actors.clear();
    return results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
  }
}
