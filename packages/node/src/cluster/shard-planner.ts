import type { ConsumerMessages } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { planShards } from "@tally/core";
import type { NodeMetrics } from "../http/metrics.js";
import { activateShards, type ActivationContext } from "../shard/batch-activation.js";
import type { ShardActor } from "../shard/shard-actor.js";
import type { Lease, LeaseTable } from "./leases.js";
import type { Membership } from "./membership.js";
import type { OwnedShards } from "./owned-shards.js";

/** What planning needs from its node. */
export interface PlannerContext {
  readonly id: string;
  readonly shards: number;
  readonly minMembers: number;
  readonly maxMovingFraction: number;
  readonly membership: Membership;
  readonly leases: LeaseTable;
  readonly owned: OwnedShards;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  /** Restoring and replaying shards needs this (see {@link activateShards}). */
  readonly activation: Omit<ActivationContext, "live" | "stillHeld">;
  /** The live members that take no new shards now (see `planShards`' `refusing`). */
  refusing(live: readonly string[]): string[];
  /** A new actor for a shard whose lease was just taken. */
  createActor(shard: number, lease: Lease): ShardActor;
  /** False once the node stops: no round runs, no lease is taken. */
  live(): boolean;
}

/**
 * Planning rounds: each drops shards whose lease lapsed, then, from the live members
 * and the lease holders, takes the free shards this node should own and hands off
 * (throttled) those it should not. Rounds run one at a time; changes that arrive
 * during one make one more run after it.
 */
export class ShardPlanner {
  readonly #ctx: PlannerContext;
  /** Batch replays in flight, so a stopping node can end them. */
  readonly replays = new Set<ConsumerMessages>();
  readonly #activations = new Set<Promise<void>>();
  /** The round in flight, if any (it may still be taking leases). */
  #round: Promise<ShardActor[]> | undefined;
  #formed = false;
  #ticking = false;
  #tickAgain = false;
  #scheduled = false;

  constructor(ctx: PlannerContext) {
    this.#ctx = ctx;
  }

  /** Runs a round soon (once, however many changes arrive meanwhile). */
  schedule(): void {
    if (this.#scheduled || !this.#ctx.live()) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.tick().catch((err: unknown) => this.#ctx.log.error({ err }, "planning round failed"));
    });
  }

  /** Runs rounds until no change is pending; resolves when what they took is restored and replayed. */
  async tick(): Promise<void> {
    if (this.#ticking) {
      this.#tickAgain = true;
      return;
    }
    this.#ticking = true;
    const taken: Promise<void>[] = [];
    try {
      do {
        this.#tickAgain = false;
        if (!this.#ctx.live()) return;
        this.#round = this.#planRound();
        const batch = await this.#round.finally(() => (this.#round = undefined));
        // Shards taken by a round the node's stop overtook are closed by the node, not activated.
        if (batch.length > 0 && this.#ctx.live()) taken.push(this.#activate(batch));
      } while (this.#tickAgain);
    } finally {
      this.#ticking = false;
    }
    await Promise.all(taken);
  }

  /** Ends the batch replays in flight (the node is stopping). */
  stopReplays(): void {
    for (const m of this.replays) m.stop();
  }

  /** Waits for the round and every activation in flight (the node stops only after them). */
  async settle(): Promise<void> {
    await this.#round?.catch(() => undefined);
    await Promise.allSettled([...this.#activations]);
  }

  async #planRound(): Promise<ShardActor[]> {
    const { membership, leases, owned } = this.#ctx;
    membership.checkLiveness();
    owned.dropLapsed();
    const live = membership.live();
    const liveSet = new Set(live);
    const holders = Array.from({ length: this.#ctx.shards }, (_, s) => {
      if (owned.has(s)) return this.#ctx.id;
      const h = leases.holder(s)?.owner;
      // Our own id on a lease we do not hold is a previous run's: it expires by itself.
      return h !== undefined && h !== this.#ctx.id && liveSet.has(h) ? h : undefined;
    });
    const plan = planShards({
      shards: this.#ctx.shards,
      self: this.#ctx.id,
      live,
      holders,
      releasing: owned.releasing(),
      maxMoving: Math.max(1, Math.floor(this.#ctx.maxMovingFraction * this.#ctx.shards)),
      minMembers: this.#ctx.minMembers,
      formed: this.#formed,
      refusing: this.#ctx.refusing(live),
    });
    if (plan.formed && !this.#formed) {
      this.#formed = true;
      if (this.#ctx.minMembers > 1) this.#ctx.log.info({ live }, "cluster formed");
    }
    for (const s of plan.release) owned.handOff(s);
    const batch: ShardActor[] = [];
    await Promise.all(
      plan.acquire.map(async (s) => {
        try {
          const failover = leases.unreleased(s);
          const lease = await leases.acquire(s);
          if (!lease) return;
          if (!this.#ctx.live()) {
            await leases.release(lease);
            return;
          }
          if (failover) this.#ctx.metrics.failovers.inc();
          const actor = this.#ctx.createActor(s, lease);
          owned.add(actor);
          batch.push(actor);
        } catch (err) {
          this.#ctx.log.warn({ err, shard: s }, "taking a shard lease failed; will retry");
        }
      }),
    );
    return batch.sort((a, b) => a.shard - b.shard);
  }

  /** Restores newly taken shards, replays them together, then starts their consumers. */
  #activate(batch: ShardActor[]): Promise<void> {
    const { owned, log } = this.#ctx;
    const started = performance.now();
    const ctx: ActivationContext = {
      ...this.#ctx.activation,
      live: () => this.#ctx.live(),
      stillHeld: (a) => owned.holds(a),
    };
    const work = activateShards(batch, ctx, this.replays).then(
      ({ active, replayedEvents }) => {
        this.#ctx.metrics.handoffs.inc({ direction: "in" }, active.length);
        const sources = { local: 0, shared: 0, empty: 0 };
        for (const a of active) sources[a.source]++;
        log.info(
          {
            shards: active.map((a) => a.shard),
            epochs: active.map((a) => a.lease.epoch),
            restoredFrom: sources,
            replayedEvents,
            ms: Math.round(performance.now() - started),
          },
          "shards taken",
        );
      },
      (err: unknown) => {
        if (!this.#ctx.live()) return;
        log.error({ err, shards: batch.map((a) => a.shard) }, "taking shards failed; giving them back");
        for (const a of batch) if (owned.holds(a)) owned.drop(a.shard, "restore failed", true);
      },
    );
    this.#activations.add(work);
    return work.finally(() => this.#activations.delete(work));
  }
}
