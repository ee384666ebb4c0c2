import test from "ava";
import fc from "fast-check";
import { BAD_LINE, parseEventLine } from "../src/event-lines.js";

test("parseEventLine - ns name [delta] [ts], split on spaces or tabs", (t) => {
  t.deepEqual(parseEventLine("web home"), { kind: "event", event: { ns: "web", name: "home", delta: 1 } });
  t.deepEqual(parseEventLine("  web\texample.com  -5 "), {
    kind: "event",
    event: { ns: "web", name: "example.com", delta: -5 },
  });
  t.deepEqual(parseEventLine("web home +3 2026-11-20T10:00:00Z"), {
    kind: "event",
    event: { ns: "web", name: "home", delta: 3, ts: "2026-11-20T10:00:00Z" },
  });
  t.deepEqual(parseEventLine("web home 2 1763726400000"), {
    kind: "event",
    event: { ns: "web", name: "home", delta: 2, ts: 1763726400000 },
  });
});

test("parseEventLine - blank and # lines hold nothing", (t) => {
  for (const line of ["", "   ", "\t", "# a comment", "  #web home 5"])
    t.deepEqual(parseEventLine(line), { kind: "skip" });
});

test("parseEventLine - a bad line says why, with a code", (t) => {
  const bad = (line: string) => {
    const p = parseEventLine(line);
    if (p.kind !== "bad") throw new Error(`${line} parsed as ${p.kind}`);
    return p;
  };
  t.is(bad("web").code, BAD_LINE);
  t.regex(bad("web").message, /got 1 field$/);
  t.is(bad("web home 1 2026-11-20 extra").code, BAD_LINE);
  t.is(bad("web home five").code, "BAD_DELTA");
  t.is(bad("web home 1.5").code, "BAD_DELTA");
  t.regex(bad("web home 2026-11-20T10:00:00Z").message, /a time goes after the delta/);
  t.is(bad("web home 99999999999999999999").code, "DELTA_OUT_OF_RANGE");
  t.is(bad("web home 1 yesterday").code, "BAD_TS");
  t.is(bad("web home 1 99999-01-01").code, "BAD_TS");
});

test("parseEventLine - any well-formed line parses back to its fields", (t) => {
  const token = fc.stringMatching(/^[a-z0-9._-]{1,12}$/).filter((s) => !s.startsWith("#"));
  fc.assert(
    fc.property(
      token,
      token,
      fc.integer({ min: -1e9, max: 1e9 }),
      fc.option(fc.integer({ min: 0, max: 4e12 })),
      (ns, name, delta, ts) => {
        const line = [ns, name, String(delta), ...(ts === null ? [] : [String(ts)])].join(" ");
        const p = parseEventLine(line);
        return (
          p.kind === "event" &&
          p.event.ns === ns &&
          p.event.name === name &&
          p.event.delta === delta &&
          p.event.ts === (ts === null ? undefined : ts)
        );
      },
    ),
  );
  t.pass();
});
