import type { NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { Logger } from "pino";
import { openKv } from "../nats/buckets.js";
import { watchBucket, type BucketWatch } from "../nats/kv-watch.js";
import { LEASES_BUCKET, parseShardKey, shardKey } from "../names.js";

/** A lease as every node sees it in the bucket. */
export interface LeaseRecord {
  owner: string;
  /** Fencing epoch: the bucket revision at which the lease was taken; grows with every new owner. */
  epoch: number;
}

/**
 * A lease this node holds. It is valid until a fixed share of the TTL after the
 * last renewal *sent* (the server stamps the entry later than that, and only
 * drops it a full TTL after its stamp), so the holder stops before anyone else
 * can take the shard, whatever happens to it meanwhile (GC pause, SIGSTOP, lost
 * connection): every serving decision checks {@link Lease.valid} first.
 */
export class Lease {
  readonly shard: number;
  readonly epoch: number;
  #revision: number;
  #validUntil: number;
  #lost = false;
  #released = false;
  /** The renewal on its way, if any: a release waits for it, so its compare-and-set sees the latest revision. */
  inFlight: Promise<unknown> | undefined;

  constructor(shard: number, epoch: number, sentAt: number, validForMs: number) {
    this.shard = shard;
    this.epoch = epoch;
    this.#revision = epoch;
    this.#validUntil = sentAt + validForMs;
  }

  /** True while this node may serve the shard. */
  valid(): boolean {
    return !this.#lost && performance.now() < this.#validUntil;
  }

  get revision(): number {
    return this.#revision;
  }

  /** Milliseconds of validity left (negative once lapsed). */
  remainingMs(): number {
    return this.#lost ? -1 : this.#validUntil - performance.now();
  }

  /**
   * A renewal came back: the server's compare-and-set proves no one took the lease
   * meanwhile, so it is extended from when the renewal was sent. (A holder that saw its
   * lease lapse while the renewal was on its way and fenced a read has called
   * {@link lose}; a lost lease stays lost.)
   */
  renewed(revision: number, sentAt: number, validForMs: number): void {
    this.#revision = revision;
    this.#validUntil = sentAt + validForMs;
  }

  lose(): void {
    this.#lost = true;
  }

  /** The holder gives the lease up: lost, and known to be given up (not taken away). */
  giveUp(): void {
    this.#lost = true;
    this.#released = true;
  }

  /** True once the holder gave the lease up. */
  get released(): boolean {
    return this.#released;
  }
}

/**
 * Outcome of a renewal:
 * - `renewed`: the compare-and-set went through; the lease is valid for another term;
 * - `lost`: someone else's write (or expiry) came first, or the lease had lapsed: stop serving now;
 * - `failed`: no answer (server busy or unreachable); the lease stays valid until it lapses, and the
 *   next renewal tries again;
 * - `released`: the holder gave the lease up while the renewal was on its way; nothing to do.
 */
export type RenewResult = "renewed" | "lost" | "failed" | "released";

/**
 * The shard leases in {@link LEASES_BUCKET}: taken with create (only if absent),
 * renewed and released with compare-and-set on the revision, expired by the
 * bucket's max age (the lease TTL) when an owner stops renewing. Also keeps a
 * watched view of who holds what. Expiry by max age is silent (no watch event),
 * so callers combine the view with membership.
 */
export class LeaseTable {
  readonly #kv: KV;
  readonly #self: string;
  readonly #ttlMs: number;
  readonly #log: Logger;
  readonly #view = new Map<number, LeaseRecord & { seenAt: number }>();
  #watch: BucketWatch | undefined;

  private constructor(kv: KV, self: string, ttlMs: number, log: Logger) {
    this.#kv = kv;
    this.#self = self;
    this.#ttlMs = ttlMs;
    this.#log = log;
  }

  /** Opens the bucket and loads the current leases; `onChange` runs on every change seen. */
  static async open(
    nc: NatsConnection,
    self: string,
    ttlMs: number,
    log: Logger,
    onChange: (shard: number) => void,
  ): Promise<LeaseTable> {
    const kv = await openKv(nc, LEASES_BUCKET);
    const t = new LeaseTable(kv, self, ttlMs, log);
    t.#watch = await watchBucket(kv, log, {
      onEntry: (e, initial) => {
        const shard = t.#apply(e, initial);
        if (shard !== undefined && !initial) onChange(shard);
      },
      onRestart: () => t.#view.clear(),
    });
    return t;
  }

  /** How long a lease stays valid for its holder after a renewal is sent: 80% of the TTL. */
  get validForMs(): number {
    return Math.floor(this.#ttlMs * 0.8);
  }

  /** How often holders renew: a fifth of the TTL, so four renewals can fail before a lease lapses. */
  get renewEveryMs(): number {
    return Math.max(100, Math.floor(this.#ttlMs / 5));
  }

  /**
   * The holder of a shard's lease as last seen, or undefined when there is none. An
   * entry not renewed for a whole TTL has expired on the server (expiry by max age
   * sends no watch event), so it counts as none too.
   */
  holder(shard: number): LeaseRecord | undefined {
    const r = this.#view.get(shard);
    if (!r || performance.now() - r.seenAt > this.#ttlMs) return undefined;
    return { owner: r.owner, epoch: r.epoch };
  }

  /**
   * Whether the shard's last lease seen was never released: a record is left in the view
   * until a release (a delete) is seen, also after it expired on the server. True when
   * the holder died or lost its lease (a failover, when someone else takes the shard).
   */
  unreleased(shard: number): boolean {
    return this.#view.has(shard);
  }

  #apply(e: KvWatchEntry, initial: boolean): number | undefined {
    const shard = parseShardKey(e.key);
    if (shard === undefined) return undefined;
    if (e.operation !== "PUT") {
      this.#view.delete(shard);
      return shard;
    }
    try {
      const v = e.json<Partial<LeaseRecord>>();
      if (typeof v.owner !== "string") throw new Error("no owner");
      // An entry found at start counts as seen when it was stored (as far as wall clocks tell).
      const age = initial ? Math.min(this.#ttlMs, Math.max(0, Date.now() - e.created.getTime())) : 0;
      this.#view.set(shard, {
        owner: v.owner,
        epoch: typeof v.epoch === "number" ? v.epoch : e.revision,
        seenAt: performance.now() - age,
      });
    } catch {
      this.#log.warn({ key: e.key }, "unreadable lease entry ignored");
    }
    return shard;
  }

  /** Takes the shard's lease if no one holds it; undefined if someone does. */
  async acquire(shard: number): Promise<Lease | undefined> {
    const sentAt = performance.now();
    try {
      const rev = await this.#kv.create(shardKey(shard), JSON.stringify({ owner: this.#self }));
      const lease = new Lease(shard, rev, sentAt, this.validForMs);
      this.#view.set(shard, { owner: this.#self, epoch: rev, seenAt: sentAt });
      return lease;
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw err;
    }
  }

  /** Renews with compare-and-set; "lost" when someone else's write (or expiry) came first. */
  async renew(lease: Lease): Promise<RenewResult> {
    if (lease.remainingMs() < 0) {
      // Lapsed: the server may already have dropped it; never extend a lapsed lease.
      lease.lose();
      return "lost";
    }
    const sentAt = performance.now();
    const update = this.#kv.update(
      shardKey(lease.shard),
      JSON.stringify({ owner: this.#self, epoch: lease.epoch }),
      lease.revision,
    );
    lease.inFlight = update;
    try {
      const rev = await update;
      lease.renewed(rev, sentAt, this.validForMs);
      if (lease.released) return "released";
      return lease.valid() ? "renewed" : "lost";
    } catch (err) {
      if (lease.released) return "released";
      if (isWrongLastSequence(err)) {
        lease.lose();
        return "lost";
      }
      this.#log.warn({ err, shard: lease.shard }, "lease renewal failed; retrying");
      return "failed";
    } finally {
      if (lease.inFlight === update) lease.inFlight = undefined;
    }
  }

  /** Gives the lease up (compare-and-set delete), so the next owner can take it at once. */
  async release(lease: Lease): Promise<void> {
    const wasValid = lease.valid();
    lease.giveUp();
    if (!wasValid) return;
    // A renewal on its way would move the revision under this compare-and-set.
    await lease.inFlight?.catch(() => undefined);
    await this.#kv.delete(shardKey(lease.shard), { previousSeq: lease.revision }).catch((err: unknown) => {
      // It expires by itself within the TTL.
      this.#log.warn({ err, shard: lease.shard }, "lease release failed; it will expire");
    });
  }

  stop(): void {
    this.#watch?.stop();
  }
}

function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
