import test from "ava";
import fc from "fast-check";
import { ErrorCode, EventError, decodeName, encodeName, isValidToken } from "../src/index.js";
import { compareDecoded, decodeEscapes, decodedStartsWith } from "../src/name-encoding.js";

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

test("encodeName - percent-encodes ., *, >, %, whitespace and control characters", (t) => {
  t.is(encodeName("home"), "home");
  t.is(encodeName("example.com/a b"), "example%2Ecom/a%20b");
  t.is(encodeName("a*b>c%d"), "a%2Ab%3Ec%25d");
  t.is(encodeName("\t\n\r\u0000\u007f"), "%09%0A%0D%00%7F");
  t.is(encodeName("a\u00a0b"), "a%C2%A0b");
  t.is(encodeName("a\u2028b"), "a%E2%80%A8b");
  t.is(encodeName("été/日本/🙂"), "été/日本/🙂");
  t.is(encodeName(""), "");
});

test("encodeName - rejects lone surrogates", (t) => {
  const e = t.throws(() => encodeName("a\ud800"), { instanceOf: EventError });
  t.is(e?.code, ErrorCode.BAD_SUBJECT);
});

test("decodeName - decodes escapes of either case, multi-byte runs included", (t) => {
  t.is(decodeName("example%2Ecom/a%20b"), "example.com/a b");
  t.is(decodeName("example%2ecom"), "example.com");
  t.is(decodeName("a%C2%A0b"), "a\u00a0b");
  t.is(decodeName("%F0%9F%99%82"), "🙂");
  t.is(decodeName("%25%32%45"), "%2E");
  t.is(decodeName("plain"), "plain");
});

test("decodeName - leaves invalid escapes as they are", (t) => {
  t.is(decodeName("100%"), "100%");
  t.is(decodeName("a%2"), "a%2");
  t.is(decodeName("a%G1"), "a%G1");
  t.is(decodeName("%%2E"), "%.");
  t.is(decodeName("%80"), "%80"); // lone continuation byte
  t.is(decodeName("%C0%AF"), "%C0%AF"); // overlong '/'
  t.is(decodeName("%ED%A0%80"), "%ED%A0%80"); // encoded surrogate
  t.is(decodeName("%E2%82"), "%E2%82"); // truncated sequence
  t.is(decodeName("%E2%82%2E"), "%E2%82."); // truncated, then a valid escape
  t.is(decodeName("%F4%90%80%80"), "%F4%90%80%80"); // beyond U+10FFFF
  t.is(decodeName("%C3%A9%FF%2E"), "é%FF.");
});

// Strings rich in the characters that need encoding.
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom(".", "*", ">", "%", " ", "\t", "\n", "\u0000", "\u007f", "\u00a0", "\u2028", "%2E", "%25"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  ),
  maxLength: 60,
});
const names = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), tricky);

test("encodeName / decodeName - decode inverts encode for any well-formed string", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(names, (s) => decodeName(encodeName(s)) === s),
      { numRuns: 3000 },
    ),
  );
});

test("encodeName - yields a valid token for any non-empty string within the byte limit", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(names, (s) => {
        const enc = encodeName(s);
        fc.pre(s.length > 0 && utf8Length(enc) <= 255);
        return isValidToken(enc);
      }),
      { numRuns: 3000 },
    ),
  );
});

test("decodeName - never throws and is the identity on strings without %", (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const d = decodeName(s);
        return s.includes("%") || d === s;
      }),
    ),
  );
});

/** Tokens mixing literal characters, well-formed escapes and malformed ones. */
const tokenArb = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "a",
        "b",
        "-",
        "z",
        "é",
        "%",
        "%2E",
        "%2e",
        "%25",
        "%C3%A9",
        "%F0%9F%99%82",
        "%E2%80",
        "%FF",
        "%G1",
        "%ED%A0%80",
      ),
      fc.string({ maxLength: 2 }),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(""));

test("decodeName - the engine's decoder with the hand-written fallback equals decoding by hand, for any token", (t) => {
  fc.assert(
    fc.property(tokenArb, (token) => decodeName(token) === decodeEscapes(token)),
    { numRuns: 3000 },
  );
  t.is(decodeName("100%"), "100%");
  t.is(decodeName("a%2Eb%G1"), "a.b%G1");
});

test("compareDecoded / decodedStartsWith - agree with comparing the decoded name, for any token and name", (t) => {
  const sign = (n: number) => Math.sign(n);
  fc.assert(
    fc.property(tokenArb, fc.oneof(tokenArb, tokenArb.map(decodeName)), (token, other) => {
      const decoded = decodeName(token);
      const expected = decoded < other ? -1 : decoded > other ? 1 : 0;
      return (
        sign(compareDecoded(token, other)) === expected && decodedStartsWith(token, other) === decoded.startsWith(other)
      );
    }),
    { numRuns: 5000 },
  );
  t.true(compareDecoded("a-b", "a.b") < 0); // '-' sorts before '.', though '%' (the token's) sorts before '-'
  t.true(compareDecoded("a%2Eb", "a-b") > 0);
  t.is(compareDecoded("a%2Eb", "a.b"), 0);
  t.true(compareDecoded("ab%2E", "ab") > 0);
  t.true(decodedStartsWith("a%2Eb", "a."));
  t.false(decodedStartsWith("a%2Eb", "a-"));
});
