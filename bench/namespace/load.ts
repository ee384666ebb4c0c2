/** The steady load of a measured round: bench/namespace/steady-publisher.ts as a child process. */
import { Child } from "../lib/child.js";
import { OTHER_COUNTERS, OTHER_NS, RATE } from "./options.js";

/** What the publisher reports when stopped. */
export interface LoadStats {
  sent: number;
  acked: number;
  errors: number;
  seconds: number;
  /** Acked publishes per second over its run. */
  ackedPerSec: number;
}

/** Starts the publisher ({@link RATE}/s into {@link OTHER_NS}); `stop()` ends it and returns its figures. */
export async function startLoad(url: string): Promise<{ stop(): Promise<LoadStats> }> {
  const child = new Child("steady publisher", [
    "--import",
    "tsx",
    "bench/namespace/steady-publisher.ts",
    "--nats",
    url,
    "--ns",
    OTHER_NS,
    "--rate",
    String(RATE),
    "--keys",
    String(OTHER_COUNTERS),
  ]);
  await child.waitLine((l) => l === "ready", 60_000, "ready");
  return {
    async stop() {
      const line = child.waitLine((l) => l.startsWith("stats "), 30_000, "stats");
      child.proc.kill("SIGTERM");
      const s = JSON.parse((await line).slice(6)) as Omit<LoadStats, "ackedPerSec">;
      await child.exited;
      return { ...s, ackedPerSec: s.acked / s.seconds };
    },
  };
}
