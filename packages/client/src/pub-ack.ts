import { ErrorCode } from "@tally/core";
import { ClientError, ClientErrorCode } from "./errors.js";

/**
 * Reading JetStream's answer to a publish: a PubAck (`{"stream","seq","duplicate"}`), an
 * error (`{"error":{"code","err_code","description"}}`), or a no-responders status (an empty
 * message with header status 503: nothing captured the subject). Pure, unit-tested.
 */

/** JetStream's acknowledgement of a stored message. */
export interface PubAck {
  /** The stream that stored it. */
  stream: string;
  /** Its stream sequence (of the original, for a duplicate). */
  seq: number;
  /** True when its `Nats-Msg-Id` was seen within the stream's de-duplication window: not stored again. */
  duplicate: boolean;
}

/** JetStream's error body. */
interface ApiError {
  code?: number;
  err_code?: number;
  description?: string;
}

const decoder = new TextDecoder();

/** A reply that says nothing captured `subject` (nats-server's no-responders status). */
export function noStreamError(subject: string): ClientError {
  return new ClientError(
    ClientErrorCode.NO_STREAM,
    `no stream stored ${subject}: is the Tally mapping in the NATS server config and has \`tally init\` run?`,
    { retryable: true },
  );
}

/** No ack for `subject` within `timeoutMs`: it may or may not have been stored. */
export function ackTimeoutError(subject: string, timeoutMs: number): ClientError {
  return new ClientError(ErrorCode.TIMEOUT, `no JetStream ack for ${subject} within ${timeoutMs} ms`, {
    retryable: true,
  });
}

/**
 * The ack in a reply to a publish on `subject`, given its body and its status code (the
 * `code` of the message's headers, if it has any).
 * @throws {@link ClientError} `NO_STREAM` (retryable) for a no-responders status;
 * `PUBLISH_FAILED` (retryable) for JetStream's 503 "unavailable"; `PUBLISH_REJECTED` for any
 * other JetStream error (a limit, an expected-stream or -sequence mismatch: retrying will
 * not help); `BAD_REPLY` for a reply that is no PubAck.
 */
export function parsePubAck(subject: string, data: Uint8Array, status: number | undefined): PubAck {
  if (data.length === 0 && status === 503) throw noStreamError(subject);
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw badReply(subject, data, status, err);
  }
  if (typeof v !== "object" || v === null) throw badReply(subject, data, status);
  const reply = v as { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: ApiError };
  if (reply.error !== undefined) throw jetStreamError(subject, reply.error);
  if (typeof reply.stream !== "string" || reply.stream === "" || !Number.isSafeInteger(reply.seq)) {
    throw badReply(subject, data, status);
  }
  return { stream: reply.stream, seq: reply.seq as number, duplicate: reply.duplicate === true };
}

/** JetStream's error reply as a {@link ClientError}: 503 (unavailable) may pass, anything else is a refusal. */
function jetStreamError(subject: string, e: ApiError): ClientError {
  const unavailable = e.code === 503;
  return new ClientError(
    unavailable ? ClientErrorCode.PUBLISH_FAILED : ClientErrorCode.PUBLISH_REJECTED,
    `JetStream ${unavailable ? "is unavailable for" : "refused"} ${subject}: ${e.description ?? "no description"} ` +
      `(code ${e.code ?? "?"}, err_code ${e.err_code ?? "?"})`,
    { retryable: unavailable },
  );
}

function badReply(subject: string, data: Uint8Array, status: number | undefined, cause?: unknown): ClientError {
  const text = decoder.decode(data.subarray(0, 200));
  return new ClientError(
    ClientErrorCode.BAD_REPLY,
    `the reply to a publish on ${subject} is no JetStream ack${status === undefined ? "" : ` (status ${status})`}: ${JSON.stringify(text)}`,
    { cause },
  );
}
