import { yieldToEventLoop } from "./checkpoint-frames.js";
import {
  ENTRIES_PER_FRAME,
  REMOVAL_WIDTH,
  UPSERT_WIDTH,
  type FlatEntries,
  type FlatRemovals,
} from "./checkpoint-parts.js";

/** One counter's entries: key (0 = all-time, else a bucket key) → value. */
interface Counter {
  ns: string;
  name: string;
  keys: Map<number, number>;
}

/**
 * A chain's state replayed in memory, for compaction: upserts overwrite, removals
 * delete, and the result comes out flat again without the entries `drop` rejects.
 */
export class EntryMap {
  readonly #counters = new Map<string, Counter>();
  #size = 0;

  /** Number of entries held. */
  get size(): number {
    return this.#size;
  }

  upsert(flat: FlatEntries): void {
    for (let i = 0; i < flat.length; i += UPSERT_WIDTH) {
      const keys = this.#keys(flat[i] as string, flat[i + 1] as string, true)!;
      const key = flat[i + 2] as number;
      if (!keys.has(key)) this.#size++;
      keys.set(key, flat[i + 3] as number);
    }
  }

  remove(flat: FlatRemovals): void {
    for (let i = 0; i < flat.length; i += REMOVAL_WIDTH) {
      const ns = flat[i] as string;
      const name = flat[i + 1] as string;
      const keys = this.#keys(ns, name, false);
      if (keys?.delete(flat[i + 2] as number)) {
        this.#size--;
        if (keys.size === 0) this.#counters.delete(counterId(ns, name));
      }
    }
  }

  /** Every entry `drop` does not reject, flat, yielding to the event loop between slices. */
  async toFlat(drop?: (key: number) => boolean): Promise<FlatEntries> {
    const out: FlatEntries = [];
    let sinceYield = 0;
    for (const c of this.#counters.values()) {
      for (const [key, value] of c.keys) {
        if (drop?.(key)) continue;
        out.push(c.ns, c.name, key, value);
      }
      sinceYield += c.keys.size;
      if (sinceYield >= ENTRIES_PER_FRAME) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
    return out;
  }

  #keys(ns: string, name: string, create: boolean): Map<number, number> | undefined {
    const id = counterId(ns, name);
    let c = this.#counters.get(id);
    if (!c && create) {
      c = { ns, name, keys: new Map() };
      this.#counters.set(id, c);
    }
    return c?.keys;
  }
}

/** Namespaces and names never hold NUL (subject tokens cannot), so it separates them unambiguously. */
function counterId(ns: string, name: string): string {
  return `${ns}\u0000${name}`;
}
