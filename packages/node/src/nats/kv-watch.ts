import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { Logger } from "pino";
import { backoffMs, sleep } from "@tally/core";

/** A running watch of a whole KV bucket. */
export interface BucketWatch {
  /** Stops the watch; idempotent. */
  stop(): void;
}

/** Callbacks of {@link watchBucket}. */
export interface WatchHandlers {
  /** Each current entry (`initial` true), then every change. */
  onEntry(e: KvWatchEntry, initial: boolean): void;
  /** The watch restarts (after its server was lost): forget what was seen; the current entries follow. */
  onRestart(): void;
}

/**
 * Watches every key of `kv`. Resolves once the current entries have all been
 * delivered. If the watch ends on its own (its consumer could not be recreated
 * while a server was down), it is started again, so a node never stops seeing
 * changes.
 */
export async function watchBucket(kv: KV, log: Logger, handlers: WatchHandlers): Promise<BucketWatch> {
  let stopped = false;
  let current: { stop(): void } | undefined;
  const run = async (first: boolean): Promise<void> => {
    const empty = (await kv.status()).values === 0;
    const watch = await kv.watch();
    current = watch;
    if (!first) handlers.onRestart();
    let initial = !empty;
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    if (empty) markReady();
    void (async () => {
      try {
        for await (const e of watch) {
          handlers.onEntry(e, initial && !e.isUpdate);
          // The last entry of the initial batch has delta 0; later entries are updates.
          if (initial && (e.isUpdate || e.delta === 0)) {
            initial = false;
            markReady();
          }
        }
      } catch (err) {
        if (!stopped) log.warn({ err }, "KV watch failed");
      } finally {
        markReady();
        if (!stopped) void restart();
      }
    })();
    await ready;
  };
  const restart = async (): Promise<void> => {
    for (let attempt = 0; !stopped; attempt++) {
      await sleep(backoffMs(attempt, { maxMs: 2000 }));
      if (stopped) return;
      try {
        await run(false);
        log.info("KV watch restarted");
        return;
      } catch (err) {
        log.warn({ err, attempt }, "restarting the KV watch failed; retrying");
      }
    }
  };
  await run(true);
  return {
    stop() {
      stopped = true;
      current?.stop();
    },
  };
}
