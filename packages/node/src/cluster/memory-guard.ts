import { Gauge, type Registry } from "prom-client";
import type { Logger } from "pino";

/**
 * Once over its bound, a node takes shards again only when its memory is back under this
 * fraction of it, so a resident set hovering around the bound does not flip the node
 * in and out of placement (each flip could move shards).
 */
export const MEMORY_RESUME_FRACTION = 0.9;

/** Bytes for a person: `812 MiB`, `1.5 GiB`, `4 KiB`, `1 B` (IEC units, rounded). */
export function formatMemory(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)} MiB`;
  if (bytes >= 2 ** 10) return `${Math.round(bytes / 2 ** 10)} KiB`;
  return `${bytes} B`;
}

/** Whether a node at `usedBytes` refuses new shards, given its bound and whether it refused until now. */
export function refusesShards(usedBytes: number, maxBytes: number, wasRefusing: boolean): boolean {
  return wasRefusing ? usedBytes > maxBytes * MEMORY_RESUME_FRACTION : usedBytes > maxBytes;
}

/** Options of {@link MemoryGuard}. */
export interface MemoryGuardOptions {
  /** The bound, in bytes; undefined: no bound (the guard never refuses). */
  maxBytes: number | undefined;
  /** Sample the memory at this interval, in ms. */
  checkEveryMs: number;
  log: Logger;
  /** Called when the node starts or stops refusing shards (replan, tell the others). */
  onChange: () => void;
  /** The memory in use, in bytes. @default process.memoryUsage.rss: what the OS kills a process for */
  sample?: () => number;
}

/** What `/status` shows of the guard. */
export interface MemoryStatus {
  /** Resident set size at the last sample, in bytes. */
  rssBytes: number;
  /** The bound (`--max-memory`), if any. */
  maxBytes?: number;
  /** Present while the node refuses new shards: why. */
  refusingShards?: string;
}

/**
 * A node's bound on memory: the resident set is sampled every `checkEveryMs`; above the
 * bound the node takes no more shards (see `planShards`' `refusing`) and says so in its
 * heartbeat (`tally status`), in `/status` and in the `tally_refusing_shards` gauge,
 * rather than growing until the OS kills it. It keeps serving what it holds. Below
 * {@link MEMORY_RESUME_FRACTION} of the bound it takes shards again. Each change is
 * logged once. The first sample is taken at construction, so the node's first heartbeat
 * and planning round already know.
 */
export class MemoryGuard {
  readonly #opts: MemoryGuardOptions;
  readonly #sample: () => number;
  #used: number;
  #refusing = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: MemoryGuardOptions) {
    this.#opts = opts;
    this.#sample = opts.sample ?? (() => process.memoryUsage.rss());
    this.#used = this.#sample();
    if (opts.maxBytes !== undefined) this.#refusing = refusesShards(this.#used, opts.maxBytes, false);
    if (this.#refusing) this.#logChange();
  }

  /** Starts sampling (a no-op without a bound). */
  start(): void {
    if (this.#opts.maxBytes === undefined || this.#timer) return;
    this.#timer = setInterval(() => this.check(), this.#opts.checkEveryMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Samples the memory now; calls `onChange` (and logs) when the verdict changes. Returns whether it did. */
  check(): boolean {
    this.#used = this.#sample();
    const max = this.#opts.maxBytes;
    if (max === undefined) return false;
    const refusing = refusesShards(this.#used, max, this.#refusing);
    if (refusing === this.#refusing) return false;
    this.#refusing = refusing;
    this.#logChange();
    this.#opts.onChange();
    return true;
  }

  /** True while the node takes no new shards. */
  get refusing(): boolean {
    return this.#refusing;
  }

  /** Why the node refuses new shards (e.g. `resident memory 812 MiB is over --max-memory 800 MiB`), or undefined. */
  get reason(): string | undefined {
    if (!this.#refusing || this.#opts.maxBytes === undefined) return undefined;
    return `resident memory ${formatMemory(this.#used)} is over --max-memory ${formatMemory(this.#opts.maxBytes)}`;
  }

  /** The fields the member heartbeat carries: `refusingShards` while refusing. */
  describe(): { refusingShards?: string } {
    const reason = this.reason;
    return reason === undefined ? {} : { refusingShards: reason };
  }

  /** For `/status`. */
  status(): MemoryStatus {
    const reason = this.reason;
    return {
      rssBytes: this.#used,
      ...(this.#opts.maxBytes !== undefined ? { maxBytes: this.#opts.maxBytes } : {}),
      ...(reason !== undefined ? { refusingShards: reason } : {}),
    };
  }

  /** Registers `tally_refusing_shards` (0/1) and, with a bound, `tally_memory_limit_bytes` on `registry`. */
  register(registry: Registry): void {
    const refusing = () => this.#refusing;
    new Gauge({
      name: "tally_refusing_shards",
      help: "1 while this node takes no new shards because its resident memory is over --max-memory, else 0",
      registers: [registry],
      collect() {
        this.set(refusing() ? 1 : 0); // read at scrape time
      },
    });
    if (this.#opts.maxBytes !== undefined) {
      new Gauge({
        name: "tally_memory_limit_bytes",
        help: "This node's bound on its resident memory (--max-memory), in bytes",
        registers: [registry],
      }).set(this.#opts.maxBytes);
    }
  }

  #logChange(): void {
    const fields = { rssBytes: this.#used, maxBytes: this.#opts.maxBytes };
    if (this.#refusing) {
      this.#opts.log.warn(fields, `${this.reason ?? "memory over its bound"}: taking no more shards`);
    } else {
      this.#opts.log.info(
        fields,
        `resident memory ${formatMemory(this.#used)} is back under ${MEMORY_RESUME_FRACTION * 100}% of --max-memory: taking shards again`,
      );
    }
  }
}

/**
 * The live members that refuse new shards: this node by its own guard (fresher than
 * its echoed heartbeat), the others by what their last heartbeat said.
 */
export function refusingMembers(
  live: readonly string[],
  self: string,
  guard: MemoryGuard,
  infoOf: (id: string) => { refusingShards?: string } | undefined,
): string[] {
  return live.filter((id) => (id === self ? guard.refusing : infoOf(id)?.refusingShards !== undefined));
}
