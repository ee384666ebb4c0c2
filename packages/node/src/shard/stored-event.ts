import type { JsMsg } from "@nats-io/jetstream";
import {
  EventError,
  decodeEvent,
  isReservedNamespace,
  parseStoredEventSubject,
  shardOf,
  type ShardCounts,
  type StoredKey,
} from "@tally/core";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The subject of a stored message as the server sent it, in bytes. nats.js decodes
 * subjects leniently (an invalid byte becomes U+FFFD), which would count an event
 * published on a subject that is not UTF-8 on another counter; the raw bytes let
 * the node refuse it. Read from nats.js internals (`JsMsg.msg._msg.subject`);
 * undefined if a future version moves them (a unit test watches for that).
 */
export function rawSubject(m: JsMsg): Uint8Array | undefined {
  const raw = (m as unknown as { msg?: { _msg?: { subject?: unknown } } }).msg?._msg?.subject;
  return raw instanceof Uint8Array ? raw : undefined;
}

/** The stored subject printable in a header: invalid UTF-8 bytes shown as `\xHH`. */
export function printableSubject(m: JsMsg): string {
  const raw = rawSubject(m);
  if (subjectIsUtf8(m) || !raw) return m.subject;
  let out = "";
  for (const b of raw) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${hex(b)}`;
  return out;
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, "0");
}

function validUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the stored subject was valid UTF-8. The lenient decoding puts U+FFFD where a
 * byte was invalid, so a subject without one was valid; one with it is checked byte by
 * byte (a real U+FFFD is valid), or refused if the bytes are out of reach.
 */
function subjectIsUtf8(m: JsMsg): boolean {
  if (!m.subject.includes("\uFFFD")) return true;
  const raw = rawSubject(m);
  return raw !== undefined && validUtf8(raw);
}

/** When JetStream stored the message, in epoch ms (the event time when the body has no `ts`). */
export function storedTimeMs(m: JsMsg): number {
  const ns = m.info.timestampNanos as unknown as bigint | number;
  return typeof ns === "bigint" ? Number(ns / 1_000_000n) : Math.floor(ns / 1e6);
}

/**
 * Whether the subject string nats.js decoded tells everything about the stored subject:
 * true unless it holds U+FFFD (then the raw bytes decide whether it was valid UTF-8). A
 * verdict of {@link storedEventKey} on such a message holds for every message with the
 * same subject string, so a caller may remember it by that string.
 */
export function subjectDecodedExactly(m: JsMsg): boolean {
  return !m.subject.includes("\uFFFD");
}

/**
 * The counter a stored event of `shard` is for, or an {@link EventError} saying why it
 * must be dead-lettered: a subject that is not valid UTF-8 or not
 * `tally.ev.<shard>.<ns>.<name>` (`BAD_SUBJECT`), a reserved namespace, or a key that
 * hashes to another shard (`WRONG_SHARD`). Depends on the subject alone (see
 * {@link subjectDecodedExactly}).
 */
export function storedEventKey(m: JsMsg, shard: number, shards: number): StoredKey {
  if (!subjectIsUtf8(m)) {
    throw new EventError("BAD_SUBJECT", `stored subject ${printableSubject(m)} is not valid UTF-8`);
  }
  const key = parseStoredEventSubject(m.subject);
  if (isReservedNamespace(key.ns)) {
    throw new EventError(
      "RESERVED_NAMESPACE",
      `namespace ${key.ns} is reserved (get, top, list and names starting with _)`,
    );
  }
  const owner = shardOf(key.ns, key.name, shards);
  if (key.shard !== shard || owner !== shard) {
    throw new EventError(
      "WRONG_SHARD",
      `${key.ns}.${key.name} belongs to shard ${owner}, not ${key.shard}: publish to count.<ns>.<name>, not tally.ev.*`,
    );
  }
  return key;
}

/**
 * Validates one stored event of `shard` and applies it to `counts`, or throws an
 * {@link EventError} saying why it must be dead-lettered: a subject
 * {@link storedEventKey} refuses, or a bad body ({@link decodeEvent}).
 * All or nothing: a refused event changes no count. Returns the event's namespace.
 */
export function applyStoredEvent(m: JsMsg, shard: number, shards: number, counts: ShardCounts): string {
  const key = storedEventKey(m, shard, shards);
  const ev = decodeEvent(m.data);
  counts.apply(key.ns, key.name, ev.delta, ev.ts ?? storedTimeMs(m));
  return key.ns;
}
