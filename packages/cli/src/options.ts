import { InvalidArgumentError } from "commander";
import { isPeriod, parseDuration, parsePeriods, type Period } from "@tally/core";
import { parseSize } from "@tally/node";

/** Parser of an integer option; `name` goes into the error (`--shards must be an integer`). */
export const int =
  (name: string) =>
  (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer`);
    return Number(v);
  };

/** Parser of one period (`day`). */
export const periodArg = (v: string): Period => {
  if (!isPeriod(v)) throw new InvalidArgumentError("must be all, minute, hour, day, week, month or year");
  return v;
};

/** Parser of a comma-separated period list (`all,hour,day`). */
export const periodsArg = (v: string): Period[] => {
  try {
    return parsePeriods(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

/** Parser of a fraction in (0, 1]. */
export const fractionArg = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("must be a number above 0 and at most 1");
  return n;
};

/** Parser of a time: an integer is epoch ms, anything else goes to the server as text (ISO-8601). */
export const timeArg = (v: string): number | string => (/^-?\d+$/.test(v) ? Number(v) : v);

/** Words that lift a limit (`--log-max-age unlimited`). */
const UNLIMITED_WORDS = new Set(["unlimited", "forever", "none"]);

/**
 * What a limit parser returns for those words (commander turns a parser's null into "",
 * so null cannot stand for "no limit"); {@link limitValue} maps it to null.
 */
export const UNLIMITED = "unlimited";

/** A parsed limit as `@tally/node` takes it: null lifts the limit. */
export const limitValue = (v: number | typeof UNLIMITED): number | null => (v === UNLIMITED ? null : v);

/** Parser of a duration (`30d`, `48h`, `1h30m`) in ms, or {@link UNLIMITED} for `unlimited`/`forever`. */
export const durationOrUnlimited =
  (name: string) =>
  (v: string): number | typeof UNLIMITED => {
    if (UNLIMITED_WORDS.has(v.trim().toLowerCase())) return UNLIMITED;
    try {
      return parseDuration(v, name);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

/** Parser of a size (`500MB`, `10GiB`, bytes) in bytes, or {@link UNLIMITED}. */
export const sizeOrUnlimited =
  (name: string) =>
  (v: string): number | typeof UNLIMITED => {
    if (UNLIMITED_WORDS.has(v.trim().toLowerCase())) return UNLIMITED;
    try {
      return parseSize(v, name);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

/** Parser of a size (`800MiB`, `2GB`, bytes) in bytes. */
export const sizeArg =
  (name: string) =>
  (v: string): number => {
    try {
      return parseSize(v, name);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
