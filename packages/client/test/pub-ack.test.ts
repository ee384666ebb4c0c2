import test from "ava";
import { ClientError } from "../src/errors.js";
import { parsePubAck } from "../src/pub-ack.js";

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const SUBJECT = "count.web.home";

test("pub-ack - a PubAck: stream, seq, duplicate (false when absent)", (t) => {
  t.deepEqual(parsePubAck(SUBJECT, enc({ stream: "TALLY", seq: 42 }), undefined), {
    stream: "TALLY",
    seq: 42,
    duplicate: false,
  });
  t.deepEqual(parsePubAck(SUBJECT, enc({ stream: "TALLY", seq: 7, duplicate: true, domain: "x" }), undefined), {
    stream: "TALLY",
    seq: 7,
    duplicate: true,
  });
});

test("pub-ack - an empty reply with status 503 is no responders: NO_STREAM, retryable", (t) => {
  const err = t.throws(() => parsePubAck(SUBJECT, new Uint8Array(0), 503), { instanceOf: ClientError });
  t.is(err?.code, "NO_STREAM");
  t.true(err?.retryable);
  t.regex(err?.message ?? "", /count\.web\.home/);
});

test("pub-ack - JetStream's error reply: 503 retryable PUBLISH_FAILED, any other code a final PUBLISH_REJECTED", (t) => {
  const unavailable = t.throws(
    () =>
      parsePubAck(
        SUBJECT,
        enc({ error: { code: 503, err_code: 10008, description: "JetStream system temporarily unavailable" } }),
        undefined,
      ),
    { instanceOf: ClientError },
  );
  t.is(unavailable?.code, "PUBLISH_FAILED");
  t.true(unavailable?.retryable);
  const refused = t.throws(
    () =>
      parsePubAck(
        SUBJECT,
        enc({ error: { code: 400, err_code: 10060, description: "expected stream does not match" } }),
        undefined,
      ),
    { instanceOf: ClientError },
  );
  t.is(refused?.code, "PUBLISH_REJECTED");
  t.false(refused?.retryable);
  t.regex(refused?.message ?? "", /expected stream does not match.*err_code 10060/);
});

test("pub-ack - anything else is BAD_REPLY, final", (t) => {
  for (const [data, status] of [
    [enc("not json"), undefined],
    [enc("null"), undefined],
    [enc(17), undefined],
    [enc({ stream: "", seq: 1 }), undefined],
    [enc({ stream: "TALLY" }), undefined],
    [enc({ stream: "TALLY", seq: 1.5 }), undefined],
    [new Uint8Array(0), undefined],
    [new Uint8Array(0), 408],
  ] as const) {
    const err = t.throws(() => parsePubAck(SUBJECT, data, status), { instanceOf: ClientError });
    t.is(err?.code, "BAD_REPLY");
    t.false(err?.retryable);
  }
});
