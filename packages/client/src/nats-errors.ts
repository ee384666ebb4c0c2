import { errors, type NatsConnection } from "@nats-io/transport-node";
import { ClientError, ClientErrorCode } from "./errors.js";

/**
 * Telling NATS failures apart: which end a call for good (a closed connection), which may
 * pass (a timeout, no responders while a server restarts).
 */

/** A draining connection refuses new requests and then closes: as final as closed. */
export function isClosing(nc: NatsConnection): boolean {
  return nc.isClosed() || nc.isDraining();
}

export function isClosedError(err: unknown): boolean {
  const closed = (e: unknown) =>
    e instanceof errors.ClosedConnectionError || e instanceof errors.DrainingConnectionError;
  return closed(err) || (err instanceof Error && closed(err.cause));
}

/** The final error of any call on a closed or draining connection. */
export function closedError(subject: string, cause: unknown, detail = ""): ClientError {
  return new ClientError(
    ClientErrorCode.CONNECTION_CLOSED,
    `the NATS connection is closed (${subject})${detail}; not retried`,
    { cause },
  );
}

export function isNoResponders(err: unknown): boolean {
  return (
    err instanceof errors.NoRespondersError || (err instanceof Error && err.cause instanceof errors.NoRespondersError)
  );
}

/**
 * What `nc.publish` threw (it refuses before sending: a bad subject, a payload over the
 * server's max_payload) as a final {@link ClientError}; a `ClientError` stays as it is.
 * JetStream's own answers are read by `parsePubAck`, closed connections by {@link closedError}.
 */
export function publishFailure(subject: string, err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ClientError(ClientErrorCode.PUBLISH_FAILED, `publish on ${subject} failed: ${message}`, { cause: err });
}
