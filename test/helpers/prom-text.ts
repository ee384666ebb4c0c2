/** One sample of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A node's `/metrics` taken apart: its samples and the metric families it declares. */
export interface PromScrape {
  samples: PromSample[];
  /** Family name → type, from the `# TYPE` lines. */
  types: Map<string, string>;
  /** Family names with a `# HELP` line. */
  helps: Set<string>;
  /** Samples of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): PromSample[];
  /** The one sample of `name` with exactly these labels (besides none other); undefined if absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (as prom-client writes it). */
export function parsePromText(text: string): PromScrape {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      types.set(name!, type!);
    } else if (line.startsWith("# HELP ")) helps.add(line.slice(7).split(" ")[0]!);
    else if (line !== "" && !line.startsWith("#")) {
      const m = SAMPLE.exec(line);
      if (!m) throw new Error(`unparseable metrics line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, "$1");
      samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    }
  }
  const matches = (s: PromSample, labels: Record<string, string>) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    samples,
    types,
    helps,
    find: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s, labels)),
    value: (name, labels = {}) =>
      samples.find(
        (s) => s.name === name && matches(s, labels) && Object.keys(s.labels).length === Object.keys(labels).length,
      )?.value,
  };
}

/** Fetches and parses a node's `/metrics`. */
export async function scrapeMetrics(port: number): Promise<PromScrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parsePromText(await res.text());
}
