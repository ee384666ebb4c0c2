import { Packr } from "msgpackr";
import { EventError, decodeEvent } from "../../src/index.js";

/** Builders of event bodies for the decode tests, and the code a body is refused with. */
const enc = new TextEncoder();
export const text = (s: string): Uint8Array => enc.encode(s);
export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
export const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const packr = new Packr({ useRecords: false });
export const mp = (v: unknown): Uint8Array => packr.pack(v);
/** msgpack fixstr for short ASCII keys. */
export const key = (k: string): number[] => [0xa0 + k.length, ...enc.encode(k)];

/** The code `decodeEvent` refuses `body` with; undefined when it decodes. */
export const codeOf = (body: Uint8Array): string | undefined => {
  try {
    decodeEvent(body);
    return undefined;
  } catch (err) {
    return err instanceof EventError ? err.code : `NOT_AN_EVENT_ERROR: ${String(err)}`;
  }
};
