import {
  backoffMs,
  ErrorCode,
  isPeriod,
  listSubject,
  sleep,
  topSubject,
  type ListReply,
  type Period,
  type TopReply,
} from "@tally/core";
import { ClientError, ClientErrorCode } from "./errors.js";
import { closedError } from "./nats-errors.js";
import { READ_BACKOFF, requestBody, timeArg, type Requester } from "./reads.js";

/** A top-N read. */
export interface TopQuery {
  /** A time inside the wanted bucket. @default now */
  at?: number | Date | string;
  /** How many counters, 1..1000. @default 10 */
  limit?: number;
  /** The reply reflects every event with stream sequence ≤ minSeq. */
  minSeq?: number;
}

/** One page of names. */
export interface ListPageQuery {
  /** A time inside the wanted bucket. @default now */
  at?: number | Date | string;
  /** Only names starting with this (decoded) prefix. */
  prefix?: string;
  /** Page size, 1..1000. @default 100 */
  limit?: number;
  /** Names after this one (the previous page's `next`). */
  after?: string;
  /** The reply reflects every event with stream sequence ≤ minSeq. */
  minSeq?: number;
}

/**
 * Every name over all pages: a {@link ListPageQuery} whose `after` is where the first page
 * starts (to resume a listing after the last name seen); the pages after it follow `next`.
 */
export type ListQuery = ListPageQuery;

/**
 * `count.top.<ns>.<period>`. A partial reply (some shard did not answer) is returned as
 * it is, `partial: true` and `missingShards` set: the caller decides. Throws at once for
 * a bad `ns` or `period`.
 */
export function top(req: Requester, ns: string, period: Period, query: TopQuery = {}): Promise<TopReply> {
  const subject = topSubject(ns, checkPeriod(period));
  const body = requestBody({
    at: query.at === undefined ? undefined : timeArg(query.at),
    limit: query.limit,
    minSeq: query.minSeq,
  });
  return req.request(subject, body).then((v) => {
    if (!Array.isArray(v.items)) throw badReply(subject, "has no items array");
    return v as unknown as TopReply;
  });
}

/** `count.list.<ns>.<period>`: one page, partial or not, as the node answered it. */
export function listPage(req: Requester, ns: string, period: Period, query: ListPageQuery = {}): Promise<ListReply> {
  const subject = listSubject(ns, checkPeriod(period));
  return req.request(subject, listBody(query)).then((v) => asListReply(subject, v));
}

/**
 * Every name, page after page (page size `limit`). A page that comes back partial is
 * asked again until it is whole or the client's retry deadline passes, then the
 * iteration throws `PARTIAL` (retryable, with `missingShards`): a list is never silently
 * short. Throws at once for a bad `ns` or `period`.
 */
export function list(req: Requester, ns: string, period: Period, query: ListQuery = {}): AsyncIterableIterator<string> {
  const subject = listSubject(ns, checkPeriod(period));
  return names(req, subject, query);
}

async function* names(req: Requester, subject: string, query: ListQuery): AsyncGenerator<string, void, undefined> {
  let after = query.after;
  for (;;) {
    const page = await wholePage(req, subject, { ...query, after });
    for (const name of page.names) {
      // A closed connection ends the iteration at once, even inside a page already received.
      if (req.closing) throw closedError(subject, undefined);
      yield name;
    }
    if (page.next === undefined) return;
    if (page.next === after) throw badReply(subject, `repeats the cursor ${JSON.stringify(after)}`);
    after = page.next;
  }
}

/** One page, asked again while it is partial, until the retry deadline. */
async function wholePage(req: Requester, subject: string, query: ListPageQuery): Promise<ListReply> {
  const deadline = Date.now() + req.settings.retryDeadlineMs;
  const body = listBody(query);
  for (let attempt = 0; ; attempt++) {
    const page = asListReply(subject, await req.request(subject, body, deadline));
    if (page.partial !== true) return page;
    const wait = backoffMs(attempt, READ_BACKOFF);
    if (Date.now() + wait > deadline) {
      const missing = page.missingShards ?? [];
      throw new ClientError(
        ClientErrorCode.PARTIAL,
        `${subject}: shards ${missing.join(", ")} did not answer within ${req.settings.retryDeadlineMs} ms; the list would be short`,
        { retryable: true, missingShards: missing },
      );
    }
    if (req.closing) throw closedError(subject, undefined);
    await sleep(wait);
  }
}

function listBody(query: ListPageQuery): string {
  return requestBody({
    at: query.at === undefined ? undefined : timeArg(query.at),
    prefix: query.prefix,
    limit: query.limit,
    after: query.after,
    minSeq: query.minSeq,
  });
}

function asListReply(subject: string, v: Record<string, unknown>): ListReply {
  if (!Array.isArray(v.names)) throw badReply(subject, "has no names array");
  if (v.next !== undefined && typeof v.next !== "string") throw badReply(subject, "has a next that is not a string");
  return v as unknown as ListReply;
}

function checkPeriod(period: Period): Period {
  if (!isPeriod(period)) {
    throw new ClientError(
      ErrorCode.BAD_REQUEST,
      `period ${JSON.stringify(period)} is not one of all, minute, hour, day, week, month, year`,
    );
  }
  return period;
}

function badReply(subject: string, what: string): ClientError {
  return new ClientError(ClientErrorCode.BAD_REPLY, `the reply to ${subject} ${what}`);
}
