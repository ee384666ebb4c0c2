import { headers, type Msg } from "@nats-io/transport-node";
import { RequestError, TallyError, isRetryableCode, serviceStatus } from "@tally/core";

const enc = new TextEncoder();

/** A text made safe for a NATS header value: no line breaks, at most 1024 characters. */
export function headerValue(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, 1024);
}

/** Fields merged into a JSON reply and headers set on it (e.g. a shard's log gap mark). */
export interface ReplyAnnotation {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

/** Replies with a JSON body, with `annotation`'s fields merged in and its headers set. */
export function respondJson(msg: Msg, body: object, annotation?: ReplyAnnotation): void {
  if (!msg.reply) return;
  if (!annotation) {
    msg.respond(enc.encode(JSON.stringify(body)));
    return;
  }
  const h = headers();
  for (const [k, v] of Object.entries(annotation.headers)) h.set(k, headerValue(v));
  msg.respond(enc.encode(JSON.stringify({ ...body, ...annotation.fields })), { headers: h });
}

/**
 * Replies with `{"error":{code,message,retryable}}` plus the NATS services headers
 * `Nats-Service-Error-Code` (HTTP-like status) and `Nats-Service-Error`. Anything
 * that is not a {@link TallyError} is an `INTERNAL` error.
 */
export function respondError(msg: Msg, err: unknown): void {
  if (!msg.reply) return;
  const code = err instanceof TallyError ? err.code : "INTERNAL";
  const message = err instanceof Error ? err.message : String(err);
  const retryable = err instanceof RequestError ? err.retryable : isRetryableCode(code);
  const h = headers();
  h.set("Nats-Service-Error-Code", String(serviceStatus(code)));
  h.set("Nats-Service-Error", headerValue(message));
  msg.respond(enc.encode(JSON.stringify({ error: { code, message, retryable } })), { headers: h });
}
