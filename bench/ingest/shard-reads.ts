/** `minSeq` reads of one key per shard: when has every shard applied up to a sequence? */
import type { NatsConnection } from "@nats-io/transport-node";
import { expectedValue } from "../lib/keys.js";
import { hrNow, sleep } from "../lib/time.js";

const enc = new TextEncoder();

class ReadFailed extends Error {}

/**
 * One read, retried until it answers a value: reply-side TIMEOUT / NOT_READY (the node's own
 * wait for `minSeq` ran out) and transport errors (no responders, request timeout) retry at once.
 */
async function readUntil(nc: NatsConnection, subject: string, body: Uint8Array, deadline: number) {
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const m = await nc.request(subject, body, { timeout: 10_000 });
      const r = m.json<{ value?: number; error?: { code: string; message: string } }>();
      if (!r.error) return { value: r.value ?? NaN, attempts, at: hrNow() };
      if (r.error.code !== "TIMEOUT" && r.error.code !== "NOT_READY")
        throw new ReadFailed(`${subject}: ${r.error.code} ${r.error.message}`);
    } catch (err) {
      if (err instanceof ReadFailed) throw err;
      await sleep(5);
    }
    if (Date.now() > deadline) throw new Error(`${subject}: no answer before the deadline after ${attempts} attempts`);
  }
}

/**
 * Waits until every shard answers a read of its probe key `k<i>` in `ns` with `minSeq`; the
 * instant ({@link hrNow}) the last one answered. Each answer must already hold every event of
 * its key after `n` events round-robin over `keys` counters (guarantee 2), or it is counted wrong.
 */
export async function allShardsAt(
  nc: NatsConnection,
  ns: string,
  probeKeys: string[],
  keys: number,
  minSeq: number,
  n: number,
) {
  const body = enc.encode(JSON.stringify({ minSeq }));
  const deadline = Date.now() + 170_000;
  const rs = await Promise.all(probeKeys.map((k) => readUntil(nc, `count.get.${ns}.${k}`, body, deadline)));
  let last = rs[0]!.at;
  for (const r of rs) if (r.at > last) last = r.at;
  const wrong = probeKeys.filter((k, i) => rs[i]!.value !== expectedValue(Number(k.slice(1)), n, keys));
  return { at: last, attempts: rs.reduce((a, r) => a + r.attempts, 0), minSeqReadsWrong: wrong.length };
}
