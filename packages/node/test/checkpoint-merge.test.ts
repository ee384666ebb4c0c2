import test from "ava";
import fc from "fast-check";
import { EntryMap } from "../src/storage/checkpoint-merge.js";

const op = fc.oneof(
  fc.record({
    kind: fc.constant("u" as const),
    ns: fc.constantFrom("a", "b"),
    name: fc.constantFrom("x", "y", "z"),
    key: fc.integer({ min: 0, max: 4 }),
    value: fc.integer(),
  }),
  fc.record({
    kind: fc.constant("r" as const),
    ns: fc.constantFrom("a", "b"),
    name: fc.constantFrom("x", "y", "z"),
    key: fc.integer({ min: 0, max: 4 }),
  }),
);

test("checkpoint merge - upserts and removals in order give the state a plain map computes; drop filters keys", async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 80 }), fc.integer({ min: 0, max: 5 }), async (ops, dropKey) => {
      const truth = new Map<string, number>();
      const m = new EntryMap();
      for (const o of ops) {
        const id = `${o.ns}/${o.name}/${o.key}`;
        if (o.kind === "u") {
          truth.set(id, o.value);
          m.upsert([o.ns, o.name, o.key, o.value]);
        } else {
          truth.delete(id);
          m.remove([o.ns, o.name, o.key]);
        }
      }
      t.is(m.size, truth.size);
      const flat = await m.toFlat((k) => k === dropKey);
      const got = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 4)
        got.set(`${flat[i]}/${flat[i + 1]}/${flat[i + 2]}`, flat[i + 3] as number);
      const want = new Map([...truth].filter(([id]) => !id.endsWith(`/${dropKey}`)));
      t.deepEqual([...got].sort(), [...want].sort());
    }),
    { numRuns: 200 },
  );
});
