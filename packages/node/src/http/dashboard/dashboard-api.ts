import type { ServerResponse } from "node:http";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { tallyClient, ClientErrorCode, type TallyClient } from "@tally/client";
import { bucketIndex, bucketStart, serviceStatus, TallyError } from "@tally/core";
import { listDeadLetters } from "../../admin/dead-letters.js";
import { DLQ_STREAM } from "../../names.js";
import { sendJson, type HttpRoutes } from "../http-endpoint.js";
import { bucketPeriodParam, intParam, nameParam, nsParam, periodParam, timeParam } from "./query-params.js";

/** Defaults and bounds of the dashboard's read endpoints. */
export const DASHBOARD_API_DEFAULTS = {
  /** `/api/top`: counters shown (`limit`, 1..1000 like `count.top`). */
  topLimit: 10,
  /** `/api/series`: buckets ending with the one holding `to` (`points`). */
  seriesPoints: 30,
  /** `/api/dead-letters`: the most recent records shown (`limit`, 1..{@link maxDeadLetters}). */
  deadLetters: 20,
  maxDeadLetters: 200,
  /** A dashboard read gives up after this long (per request and retries), so a page never hangs. */
  readTimeoutMs: 5000,
} as const;

/** What the read endpoints read from. */
export interface DashboardApiSources {
  nc: NatsConnection;
  /** Most buckets one series may span (the node's `maxSeriesPoints`). */
  maxSeriesPoints: number;
}

/** One dead letter as `/api/dead-letters` shows it (the body as text, cut at 200 characters). */
export interface DeadLetterView {
  dlqSeq: number;
  seq: number;
  time: string;
  subject: string;
  code: string;
  reason: string;
  /** The node that wrote the record (`Tally-Node`), `""` when it carries none. */
  node: string;
  body: string;
}

/**
 * `/api/top`, `/api/series` and `/api/dead-letters`: the public reads
 * (`count.top.<ns>.<period>`, `count.get.<ns>.<name>`) sent on the node's own
 * connection, their replies passed on in the wire contract's JSON; the dead-letter
 * stream read newest first. Errors answer `{"error":{"code","message","retryable"}}`
 * with an HTTP status from the code (400 for a bad parameter).
 */
export function dashboardApiRoutes(src: DashboardApiSources): HttpRoutes {
  const client: TallyClient = tallyClient(src.nc, {
    requestTimeoutMs: DASHBOARD_API_DEFAULTS.readTimeoutMs,
    retryDeadlineMs: DASHBOARD_API_DEFAULTS.readTimeoutMs,
  });
  return {
    /** `?ns=web&period=day&at=…&limit=10` → the `count.top` reply. */
    "/api/top": (_req, res, url) =>
      answer(res, async () => {
        const q = url.searchParams;
        const ns = nsParam(q);
        const period = periodParam(q, "all");
        const at = timeParam(q, "at");
        const limit = intParam(q, "limit", 1, 1000, DASHBOARD_API_DEFAULTS.topLimit);
        return client.top(ns, period, { limit, ...(at !== undefined ? { at } : {}) });
      }),
    /**
     * `?ns=web&name=home&period=day&to=…&points=30` → the `count.get` series reply for the
     * `points` buckets ending with the one holding `to` (default now).
     */
    "/api/series": (_req, res, url) =>
      answer(res, async () => {
        const q = url.searchParams;
        const ns = nsParam(q);
        const name = nameParam(q);
        const period = bucketPeriodParam(q, "day");
        const to = timeParam(q, "to") ?? Date.now();
        const points = intParam(q, "points", 1, src.maxSeriesPoints, DASHBOARD_API_DEFAULTS.seriesPoints);
        const from = bucketStart(period, bucketIndex(period, to) - points + 1);
        return client.series(ns, name, { period, from, to });
      }),
    /** `?limit=20` → `{ total, items }`: the most recent dead letters, newest first. */
    "/api/dead-letters": (_req, res, url) =>
      answer(res, async () => {
        const limit = intParam(
          url.searchParams,
          "limit",
          1,
          DASHBOARD_API_DEFAULTS.maxDeadLetters,
          DASHBOARD_API_DEFAULTS.deadLetters,
        );
        return recentDeadLetters(src.nc, limit);
      }),
  };
}

/** The `limit` most recent dead letters, newest first, and how many the stream holds. */
export async function recentDeadLetters(
  nc: NatsConnection,
  limit: number,
): Promise<{ total: number; items: DeadLetterView[] }> {
  const info = await (await jetstreamManager(nc)).streams.info(DLQ_STREAM);
  const total = info.state.messages;
  if (total === 0) return { total, items: [] };
  const fromSeq = Math.max(info.state.first_seq, info.state.last_seq - limit + 1);
  const list = await listDeadLetters(nc, { fromSeq, limit });
  const dec = new TextDecoder();
  const items = list.reverse().map((d) => {
    const body = dec.decode(d.body);
    return {
      dlqSeq: d.dlqSeq,
      seq: d.seq,
      time: d.time,
      subject: d.subject,
      code: d.code,
      reason: d.reason,
      node: d.node,
      body: body.length > 200 ? `${body.slice(0, 200)}…` : body,
    };
  });
  return { total, items };
}

/** Runs `read` and answers its result as JSON, or its error with a status from its code. */
export async function answer(res: ServerResponse, read: () => Promise<unknown>): Promise<void> {
  try {
    sendJson(res, 200, await read());
  } catch (err) {
    const { status, body } = errorReply(err);
    sendJson(res, status, body);
  }
}

/** The HTTP status and `{"error": …}` body of an error (the read subjects' error shape). */
export function errorReply(err: unknown): { status: number; body: unknown } {
  if (!(err instanceof TallyError)) {
    const message = err instanceof Error ? err.message : String(err);
    return { status: 503, body: { error: { code: "UNAVAILABLE", message, retryable: true } } };
  }
  const retryable = "retryable" in err && typeof err.retryable === "boolean" ? err.retryable : false;
  const status =
    err.code === ClientErrorCode.NO_RESPONDERS ||
    err.code === ClientErrorCode.CONNECTION_CLOSED ||
    err.code === ClientErrorCode.PARTIAL
      ? 503
      : err.code === ClientErrorCode.BAD_REPLY
        ? 502
        : serviceStatus(err.code);
  return { status, body: { error: { code: err.code, message: err.message, retryable } } };
}
