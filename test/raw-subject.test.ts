import test from "ava";
import { Socket } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { tallyClient } from "@tally/client";
import { listDeadLetters } from "@tally/node";
import { waitFor } from "@tally/testing";
import { inProcessNode, tallyServer } from "./helpers/cluster.js";

/**
 * Publishes raw protocol bytes (the subject may be any bytes, as an adversarial client
 * could send) with a reply inbox, and resolves with the JetStream ack's sequence.
 */
async function rawPublish(url: string, subject: Uint8Array, body = new Uint8Array(0)): Promise<number> {
  const { hostname, port } = new URL(url);
  const socket = new Socket();
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(Number(port), hostname, resolve);
    });
    let got = "";
    const ack = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no JetStream ack within 10 s; server said: ${got}`)), 10_000);
      socket.on("data", (b: Buffer) => {
        got += b.toString("latin1");
        const m = /"seq":(\d+)/.exec(got);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
        if (got.includes("-ERR")) {
          clearTimeout(timer);
          reject(new Error(`server refused: ${got}`));
        }
      });
      socket.once("close", () => reject(new Error(`connection closed before the ack; server said: ${got}`)));
    });
    const line = (s: string) => Buffer.from(s, "latin1");
    socket.write(
      Buffer.concat([
        line('CONNECT {"headers":true,"verbose":false,"pedantic":false}\r\nSUB _INBOX.raw 1\r\nPUB '),
        Buffer.from(subject),
        line(` _INBOX.raw ${body.length}\r\n`),
        Buffer.from(body),
        line("\r\n"),
      ]),
    );
    return await ack;
  } finally {
    socket.destroy();
  }
}

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "latin1")] : p)));

test("raw subject - a subject that is not UTF-8 is dead-lettered as BAD_SUBJECT with the stored subject, and no counter moves", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const client = tallyClient(nc);
  const js = jetstream(nc);
  // A valid event on the counter a lenient decoding would hit, so a wrong count would show.
  const valid = await js.publish("count.rt.u3\uFFFD", "");
  const seqs = [
    await rawPublish(server.url, bytes("count.rt.u3", [0xff])), // decodes to u3\uFFFD: same shard
    await rawPublish(server.url, bytes("count.rt.x", [0xff, 0xfe])), // decodes differently: another shard
  ];
  const last = Math.max(valid.seq, ...seqs);
  const dead = await waitFor(
    async () => {
      const list = await listDeadLetters(nc);
      return seqs.every((s) => list.some((d) => d.seq === s)) ? list : undefined;
    },
    { timeoutMs: 20_000, message: "both raw events dead-lettered" },
  );
  for (const s of seqs) {
    const d = dead.find((x) => x.seq === s)!;
    t.is(d.code, "BAD_SUBJECT", `seq ${s}: ${d.reason}`);
    t.regex(d.subject, /^tally\.ev\.\d+\.rt\.(u3\\xFF|x\\xFF\\xFE)$/, "the record carries the stored subject bytes");
  }
  t.false(
    dead.some((d) => d.code === "WRONG_SHARD"),
    "no invalid subject is mistaken for a wrong shard",
  );
  // Only the valid event counted on the counter the invalid bytes decode to.
  t.is((await client.get("rt", "u3\uFFFD", { minSeq: last })).value, 1);
  t.is((await client.get("rt", "x\uFFFD\uFFFD", { minSeq: last })).value, 0);
});

test("raw subject - a JSON delta that is not an integer literal is dead-lettered as BAD_DELTA, not rounded", async (t) => {
  const { server, nc } = await tallyServer(t);
  await inProcessNode(t, server.url);
  const js = jetstream(nc);
  const enc = new TextEncoder();
  const good = await js.publish("count.rt.d", enc.encode('{"delta":2}'));
  const bad = await js.publish("count.rt.d", enc.encode('{"delta":1.0000000000000001}'));
  const dead = await waitFor(async () => (await listDeadLetters(nc)).find((d) => d.seq === bad.seq), {
    timeoutMs: 20_000,
    message: "the rounded-delta event dead-lettered",
  });
  t.is(dead.code, "BAD_DELTA", dead.reason);
  t.is((await tallyClient(nc).get("rt", "d", { minSeq: Math.max(good.seq, bad.seq) })).value, 2);
});
