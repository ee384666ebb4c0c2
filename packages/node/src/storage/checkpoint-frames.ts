import { pack, unpack } from "msgpackr";

/** Bytes of a frame's length prefix (unsigned, big-endian). */
const PREFIX_BYTES = 4;

/**
 * One length-prefixed msgpack frame: `[u32 length][msgpack]`. A body made of frames can
 * be written and read one frame at a time, so neither side decodes millions of entries
 * in one synchronous block.
 */
export function encodeFrame(value: unknown): Uint8Array {
  const payload = pack(value);
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, PREFIX_BYTES);
  return frame;
}

/** Reads the frames of a body in order; throws (never returns garbage) on a truncated frame. */
export class FrameReader {
  readonly #body: Buffer;
  #offset = 0;

  constructor(body: Uint8Array) {
    this.#body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /** Whether every byte was consumed. */
  get done(): boolean {
    return this.#offset >= this.#body.length;
  }

  /** The next frame's value; undefined at the end of the body. */
  next(): unknown {
    if (this.done) return undefined;
    if (this.#offset + PREFIX_BYTES > this.#body.length) throw new Error("truncated frame length");
    const length = this.#body.readUInt32BE(this.#offset);
    const start = this.#offset + PREFIX_BYTES;
    if (start + length > this.#body.length) throw new Error("truncated frame");
    this.#offset = start + length;
    return unpack(this.#body.subarray(start, start + length)) as unknown;
  }
}

/**
 * Called between slices, so timers (lease renewals) and I/O run: on the next turn of the
 * event loop once the current one has used its budget, shared with the node's other loops.
 */
export { yieldToEventLoop } from "../slices.js";
