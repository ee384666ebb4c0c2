import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cluster.js";

/** A fenced block of the README that follows an `<!-- example: <kind> -->` marker. */
export interface ReadmeExample {
  kind: string;
  /** 1-based line of the block's opening fence. */
  line: number;
  code: string;
  /** The fenced block after a `<!-- prints -->` marker right below it, if any. */
  prints?: string;
}

/** One `$ command` of a console block and the output lines under it. */
export interface ConsoleStep {
  command: string;
  output: string;
}

const FENCE = /^```/;

/** The README's marked example blocks, in order. */
export function readmeExamples(file = join(ROOT, "README.md")): ReadmeExample[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: ReadmeExample[] = [];
  const blockAt = (start: number): { code: string; end: number } | undefined => {
    let i = start;
    while (i < lines.length && lines[i]!.trim() === "") i++;
    if (!FENCE.test(lines[i] ?? "")) return undefined;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !FENCE.test(lines[j]!)) body.push(lines[j++]!);
    return { code: body.join("\n"), end: j + 1 };
  };
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!-- example: ([a-z-]+) -->$/.exec(lines[i]!.trim());
    if (!m) continue;
    const block = blockAt(i + 1);
    if (!block) throw new Error(`README line ${i + 1}: an example marker with no code block under it`);
    const ex: ReadmeExample = { kind: m[1]!, line: i + 2, code: block.code };
    let k = block.end;
    while (k < lines.length && lines[k]!.trim() === "") k++;
    if (lines[k]?.trim() === "<!-- prints -->") {
      const printed = blockAt(k + 1);
      if (printed) ex.prints = printed.code;
    }
    out.push(ex);
  }
  return out;
}

/** The `$ …` commands of a console block, each with the output shown under it. */
export function consoleSteps(code: string): ConsoleStep[] {
  const steps: ConsoleStep[] = [];
  for (const line of code.split("\n")) {
    if (line.startsWith("$ ")) steps.push({ command: line.slice(2), output: "" });
    else if (steps.length > 0) {
      const last = steps[steps.length - 1]!;
      last.output += (last.output === "" ? "" : "\n") + line;
    }
  }
  return steps;
}
