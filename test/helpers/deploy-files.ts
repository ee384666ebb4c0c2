import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ROOT } from "./cluster.js";

/** The repository's deploy/ folder. */
export const DEPLOY = join(ROOT, "deploy");

/** A file of deploy/, as written. */
export function deployFile(path: string): string {
  return readFileSync(join(DEPLOY, path), "utf8");
}

/** A Kubernetes object as parsed from YAML: apiVersion, kind, and the rest. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** Every document of a multi-document YAML file of deploy/; throws on a YAML error. */
export function deployManifests(path: string): Manifest[] {
  return parseAllDocuments(deployFile(path)).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value as Manifest];
  });
}

/** The `[Section]` → key → values of a systemd unit (a key may repeat). */
export type Unit = Map<string, Map<string, string[]>>;

/** Parses a systemd unit file: sections, `Key=Value` lines, `#` comments. */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return unit;
}

/** The one value of `key` in `[section]`; throws when absent or repeated. */
export function unitValue(unit: Unit, section: string, key: string): string {
  const values = unit.get(section)?.get(key);
  if (values?.length !== 1) throw new Error(`[${section}] ${key}: expected one value, got ${values?.length ?? 0}`);
  return values[0]!;
}

/** Parses an environment file (`KEY=value` lines, `#` comments). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`not an environment line: ${line}`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** systemd's `TimeoutStopSec=` in ms (plain seconds, or `90s`, `2min`, `1min 30s`). */
export function systemdSeconds(value: string): number {
  let total = 0;
  const parts = value.trim().split(/\s+/);
  for (const part of parts) {
    const m = /^(\d+)(s|sec|min|m)?$/.exec(part);
    if (!m) throw new Error(`cannot read the time span ${JSON.stringify(value)}`);
    total += Number(m[1]) * (m[2] === "min" || m[2] === "m" ? 60 : 1);
  }
  return total;
}

/** Where one server of the cluster config listens, when run on loopback by a test. */
export interface LoopbackPorts {
  client: number;
  monitor: number;
  cluster: number;
  /** Every server's cluster port, in the order of the config's `routes`. */
  routes: readonly number[];
  storeDir: string;
}

/**
 * deploy/nats-cluster.conf as written, with only what must change to run three servers on
 * one machine rewritten: the client, monitoring and cluster listen addresses, the route
 * URLs and the store dir. Every rewrite must match exactly as often as the file is known
 * to need it, so a config that changed shape fails the test instead of running unchanged.
 */
export function loopbackNatsConfig(text: string, p: LoopbackPorts): string {
  const q = (s: string) => JSON.stringify(s);
  const rewrites: [RegExp, (match: string, ...groups: string[]) => string, number][] = [
    [/^listen:\s*\S+$/gm, () => `listen: ${q(`127.0.0.1:${p.client}`)}`, 1],
    [/^http:\s*\S+$/gm, () => `http: ${q(`127.0.0.1:${p.monitor}`)}`, 1],
    [/^(\s+)listen:\s*\S+$/gm, (_m, indent) => `${indent}listen: ${q(`127.0.0.1:${p.cluster}`)}`, 1],
    [/^(\s+)store_dir:\s*\S+$/gm, (_m, indent) => `${indent}store_dir: ${q(p.storeDir)}`, 1],
  ];
  let out = text;
  for (const [re, replace, expected] of rewrites) {
    const found = out.match(re)?.length ?? 0;
    if (found !== expected) throw new Error(`nats-cluster.conf: ${re} matched ${found} times, expected ${expected}`);
    out = out.replace(re, replace as (m: string, ...g: string[]) => string);
  }
  let route = 0;
  out = out.replace(/nats-route:\/\/[^\s"]+/g, () => {
    const port = p.routes[route++];
    if (port === undefined) throw new Error(`nats-cluster.conf: more routes than ${p.routes.length} servers`);
    return `nats-route://127.0.0.1:${port}`;
  });
  if (route !== p.routes.length) throw new Error(`nats-cluster.conf: ${route} routes, expected ${p.routes.length}`);
  return out;
}
