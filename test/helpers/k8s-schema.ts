import { join } from "node:path";
import ts from "typescript";
import { ROOT } from "./cluster.js";
import type { Manifest } from "./deploy-files.js";

/**
 * Kubernetes schema checks from the `kubernetes-models` npm package (generated from the
 * Kubernetes OpenAPI spec, kept current with each release). Its `validate()` checks types,
 * required fields, enums and formats with ajv; its schemas allow unknown fields, as the API
 * server's do, so a misspelt field (`readinesProbe`) would pass there. The package's
 * TypeScript interfaces of the same objects catch that: each manifest is type-checked as
 * an object literal of its interface, where every unknown field is an error.
 */
export async function validateManifests(ms: readonly Manifest[]): Promise<void> {
  const modules: string[] = [];
  for (const m of ms) {
    const { group, version } = splitApiVersion(m.apiVersion);
    const modulePath = `kubernetes-models/${group === "" ? "" : `${group}/`}${version}/${m.kind}`;
    const mod = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = mod[m.kind];
    if (!Model) throw new Error(`${modulePath} has no ${m.kind}`);
    new Model(m).validate();
    modules.push(modulePath);
  }
  checkKnownFields(ms, modules);
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * Type-checks each manifest as `I<Kind>` of its module, all in one program (loading the
 * types once); throws the compiler's errors (unknown fields among them).
 */
function checkKnownFields(ms: readonly Manifest[], modules: readonly string[]): void {
  const file = join(ROOT, "test", ".k8s-check.ts");
  const source = ms
    .map(
      (m, i) =>
        `import type { I${m.kind} as T${i} } from ${JSON.stringify(modules[i])};\n` +
        `export const m${i}: T${i} = ${JSON.stringify(m, null, 1)};\n`,
    )
    .join("");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    lib: ["lib.es2022.d.ts"],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => (f === file ? source : readFile(f));
  host.fileExists = (f) => f === file || fileExists(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) =>
    f === file ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest);
  const program = ts.createProgram([file], options, host);
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file || !d.file);
  if (errors.length > 0) {
    const text = errors.map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      const i = source.slice(0, d.file && d.start !== undefined ? d.start : 0).split("export const m").length - 2;
      const m = ms[i];
      const where = m ? `${m.kind} ${m.metadata.name}` : `line ${line + 1}`;
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    throw new Error(text.join("\n"));
  }
}
