import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { CHECKPOINT_HEADS_BUCKET, CHECKPOINTS_BUCKET } from "@tally/node";
import type { ChainInfo, Checkpoints, FlatEntries, FlatRemovals } from "../../packages/node/src/storage/checkpoints.js";

/**
 * Ground truth for checkpoint tests: a shard's state as the test computes it itself,
 * `ns\0name\0key` → value, and what the object store and manifest bucket hold, read
 * straight from their streams (not through the code under test).
 */
export type State = Map<string, number>;

const id = (ns: string, name: string, key: number) => `${ns}\u0000${name}\u0000${key}`;

/** A small deterministic random generator (LCG), so a failing case can be replayed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Bucket keys used by the states: 0 (all-time) and a few bucket keys; {@link EXPIRED_KEY} is "expired". */
export const KEYS = [0, 1000, 1001, 1002, 1003];
export const EXPIRED_KEY = 1000;

/** A state of `counters` counters × every key in {@link KEYS}. */
export function baseState(counters: number, seed: number): State {
  const r = rng(seed);
  const s: State = new Map();
  for (let c = 0; c < counters; c++)
    for (const k of KEYS) s.set(id(c % 2 ? "odd" : "even", `c${c}`, k), Math.floor(r() * 1e9));
  return s;
}

/** A random change of `s`: `changes` upserts (some new counters) and `removals` removals; the state after it. */
export function change(
  s: State,
  changes: number,
  removals: number,
  seed: number,
): { upserts: FlatEntries; removals: FlatRemovals; next: State } {
  const r = rng(seed);
  const next = new Map(s);
  const up = new Map<string, number>();
  const counters = s.size / KEYS.length + 10;
  for (let i = 0; i < changes; i++) {
    const c = Math.floor(r() * counters);
    const e = id(c % 2 ? "odd" : "even", `c${c}`, KEYS[Math.floor(r() * KEYS.length)]!);
    const v = Math.floor(r() * 1e9);
    up.set(e, v);
    next.set(e, v);
  }
  const rm = new Set<string>();
  const live = [...next.keys()].filter((e) => !up.has(e));
  for (let i = 0; i < removals && live.length > 0; i++) {
    const e = live.splice(Math.floor(r() * live.length), 1)[0]!;
    rm.add(e);
    next.delete(e);
  }
  return { upserts: flatOf(up), removals: [...rm].flatMap((e) => split(e).slice(0, 3)), next };
}

export function flatOf(s: State): FlatEntries {
  return [...s].flatMap(([e, v]) => [...split(e).slice(0, 3), v]);
}

/** `s` without the entries whose key is `key`. */
export function without(s: State, key: number): State {
  return new Map([...s].filter(([e]) => Number(e.split("\u0000")[2]) !== key));
}

function split(e: string): [string, string, number] {
  const [ns, name, key] = e.split("\u0000");
  return [ns!, name!, Number(key)];
}

/** Reads the shard's checkpoint through `read`, applying slices in order; checks slice sizes. */
export async function readState(cp: Checkpoints, shard: number): Promise<{ info?: ChainInfo; state: State }> {
  const state: State = new Map();
  const info = await cp.read(
    shard,
    (flat) => {
      if (flat.length / 4 > 8192) throw new Error(`slice of ${flat.length / 4} entries`);
      for (let i = 0; i < flat.length; i += 4)
        state.set(id(flat[i] as string, flat[i + 1] as string, flat[i + 2] as number), flat[i + 3] as number);
    },
    (flat) => {
      for (let i = 0; i < flat.length; i += 3)
        state.delete(id(flat[i] as string, flat[i + 1] as string, flat[i + 2] as number));
    },
  );
  return { ...(info ? { info } : {}), state };
}

/** What the checkpoint object store holds: live objects (name → nuid) and every nuid that has chunks. */
export async function storeContents(
  nc: NatsConnection,
): Promise<{ objects: Map<string, string>; chunkNuids: Set<string>; orphans: string[] }> {
  const jsm = await jetstreamManager(nc);
  const stream = `OBJ_${CHECKPOINTS_BUCKET}`;
  const subjects = async (filter: string) =>
    Object.keys((await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {});
  const objects = new Map<string, string>();
  for (const subject of await subjects(`$O.${CHECKPOINTS_BUCKET}.M.>`)) {
    const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    const o = m!.json<{ name: string; nuid: string; deleted?: boolean }>();
    if (!o.deleted) objects.set(o.name, o.nuid);
  }
  const prefix = `$O.${CHECKPOINTS_BUCKET}.C.`;
  const chunkNuids = new Set((await subjects(`${prefix}>`)).map((s) => s.slice(prefix.length)));
  const named = new Set(objects.values());
  return { objects, chunkNuids, orphans: [...chunkNuids].filter((n) => !named.has(n)) };
}

/** The part names the shard's manifest lists, and its revision, read from the KV bucket directly. */
export async function manifestOf(
  nc: NatsConnection,
  shard: number,
): Promise<{ revision: number; seq: number; parts: string[] } | undefined> {
  const kv = await new Kvm(nc).open(CHECKPOINT_HEADS_BUCKET);
  const e = await kv.get(`shard-${shard}`);
  if (!e || e.operation !== "PUT") return undefined;
  const m = e.json<{ seq: number; parts: { name: string }[] }>();
  return { revision: e.revision, seq: m.seq, parts: m.parts.map((p) => p.name) };
}

/** Object names of one shard (its parts and its version 1 object). */
export function shardObjects(objects: Map<string, string>, shard: number): string[] {
  return [...objects.keys()].filter((n) => n === `shard-${shard}` || n.startsWith(`shard-${shard}/`)).sort();
}

/**
 * How `got` differs from `want` (up to 5 entries named), or undefined when they hold
 * exactly the same entries. Cheaper than a deep-equal of tens of thousands of entries.
 */
export function stateDiff(got: State, want: State): string | undefined {
  const diffs: string[] = [];
  const show = (e: string) => e.split("\u0000").join("/");
  for (const [e, v] of want) if (got.get(e) !== v) diffs.push(`${show(e)}: got ${got.get(e)}, want ${v}`);
  for (const e of got.keys()) if (!want.has(e)) diffs.push(`${show(e)}: got ${got.get(e)}, want none`);
  return diffs.length === 0 ? undefined : `${diffs.length} entries differ, e.g. ${diffs.slice(0, 5).join("; ")}`;
}
