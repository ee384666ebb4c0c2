import test from "ava";
import { pino } from "pino";
import { connect } from "@nats-io/transport-node";
import { waitFor } from "@tally/testing";
import { LeaseTable } from "../packages/node/src/cluster/leases.js";
import { tallyCluster } from "./helpers/cluster.js";

const log = pino({ level: "silent" });
const TTL = 1000;

test("leases - CAS ownership, growing epochs, and a holder that stops renewing is fenced before anyone can take over", async (t) => {
  const { url } = await tallyCluster(t, { shards: 4, leaseTtlMs: TTL });
  const conns = await Promise.all([connect({ servers: url }), connect({ servers: url })]);
  for (const c of conns) t.teardown(() => c.close());
  const [a, b] = await Promise.all([
    LeaseTable.open(conns[0], "a", TTL, log, () => undefined),
    LeaseTable.open(conns[1], "b", TTL, log, () => undefined),
  ]);
  t.teardown(() => (a.stop(), b.stop()));

  const la = await a.acquire(0);
  t.truthy(la);
  t.is(await b.acquire(0), undefined, "a held lease cannot be taken");
  t.is(await a.renew(la!), "renewed");
  t.true(la!.valid());
  await waitFor(() => b.holder(0)?.owner === "a", { timeoutMs: 5000, message: "b sees a's lease" });

  // a stops renewing (frozen). b tries all the time; it gets the lease only once
  // the server dropped a's entry, and by then a had already stopped serving.
  let lb: Awaited<ReturnType<LeaseTable["acquire"]>>;
  await waitFor(async () => (lb = await b.acquire(0)), { timeoutMs: 10_000, intervalMs: 20, message: "b takes over" });
  t.false(la!.valid(), "a's lease lapsed before b got it");
  t.true(la!.remainingMs() < 0);
  t.true(lb!.epoch > la!.epoch, "the new owner has a higher epoch");
  t.is(await a.renew(la!), "lost", "a's renewal after the take-over fails");

  // A clean release frees the lease at once.
  await b.release(lb!);
  t.false(lb!.valid());
  const again = await a.acquire(0);
  t.truthy(again);
  t.true(again!.epoch > lb!.epoch);
  // Releasing with a stale revision does not free someone else's lease.
  await b.release(lb!);
  t.is(await b.acquire(0), undefined);
});
