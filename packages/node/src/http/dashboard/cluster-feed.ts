import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClusterStatus } from "../../admin/status.js";
import { errorReply } from "./dashboard-api.js";

/** The cluster map the dashboard draws: `tally status`'s view, plus who drew it and when. */
export interface ClusterView extends ClusterStatus {
  /** Id of the node that serves the page. */
  node: string;
  /** When the view was read (ISO-8601). */
  at: string;
}

/** Options of a {@link ClusterFeed}. */
export interface ClusterFeedOptions {
  /** Id of the node serving the feed. */
  nodeId: string;
  /** Reads the cluster status (members, leases, lag): `clusterStatus` on the node's connection. */
  read: () => Promise<ClusterStatus>;
  /** Pause between two pushes to the open streams. @default 1000 */
  intervalMs?: number;
  /** Longest one read may take before the streams get a `cluster-error` event instead. @default 5000 */
  attemptTimeoutMs?: number;
}

/**
 * The live cluster map as server-sent events (`/api/cluster/events`): while at least
 * one stream is open it reads the cluster status, pushes it to every stream as an
 * `event: cluster` (or `event: cluster-error` with the error reply), waits `intervalMs`
 * and reads again. One read serves every stream. With no stream open no timer runs;
 * `close()` ends every stream and stops the timer.
 */
export class ClusterFeed {
  readonly #opts: Required<ClusterFeedOptions>;
  readonly #streams = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #reading = false;
  #closed = false;

  constructor(opts: ClusterFeedOptions) {
    this.#opts = { intervalMs: 1000, attemptTimeoutMs: 5000, ...opts };
  }

  /** Streams open now. */
  get streams(): number {
    return this.#streams.size;
  }

  /** Whether no read runs and none is due (no timer pending). */
  get idle(): boolean {
    return this.#timer === undefined && !this.#reading;
  }

  /** One view, now (`/api/cluster`); rejects after `attemptTimeoutMs`. */
  async view(): Promise<ClusterView> {
    const status = await within(this.#opts.read(), this.#opts.attemptTimeoutMs);
    return { node: this.#opts.nodeId, at: new Date().toISOString(), ...status };
  }

  /** Serves one event stream until the client leaves or the feed closes. */
  subscribe(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed) {
      res.writeHead(503, { "content-type": "text/plain" }).end("closing\n");
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    res.write("retry: 2000\n\n"); // the browser reconnects after 2 s if the stream drops
    this.#streams.add(res);
    const leave = () => {
      this.#streams.delete(res);
      if (this.#streams.size === 0) this.#stopTimer();
    };
    req.once("close", leave);
    res.once("close", leave);
    if (this.#timer !== undefined) {
      // A read is due later: read now for the newcomer (every stream gets it).
      this.#stopTimer();
      void this.#push();
    } else if (!this.#reading) void this.#push();
  }

  /** Ends every stream; no read starts after this. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#stopTimer();
    for (const res of this.#streams) res.end();
    this.#streams.clear();
  }

  async #push(): Promise<void> {
    if (this.#closed || this.#streams.size === 0) return;
    this.#reading = true;
    let frame: string;
    try {
      const view = await this.view();
      frame = `event: cluster\ndata: ${JSON.stringify(view)}\n\n`;
    } catch (err) {
      frame = `event: cluster-error\ndata: ${JSON.stringify(errorReply(err).body)}\n\n`;
    } finally {
      this.#reading = false;
    }
    if (this.#closed) return;
    for (const res of this.#streams) res.write(frame);
    if (this.#streams.size > 0 && this.#timer === undefined)
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.#push();
      }, this.#opts.intervalMs);
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** `promise`, or a rejection after `ms` (its timer cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the cluster status took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
