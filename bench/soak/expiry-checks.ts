/**
 * Spot checks that retention is in force on the soaked node: a minute bucket older than
 * the minute retention answers `BUCKET_EXPIRED`, a recent one a value.
 */
import type { NatsConnection } from "@nats-io/transport-node";

const MINUTE = 60_000;

/** One point read's outcome: the error code, or `ok`. */
async function pointRead(nc: NatsConnection, ns: string, name: string, period: string, at: number): Promise<string> {
  const m = await nc.request(`count.get.${ns}.${name}`, JSON.stringify({ period, at }), { timeout: 10_000 });
  const r = m.json<{ error?: { code: string } }>();
  return r.error?.code ?? "ok";
}

/**
 * Reads counter `name`'s minute bucket from `keepMinuteMs` + 10 minutes before `nowMs`
 * (must be `BUCKET_EXPIRED`) and from 10 minutes before (must be `ok`).
 */
export async function expiryChecks(nc: NatsConnection, ns: string, name: string, nowMs: number, keepMinuteMs: number) {
  const expired = await pointRead(nc, ns, name, "minute", nowMs - keepMinuteMs - 10 * MINUTE);
  const recent = await pointRead(nc, ns, name, "minute", nowMs - 10 * MINUTE);
  return { oldMinute: expired, recentMinute: recent, ok: expired === "BUCKET_EXPIRED" && recent === "ok" };
}
