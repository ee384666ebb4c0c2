/**
 * UTF-8 helpers shared by subjects, names and the partition hash. Internal: not exported
 * from the package.
 * @internal
 * @packageDocumentation
 */

/** Encoder shared by the whole package (TextEncoder is stateless). */
export const utf8Encoder = new TextEncoder();

/** Strict decoder: invalid UTF-8 throws instead of turning into U+FFFD. */
export const strictUtf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Byte length of `s` encoded as UTF-8, computed without allocating. A lone surrogate
 * counts as 3 bytes, as `TextEncoder` replaces it with U+FFFD.
 */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no lone surrogate, i.e. it survives a UTF-8 round trip unchanged. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}
