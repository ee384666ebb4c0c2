/**
 * 2. Read latency on the idle node: each Tally read interleaved with one request to the bare
 * echo responder, and one read through `tallyClient().get()`.
 */
import { tallyClient } from "@tally/client";
import { latencyStats } from "../lib/stats.js";
import { hrNow, log, msSince, sleep } from "../lib/time.js";
import { NS, type IngestRun } from "./run.js";

const EMPTY = new Uint8Array(0);

/** R sequential reads of each kind after 500 unmeasured ones; their latency figures. */
export async function measureReads(run: IngestRun) {
  const { nc, keys } = run;
  const { keys: KEYS, reads: READS } = run.params;
  log("reads: latency");
  await sleep(2500); // let the node's periodic snapshot of the ingest finish
  const tallyLat: number[] = [];
  const echoLat: number[] = [];
  const clientLat: number[] = [];
  const client = tallyClient(nc);
  for (let i = -500; i < READS; i++) {
    const k = keys[(i + 500) % KEYS]!;
    let t = hrNow();
    const r = await nc.request(`count.get.${NS}.${k}`, EMPTY, { timeout: 5000 });
    const tl = msSince(t);
    t = hrNow();
    await nc.request(`echo.${k}`, EMPTY, { timeout: 5000 });
    const el = msSince(t);
    t = hrNow();
    await client.get(NS, k);
    const cl = msSince(t);
    if (r.json<{ error?: unknown }>().error) throw new Error(`read ${k} failed: ${r.string()}`);
    if (i >= 0) {
      tallyLat.push(tl);
      echoLat.push(el);
      clientLat.push(cl);
    }
  }
  return { tally: latencyStats(tallyLat), echo: latencyStats(echoLat), client: latencyStats(clientLat) };
}
