import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { Logger } from "pino";
import { openKv } from "../nats/buckets.js";
import { watchBucket } from "../nats/kv-watch.js";
import { MEMBERS_BUCKET } from "../names.js";

/** What a node publishes about itself with every heartbeat. */
export interface MemberInfo {
  id: string;
  host: string;
  pid: number;
  /** When the node started (ISO-8601). */
  startedAt: string;
  /** Port of its HTTP endpoint, if any. */
  httpPort?: number;
  /** Shards it serves: shard → applied stream sequence (for `tally status`). */
  shards: Record<string, number>;
  /** Its shared checkpoint interval in ms (`tally init` checks log limits against it). */
  checkpointIntervalMs?: number;
  /** Present while it takes no new shards (its memory is over `--max-memory`): why. */
  refusingShards?: string;
}

/** A member as another node sees it. */
export interface Member {
  info: MemberInfo;
  /** Local monotonic time (performance.now) the last heartbeat was received. */
  seenAt: number;
}

/** Options of {@link Membership.start}. */
export interface MembershipOptions {
  id: string;
  heartbeatMs: number;
  timeoutMs: number;
  log: Logger;
  /** The node's current figures for its heartbeat. */
  describe: () => Omit<MemberInfo, "id" | "host" | "pid" | "startedAt">;
  /** Called (synchronously) when a member joins or leaves, or a heartbeat arrives late. */
  onChange: () => void;
}

/**
 * Membership by heartbeats into the {@link MEMBERS_BUCKET} KV bucket. A member is
 * live while its heartbeats keep arriving: liveness is judged by when this node
 * received them, on its own monotonic clock, so clocks of different machines never
 * have to agree. Leaving cleanly deletes the entry, which others see at once.
 */
export class Membership {
  readonly #kv: KV;
  readonly #opts: MembershipOptions;
  readonly #members = new Map<string, Member>();
  readonly #startedAt = new Date().toISOString();
  #timer: NodeJS.Timeout | undefined;
  #stopWatch: (() => void) | undefined;
  #stopped = false;
  #beat: Promise<void> | undefined;
  #liveKey = "";

  private constructor(kv: KV, opts: MembershipOptions) {
    this.#kv = kv;
    this.#opts = opts;
  }

  /** Opens the bucket, sends the first heartbeat and loads the current members. */
  static async start(nc: NatsConnection, opts: MembershipOptions): Promise<Membership> {
    const kv = await openKv(nc, MEMBERS_BUCKET);
    const m = new Membership(kv, opts);
    await m.#heartbeat(true);
    await m.#watch();
    m.#timer = setInterval(() => void m.#heartbeat(false), opts.heartbeatMs);
    return m;
  }

  /** Ids of the live members, sorted; this node is always one of them. */
  live(): string[] {
    const now = performance.now();
    const out = [this.#opts.id];
    for (const [id, m] of this.#members) {
      if (id !== this.#opts.id && now - m.seenAt < this.#opts.timeoutMs) out.push(id);
    }
    return out.sort();
  }

  /** What member `id` said in its last heartbeat (this node's own, as the bucket echoed it). */
  info(id: string): MemberInfo | undefined {
    return this.#members.get(id)?.info;
  }

  /** Sends a heartbeat now (e.g. the node started refusing shards), not at the next interval. */
  beatNow(): void {
    void this.#heartbeat(false);
  }

  /** Reports a change when the live set, or which live members refuse shards, differs from the last call. */
  checkLiveness(): void {
    const key = this.live()
      .map((id) => (this.#members.get(id)?.info.refusingShards === undefined ? id : `${id}!`))
      .join(",");
    if (key !== this.#liveKey) {
      this.#liveKey = key;
      this.#opts.log.info({ live: this.live() }, "members changed");
      this.#opts.onChange();
    }
  }

  async #heartbeat(first: boolean): Promise<void> {
    if (this.#stopped || this.#beat) return;
    const info: MemberInfo = {
      id: this.#opts.id,
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      ...this.#opts.describe(),
    };
    this.#beat = this.#kv
      .put(this.#opts.id, JSON.stringify(info))
      .then(() => undefined)
      .catch((err: unknown) => {
        if (first) throw err;
        this.#opts.log.warn({ err }, "heartbeat failed");
      })
      .finally(() => (this.#beat = undefined));
    await this.#beat;
  }

  async #watch(): Promise<void> {
    const watch = await watchBucket(this.#kv, this.#opts.log, {
      onEntry: (e, initial) => {
        this.#apply(e, initial);
        if (!initial) this.checkLiveness();
      },
      onRestart: () => this.#members.clear(),
    });
    this.#stopWatch = () => watch.stop();
    this.checkLiveness();
  }

  #apply(e: KvWatchEntry, initial: boolean): void {
    if (e.operation !== "PUT") {
      this.#members.delete(e.key);
      return;
    }
    let info: MemberInfo;
    try {
      info = e.json<MemberInfo>();
    } catch {
      this.#opts.log.warn({ key: e.key }, "unreadable member entry ignored");
      return;
    }
    // An entry found at start counts as heard when it was written (as far as
    // wall clocks tell), so a member that died long ago is not taken for live.
    const age = initial ? Math.max(0, Date.now() - e.created.getTime()) : 0;
    this.#members.set(e.key, { info, seenAt: performance.now() - Math.min(age, this.#opts.timeoutMs) });
  }

  /** Stops heartbeating; with `leave`, deletes this node's entry so others see it go at once. */
  async stop(leave: boolean): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#stopWatch?.();
    await this.#beat?.catch(() => undefined);
    if (leave) await this.#kv.delete(this.#opts.id).catch(() => undefined);
  }
}
