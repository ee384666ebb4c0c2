import { assertShardCount, STORED_EVENT_PREFIX, STORED_READ_PREFIX } from "@tally/core";

/**
 * The nats-server `mappings { … }` block that routes `count.<ns>.<name>` to
 * `tally.ev.<shard>.<ns>.<name>` and `count.get.<ns>.<name>` to
 * `tally.rd.<shard>.<ns>.<name>`, with the server's own `partition()` hash.
 *
 * nats-server 2.9 has no stream subject transforms, so the mapping must live in
 * the server config (include it, then reload the server).
 */
export function natsMappings(shards: number): string {
  assertShardCount(shards);
  const part = `{{partition(${shards},1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}`;
  return [
    "mappings {",
    `  "count.*.*": "${STORED_EVENT_PREFIX}.${part}"`,
    `  "count.get.*.*": "${STORED_READ_PREFIX}.${part}"`,
    "}",
    "",
  ].join("\n");
}
