import { ErrorCode, EventError, preview } from "./errors.js";
import { isWellFormed, utf8Encoder } from "./utf8.js";

// Everything a token cannot hold, plus `%` itself so that decoding is unambiguous.
// Control characters are exactly what these match, hence the lint exceptions.
// eslint-disable-next-line no-control-regex
const NEEDS_ENCODING = /[%.*>\s\x00-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const NEEDS_ENCODING_G = /[%.*>\s\x00-\x1f\x7f]/g;

const HEX = "0123456789ABCDEF";

function percentBytes(ch: string): string {
  let out = "";
  for (const b of utf8Encoder.encode(ch)) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  return out;
}

/**
 * Make an arbitrary counter name usable as a subject token by percent-encoding (`%XX`,
 * uppercase hex of each UTF-8 byte) `%`, `.`, `*`, `>`, whitespace and control characters.
 * Other characters, including non-ASCII ones, are kept. A name needing no encoding is
 * returned as is. The result can still exceed 255 bytes; {@link eventSubject} checks that.
 *
 * Throws `EventError` `BAD_SUBJECT` if `raw` holds a lone surrogate (it has no UTF-8 form).
 *
 * @example
 * ```ts
 * encodeName('example.com/a b') // 'example%2Ecom/a%20b'
 * ```
 */
export function encodeName(raw: string): string {
  if (!isWellFormed(raw)) {
    throw new EventError(ErrorCode.BAD_SUBJECT, `name ${preview(raw)} is not well-formed Unicode (lone surrogate)`);
  }
  if (!NEEDS_ENCODING.test(raw)) return raw;
  return raw.replace(NEEDS_ENCODING_G, percentBytes);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Byte encoded by `%XX` at `i` in `s`, or -1 if there is no valid escape there. */
function escapedByte(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x25 || i + 2 >= s.length) return -1;
  const hi = hexValue(s.charCodeAt(i + 1));
  const lo = hexValue(s.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/** Length of the well-formed UTF-8 sequence starting at `bytes[j]`, or 0 if it is not one. */
function utf8SequenceLength(bytes: readonly number[], j: number): number {
  const b0 = bytes[j] as number;
  if (b0 < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  if (j + need >= bytes.length) return 0;
  const b1 = bytes[j + 1] as number;
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k <= need; k++) {
    const b = bytes[j + k] as number;
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return need + 1;
}

function decodeSequence(bytes: readonly number[], j: number, len: number): string {
  const b0 = bytes[j] as number;
  if (len === 1) return String.fromCharCode(b0);
  let cp = b0 & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
  for (let k = 1; k < len; k++) cp = (cp << 6) | ((bytes[j + k] as number) & 0x3f);
  return String.fromCodePoint(cp);
}

/**
 * Inverse of {@link encodeName}: replace each run of `%XX` escapes (either hex case) that
 * forms well-formed UTF-8 with the characters it encodes. Escapes that do not (a stray
 * `%`, `%G1`, a lone continuation byte, …) are left as they are, so any token decodes
 * without throwing.
 *
 * @example
 * ```ts
 * decodeName('example%2Ecom/a%20b') // 'example.com/a b'
 * ```
 */
export function decodeName(token: string): string {
  if (!token.includes("%")) return token;
  // The engine's decoder is several times faster (a top of names with dots decodes one per
  // counter scanned); it throws on any escape that is not well-formed UTF-8, and those
  // tokens are decoded by hand, leaving such escapes as they are.
  try {
    return decodeURIComponent(token);
  } catch {
    return decodeEscapes(token);
  }
}

/** {@link decodeName} by hand: every well-formed run of escapes decoded, any other left as it is. */
export function decodeEscapes(token: string): string {
  let out = "";
  let i = 0;
  while (i < token.length) {
    if (escapedByte(token, i) < 0) {
      out += token.charAt(i);
      i++;
      continue;
    }
    // Collect the whole run of escapes: a multi-byte character spans several of them.
    const bytes: number[] = [];
    const start = i;
    for (let b = escapedByte(token, i); b >= 0; b = escapedByte(token, i)) {
      bytes.push(b);
      i += 3;
    }
    for (let j = 0; j < bytes.length;) {
      const len = utf8SequenceLength(bytes, j);
      if (len === 0) {
        out += token.slice(start + j * 3, start + j * 3 + 3);
        j++;
      } else {
        out += decodeSequence(bytes, j, len);
        j += len;
      }
    }
  }
  return out;
}

/**
 * The order of `decodeName(token)` against `name` (JavaScript string order: negative,
 * 0, positive), decoding only when the part of `token` before its first `%` (which
 * decoding leaves as it is) does not decide. A scan over a namespace compares most
 * counters with the worst one kept this way, without a string per counter.
 */
export function compareDecoded(token: string, name: string): number {
  const literal = token.indexOf("%");
  if (literal < 0) return token < name ? -1 : token > name ? 1 : 0;
  const n = Math.min(literal, name.length);
  for (let i = 0; i < n; i++) {
    const d = token.charCodeAt(i) - name.charCodeAt(i);
    if (d !== 0) return d;
  }
  // `name` ends within the literal part, which the decoded name extends: it sorts first.
  if (name.length <= literal) return 1;
  const decoded = decodeName(token);
  return decoded < name ? -1 : decoded > name ? 1 : 0;
}

/** Whether `decodeName(token)` starts with `prefix`, decoding only when the literal part of `token` does not decide. */
export function decodedStartsWith(token: string, prefix: string): boolean {
  const literal = token.indexOf("%");
  if (literal < 0) return token.startsWith(prefix);
  const n = Math.min(literal, prefix.length);
  for (let i = 0; i < n; i++) if (token.charCodeAt(i) !== prefix.charCodeAt(i)) return false;
  return prefix.length <= literal || decodeName(token).startsWith(prefix);
}
