import type { ConsumerMessages } from "@nats-io/jetstream";

/**
 * Stops `messages` once its server-side consumer has missed two heartbeats in a
 * row. nats.js then only re-pulls, which never helps when the consumer lived on a
 * server that is gone while this connection stayed up; stopping ends the caller's
 * loop, which opens a fresh consumer (placed on a live server).
 */
export function stopOnMissedHeartbeats(messages: ConsumerMessages, onStall: (count: number) => void): void {
  void (async () => {
    for await (const s of messages.status()) {
      if (s.type === "heartbeats_missed" && s.count >= 2) {
        onStall(s.count);
        messages.stop();
        return;
      }
    }
  })().catch(() => undefined);
}
