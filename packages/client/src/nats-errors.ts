import { errors, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiError } from "@nats-io/jetstream";
import { ErrorCode } from "@tally/core";
import { ClientError, ClientErrorCode } from "./errors.js";

/**
 * Telling NATS failures apart: which end a call for good (a closed connection), which may
 * pass (a timeout, no responders while a server restarts), and which are JetStream saying no.
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
  if (err instanceof errors.NoRespondersError) return true;
  // A JetStream publish that nothing captured surfaces as JetStreamNotEnabled (a 503 status).
  return err instanceof Error && (err.name === "JetStreamNotEnabled" || err.cause instanceof errors.NoRespondersError);
}

export function isTimeout(err: unknown): boolean {
  return err instanceof errors.TimeoutError || (err instanceof Error && err.cause instanceof errors.TimeoutError);
}

/**
 * A failed JetStream publish as a {@link ClientError} that says whether sending it again
 * (with the same message id) may succeed: timeouts, no responders (a server restarting
 * has no stream for a moment; a missing mapping never has one), a lost connection and
 * JetStream's own "unavailable" (HTTP-like 503) are retryable; anything else JetStream
 * answers is a refusal.
 */
export function publishFailure(subject: string, err: unknown, timeoutMs: number): ClientError {
  if (err instanceof ClientError) return err;
  if (isNoResponders(err)) {
    return new ClientError(
      ClientErrorCode.NO_STREAM,
      `no stream stored ${subject}: is the Tally mapping in the NATS server config and has \`tally init\` run?`,
      { cause: err, retryable: true },
    );
  }
  if (isTimeout(err)) {
    return new ClientError(ErrorCode.TIMEOUT, `no JetStream ack for ${subject} within ${timeoutMs} ms`, {
      cause: err,
      retryable: true,
    });
  }
  if (err instanceof JetStreamApiError) {
    const unavailable = err.status === 503;
    return new ClientError(
      unavailable ? ClientErrorCode.PUBLISH_FAILED : ClientErrorCode.PUBLISH_REJECTED,
      `JetStream ${unavailable ? "is unavailable for" : "refused"} ${subject}: ${err.message} (err_code ${err.code})`,
      { cause: err, retryable: unavailable },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  // nats.js rejects requests pending when the socket drops ("connection disconnected");
  // they may have reached the server, which is why the retry keeps the message id.
  const lost = err instanceof errors.RequestError;
  return new ClientError(ClientErrorCode.PUBLISH_FAILED, `publish on ${subject} failed: ${message}`, {
    cause: err,
    retryable: lost,
  });
}
