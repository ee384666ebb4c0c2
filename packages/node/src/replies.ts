import { headers, type Msg } from "@nats-io/transport-node";
import { serviceStatus } from "@tally/core";

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
 * Replies with `{"error":{code,message}}` plus the NATS services headers
 * `Nats-Service-Error-Code` (HTTP-like status) and `Nats-Service-Error`.
 */
export function respondError(msg: Msg, code: string, message: string): void {
  if (!msg.reply) return;
  const h = headers();
  h.set("Nats-Service-Error-Code", String(serviceStatus(code)));
  h.set("Nats-Service-Error", headerValue(message));
  msg.respond(enc.encode(JSON.stringify({ error: { code, message } })), { headers: h });
}
