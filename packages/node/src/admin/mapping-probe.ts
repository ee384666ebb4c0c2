import type { NatsConnection } from "@nats-io/transport-node";
import { headers, createInbox } from "@nats-io/transport-node";
import { MAX_SHARDS, shardOf } from "@tally/core";
import { NodeError } from "../errors.js";
import { PROBE_NS } from "../names.js";

/**
 * Checks the server's subject mappings: publishes probe events and reads
 * (namespace {@link PROBE_NS}, never stored: the event probe carries an
 * expected-stream header no stream matches) and compares the shard the server
 * chose with ours. Throws `MAPPING_MISSING` or `MAPPING_MISMATCH` with the fix.
 */
export async function probeMappings(nc: NatsConnection, shards: number, timeoutMs = 2000): Promise<void> {
  const names = Array.from({ length: 12 }, (_, i) => `p${i}_${createInbox().slice(-8)}`);
  const mine = new Set(names);
  const fix = `print the mapping with \`tally nats-config --shards ${shards}\`, include it in the nats-server config and reload the server`;
  for (const kind of ["ev", "rd"] as const) {
    const seen = new Map<string, number>();
    const sub = nc.subscribe(`tally.${kind}.*.${PROBE_NS}.*`);
    const done = (async () => {
      for await (const m of sub) {
        const [, , shard, , name] = m.subject.split(".");
        // Other nodes starting at the same moment probe too: count only our own names.
        if (name !== undefined && mine.has(name)) seen.set(name, Number(shard));
        if (seen.size === names.length) break;
      }
    })();
    await nc.flush();
    const h = headers();
    // No stream is named like this, so JetStream refuses to store the probe event.
    h.set("Nats-Expected-Stream", "_tally_probe_never_stored");
    for (const name of names) {
      nc.publish(kind === "ev" ? `count.${PROBE_NS}.${name}` : `count.get.${PROBE_NS}.${name}`, "", { headers: h });
    }
    await nc.flush();
    const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
    await done;
    clearTimeout(timer);
    sub.unsubscribe();
    const what = kind === "ev" ? "count.*.* (events)" : "count.get.*.* (reads)";
    if (seen.size === 0) {
      throw new NodeError("MAPPING_MISSING", `the NATS server has no Tally mapping for ${what}: ${fix}`);
    }
    const wrong = names.filter((n) => seen.get(n) !== shardOf(PROBE_NS, n, shards));
    if (wrong.length > 0) {
      const serverShards = inferShardCount(names, seen);
      throw new NodeError(
        "MAPPING_MISMATCH",
        `the NATS server maps ${what} to ${serverShards ?? "a different number of"} shards, but the cluster uses ${shards}: ${fix}`,
      );
    }
  }
}

function inferShardCount(names: string[], seen: Map<string, number>): number | undefined {
  for (let p = 1; p <= MAX_SHARDS; p++) {
    if (names.every((n) => !seen.has(n) || seen.get(n) === shardOf(PROBE_NS, n, p))) return p;
  }
  return undefined;
}
