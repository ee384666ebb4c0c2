import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { Logger } from "pino";

/** A running watch of a whole KV bucket. */
export interface BucketWatch {
  /** Stops the watch; idempotent. */
  stop(): void;
}

/**
 * Watches every key of `kv`: `onEntry` gets each current entry (`initial` true),
 * then every change. Resolves once the current entries have all been delivered.
 */
export async function watchBucket(
  kv: KV,
  log: Logger,
  onEntry: (e: KvWatchEntry, initial: boolean) => void,
): Promise<BucketWatch> {
  const empty = (await kv.status()).values === 0;
  const watch = await kv.watch();
  let stopped = false;
  let initial = !empty;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  if (empty) markReady();
  void (async () => {
    try {
      for await (const e of watch) {
        // The last entry of the initial batch has delta 0; later entries are updates.
        const first = initial && !e.isUpdate;
        onEntry(e, first);
        if (initial && (e.isUpdate || e.delta === 0)) {
          initial = false;
          markReady();
        }
      }
    } catch (err) {
      if (!stopped) log.error({ err }, "KV watch failed");
    } finally {
      markReady();
    }
  })();
  await ready;
  return {
    stop() {
      stopped = true;
      watch.stop();
    },
  };
}
