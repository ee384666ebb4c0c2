import test from "ava";
import fc from "fast-check";
import { assignShards, balanceShards, rendezvousOwner } from "../src/index.js";

const members = (n: number) => Array.from({ length: n }, (_, i) => `node-${i + 1}`);

test("assignment - every shard has exactly one owner among the members", (t) => {
  const owners = assignShards(64, members(3));
  t.is(owners.length, 64);
  for (const o of owners) t.true(members(3).includes(o!));
  t.is(rendezvousOwner(5, []), undefined);
});

test("assignment - the same members in any order give the same owners", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }), (ms) => {
        const a = assignShards(64, ms);
        const b = assignShards(64, [...ms].reverse());
        return a.every((o, i) => o === b[i]);
      }),
    ),
  );
});

test("assignment - rendezvous alone: a join moves only shards to the new member", (t) => {
  for (const [p, n] of [
    [64, 1],
    [64, 3],
    [1024, 7],
  ] as const) {
    const before = assignShards(p, members(n));
    const after = assignShards(p, members(n + 1));
    t.true(
      after.every((o, s) => o === before[s] || o === `node-${n + 1}`),
      `P=${p} N=${n}`,
    );
  }
});

test("assignment - balanced: a join moves at most ceil(P/(N+1)) shards, all to the new member", (t) => {
  for (const p of [16, 64, 100, 256, 1024]) {
    let owners = balanceShards(p, members(1));
    for (let n = 1; n < 9; n++) {
      const next = balanceShards(p, members(n + 1), owners);
      const moved = next.filter((o, s) => o !== owners[s]);
      t.true(moved.length <= Math.ceil(p / (n + 1)), `P=${p} N=${n}: moved ${moved.length}`);
      t.true(
        moved.every((o) => o === `node-${n + 1}`),
        `P=${p} N=${n}: only the new member gains`,
      );
      const counts = members(n + 1).map((m) => next.filter((o) => o === m).length);
      t.true(Math.max(...counts) - Math.min(...counts) <= 1, `P=${p} N=${n}: balanced ${counts.join(",")}`);
      owners = next;
    }
  }
});

test("assignment - balanced: a leave moves only the departed member's shards", (t) => {
  const before = balanceShards(64, members(4), balanceShards(64, members(4)));
  const after = balanceShards(64, members(3), before);
  for (let s = 0; s < 64; s++) {
    if (before[s] !== "node-4") t.is(after[s], before[s]);
    else t.not(after[s], undefined);
  }
  t.deepEqual(balanceShards(4, []), [undefined, undefined, undefined, undefined]);
});

test("assignment - a member leaving only moves its own shards", (t) => {
  const before = assignShards(128, members(4));
  const after = assignShards(
    128,
    members(4).filter((m) => m !== "node-2"),
  );
  for (let s = 0; s < 128; s++) {
    if (before[s] !== "node-2") t.is(after[s], before[s]);
    else t.not(after[s], "node-2");
  }
});
