import { headers, type Msg } from "@nats-io/transport-node";
import { RequestError, TallyError, isRetryableCode, serviceStatus } from "@tally/core";

const enc = new TextEncoder();

/** A text made safe for a NATS header value: no line breaks, at most 1024 characters. */
export function headerValue(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, 1024);
}

/** Replies with a JSON body. */
export function respondJson(msg: Msg, body: unknown): void {
  if (msg.reply) msg.respond(enc.encode(JSON.stringify(body)));
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
