/**
 * Small type guards for untrusted decoded data.
 * @internal
 * @packageDocumentation
 */

/** Whether `v` is a plain object (`{…}` from JSON or a MessagePack map), not an array, null or class instance. */
export function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The message of a caught value, whatever was thrown. */
export function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
