import test, { type ExecutionContext } from "ava";
import { createServer, get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "@tally/testing";
import type { ClusterStatus } from "../src/admin/status.js";
import { ClusterFeed } from "../src/http/dashboard/cluster-feed.js";

/** A status whose stream last sequence counts the reads, so frames say which read they carry. */
function countingRead(fail = false) {
  const calls = { n: 0 };
  const read = () => {
    calls.n++;
    if (fail) return Promise.reject(new Error("no JetStream"));
    return Promise.resolve({ streamLastSeq: calls.n, members: [], shards: [] } as unknown as ClusterStatus);
  };
  return { calls, read };
}

/** Serves the feed on a local port; the server is closed in teardown. */
async function serve(t: ExecutionContext, feed: ClusterFeed): Promise<string> {
  const server = createServer((req, res) => feed.subscribe(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.teardown(() => {
    feed.close();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** One open event stream: its frames so far, whether it ended, and a way to leave. */
function stream(url: string) {
  const frames: { event: string; data: unknown }[] = [];
  let ended = false;
  let res: IncomingMessage | undefined;
  const req = get(url, { agent: false }, (r) => {
    res = r;
    let buf = "";
    r.setEncoding("utf8");
    r.on("data", (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const lines = buf.slice(0, i).split("\n");
        buf = buf.slice(i + 2);
        const event = lines.find((l) => l.startsWith("event: "))?.slice(7);
        const data = lines.find((l) => l.startsWith("data: "))?.slice(6);
        if (event && data) frames.push({ event, data: JSON.parse(data) });
      }
    });
    r.on("end", () => (ended = true));
  });
  req.on("error", () => undefined); // a stream cut by the server's close
  return {
    frames,
    ended: () => ended,
    contentType: () => res?.headers["content-type"],
    status: () => res?.statusCode,
    leave: () => req.destroy(),
  };
}

test("cluster feed - one read per push serves every open stream; close ends them and stops reading", async (t) => {
  const { calls, read } = countingRead();
  const feed = new ClusterFeed({ nodeId: "n1", read, intervalMs: 50 });
  const url = await serve(t, feed);
  const [a, b] = [stream(url), stream(url)];
  await waitFor(() => a.frames.length >= 3 && b.frames.length >= 3, { timeoutMs: 10_000, message: "three pushes" });
  t.is(a.contentType(), "text/event-stream; charset=utf-8");
  const seqs = (s: typeof a) => s.frames.map((f) => (f.data as { streamLastSeq: number }).streamLastSeq);
  // b joined after a: it may have missed a's first push, then both got the same reads.
  const shared = seqs(b).filter((n) => seqs(a).includes(n));
  t.true(shared.length >= 2, `shared pushes: a ${seqs(a)}, b ${seqs(b)}`);
  t.true(a.frames.every((f) => f.event === "cluster" && (f.data as { node: string }).node === "n1"));
  feed.close();
  await waitFor(() => a.ended() && b.ended() && feed.streams === 0 && feed.idle, {
    timeoutMs: 10_000,
    message: "streams ended, feed idle",
  });
  const after = calls.n;
  const late = stream(url);
  await waitFor(() => late.status(), { timeoutMs: 10_000, message: "an answer to a late stream" });
  t.is(late.status(), 503, "a closed feed takes no new stream");
  t.is(feed.streams, 0);
  t.is(calls.n, after, "no read after close");
});

test("cluster feed - the last stream leaving stops the timer", async (t) => {
  const { read } = countingRead();
  const feed = new ClusterFeed({ nodeId: "n1", read, intervalMs: 50 });
  const url = await serve(t, feed);
  const s = stream(url);
  await waitFor(() => s.frames.length >= 2, { timeoutMs: 10_000, message: "two pushes" });
  t.false(feed.idle);
  s.leave();
  await waitFor(() => feed.streams === 0 && feed.idle, {
    timeoutMs: 10_000,
    message: "feed idle after the client left",
  });
  t.pass();
});

test("cluster feed - a failed read is a cluster-error event carrying the error reply", async (t) => {
  const { read } = countingRead(true);
  const feed = new ClusterFeed({ nodeId: "n1", read, intervalMs: 50 });
  const s = stream(await serve(t, feed));
  await waitFor(() => s.frames.length >= 1, { timeoutMs: 10_000, message: "a push" });
  t.deepEqual(s.frames[0], {
    event: "cluster-error",
    data: { error: { code: "UNAVAILABLE", message: "no JetStream", retryable: true } },
  });
});
