import test from "ava";
import fc from "fast-check";
import { shardOf, isValidToken } from "@tally/core";
import { natsMappings } from "@tally/node";
import { connect } from "@nats-io/transport-node";
import { startServer } from "@tally/testing";
import { within } from "./helpers/deadline.js";

// Tokens of printable characters (including UTF-8) that NATS carries in a subject.
const token = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom(..."abcxyz019-_:/%@"),
      fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.constantFrom("é", "ü", "日", "🙂"),
    ),
    minLength: 1,
    maxLength: 40,
  })
  .filter((s) => isValidToken(s));

for (const shards of [64, 7, 1000]) {
  test(`partition - shardOf equals nats-server's partition(${shards}) for random keys`, async (t) => {
    const server = await startServer({ jetstream: false, extraConfig: natsMappings(shards) });
    t.teardown(() => server.stop());
    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    const sub = nc.subscribe("tally.ev.>");
    const it = sub[Symbol.asyncIterator]();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(token, token, async (ns, name) => {
        nc.publish(`count.${ns}.${name}`, "");
        const m = await within(it.next(), 10_000, `nats-server to deliver count.${ns}.${name} on tally.ev.>`);
        const parts = (m.value as { subject: string }).subject.split(".");
        runs++;
        return Number(parts[2]) === shardOf(ns, name, shards) && parts[3] === ns && parts[4] === name;
      }),
      { numRuns: 300 },
    );
    t.is(runs, 300);
  });
}
