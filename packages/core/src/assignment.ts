import { fnv1a32 } from "./partition.js";

const encoder = new TextEncoder();

/**
 * Rendezvous (highest-random-weight) score of a member for a shard. FNV-1a alone
 * clusters for similar inputs (`node-1`, `node-2`), so the hash is finished with
 * murmur3's fmix32 avalanche.
 */
export function rendezvousScore(member: string, shard: number): number {
  let h = fnv1a32(encoder.encode(`${member}\u0000${shard}`));
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member that owns `shard` among `members` (highest score; ties by name); undefined if none. */
export function rendezvousOwner(shard: number, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const m of members) {
    const s = rendezvousScore(m, shard);
    if (s > bestScore || (s === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = s;
    }
  }
  return best;
}

/**
 * Owner of every shard 0..shards-1. A member joining takes about shards/(N+1)
 * shards, each from whichever member had it; no other shard moves.
 */
export function assignShards(shards: number, members: readonly string[]): (string | undefined)[] {
  return Array.from({ length: shards }, (_, s) => rendezvousOwner(s, members));
}

/**
 * Balanced assignment that moves as few shards as possible from `current`: each
 * live member ends with ⌊P/N⌋ or ⌈P/N⌉ shards; shards of departed members and the
 * surplus of over-full members go to under-full ones, each shard to the member that
 * scores highest for it. A join therefore moves ⌊P/(N+1)⌋ or ⌈P/(N+1)⌉ shards, all
 * to the new member, and a leave moves only the departed member's shards.
 */
export function balanceShards(
  shards: number,
  members: readonly string[],
  current: readonly (string | undefined)[] = [],
): (string | undefined)[] {
  const live = [...new Set(members)].sort();
  if (live.length === 0) return new Array<string | undefined>(shards).fill(undefined);
  const owned = new Map<string, number[]>(live.map((m) => [m, []]));
  const pool: number[] = [];
  for (let s = 0; s < shards; s++) {
    const o = current[s];
    const list = o === undefined ? undefined : owned.get(o);
    if (list) list.push(s);
    else pool.push(s);
  }
  // Quotas: members already holding ⌈P/N⌉ or more get the ⌈P/N⌉ seats, so fewer shards
  // move. Holdings are capped at ⌈P/N⌉ before comparing: while over-full members hand
  // shards off one by one, their order must not change from round to round, or a seat
  // flips between them and each gives up one shard too many (then takes one back).
  const base = Math.floor(shards / live.length);
  let extra = shards % live.length;
  const seat = (m: string) => Math.min(owned.get(m)!.length, base + 1);
  const quota = new Map<string, number>();
  for (const m of [...live].sort((a, b) => seat(b) - seat(a) || (a < b ? -1 : 1))) {
    quota.set(m, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra--;
  }
  for (const m of live) {
    const list = owned.get(m)!;
    const q = quota.get(m)!;
    if (list.length > q) {
      // Give up the shards this member scores lowest for.
      list.sort((a, b) => rendezvousScore(m, b) - rendezvousScore(m, a));
      pool.push(...list.splice(q));
    }
  }
  const out = new Array<string | undefined>(shards).fill(undefined);
  for (const [m, list] of owned) for (const s of list) out[s] = m;
  for (const s of pool) {
    let best: string | undefined;
    let bestScore = -1;
    for (const m of live) {
      if (owned.get(m)!.length >= quota.get(m)!) continue;
      const sc = rendezvousScore(m, s);
      if (sc > bestScore) {
        best = m;
        bestScore = sc;
      }
    }
    out[s] = best;
    owned.get(best!)!.push(s);
  }
  return out;
}

/** What one node knows when it plans its next moves; see {@link planShards}. */
export interface PlanInput {
  shards: number;
  /** This node's id. */
  self: string;
  /** Live members (this node included). */
  live: readonly string[];
  /**
   * Holder of each shard's lease as this node sees it; undefined when the lease is
   * free or its holder is no longer a live member. Shards this node is taking count as its own.
   */
  holders: readonly (string | undefined)[];
  /** Shards this node is giving up right now (still counted as its own). */
  releasing: readonly number[];
  /** Most shards moving at once in the whole cluster (at least 1). */
  maxMoving: number;
  /** Members needed before the cluster first takes shards. */
  minMembers: number;
  /** True once this node has seen the cluster formed; it then ignores `minMembers`. */
  formed: boolean;
  /**
   * Live members that take no shards now (over their memory bound), this node perhaps
   * among them. They keep what they hold; the others share every shard as if they were
   * not there, so a free shard always has a taker while one member does not refuse.
   * @default []
   */
  refusing?: readonly string[];
}

/** A node's next moves. */
export interface Plan {
  /** Whether the cluster is formed (enough members, or shards already held). */
  formed: boolean;
  /** Free shards this node should take now. */
  acquire: number[];
  /** Held shards this node should hand off now (throttled). */
  release: number[];
}

/**
 * Plans one node's moves from its view of the cluster. Every node runs this on
 * its own view; leases, not this plan, keep two nodes from owning a shard.
 * - Until `minMembers` are live (or some other member already holds a shard),
 *   nothing is taken, so the first node up does not grab everything and shed it.
 * - Targets come from {@link balanceShards} over the current holders, so a join
 *   moves ⌈P/(N+1)⌉ shards at most, all to the new member.
 * - Free shards are taken at once (failover); hand-offs are throttled: each of the
 *   N members releases at most ⌊maxMoving/N⌋ (at least 1) at a time.
 * - A `refusing` member is left out of the others' targets; it takes nothing itself,
 *   but still hands off what a balance counting it would move (e.g. to a joiner), so
 *   refusing never makes it hold more than it would otherwise.
 */
export function planShards(input: PlanInput): Plan {
  const { shards, self, live, holders } = input;
  const formed = input.formed || live.length >= input.minMembers || holders.some((h) => h !== undefined && h !== self);
  if (!formed || !live.includes(self)) return { formed, acquire: [], release: [] };
  const refusing = input.refusing ?? [];
  const selfRefuses = refusing.includes(self);
  // This node's own refusal does not change what it should hand off, only what it takes.
  const placement = refusing.length === 0 ? live : live.filter((m) => m === self || !refusing.includes(m));
  const desired = balanceShards(shards, placement, holders);
  const acquire: number[] = [];
  const candidates: number[] = [];
  for (let s = 0; s < shards; s++) {
    if (desired[s] === self && holders[s] === undefined) {
      if (!selfRefuses) acquire.push(s);
    } else if (holders[s] === self && desired[s] !== self && !input.releasing.includes(s)) candidates.push(s);
  }
  const budget = Math.max(1, Math.floor(input.maxMoving / live.length)) - input.releasing.length;
  return { formed, acquire, release: candidates.slice(0, Math.max(0, budget)) };
}
