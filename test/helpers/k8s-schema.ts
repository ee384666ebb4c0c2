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
export async function validateManifest(m: Manifest): Promise<void> {
  const { group, version } = splitApiVersion(m.apiVersion);
  const modulePath = `kubernetes-models/${group === "" ? "" : `${group}/`}${version}/${m.kind}`;
  const mod = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[m.kind];
  if (!Model) throw new Error(`${modulePath} has no ${m.kind}`);
  new Model(m).validate();
  checkKnownFields(m, modulePath);
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Type-checks `m` as `I<Kind>` of `modulePath`; throws the compiler's errors (unknown fields among them). */
function checkKnownFields(m: Manifest, modulePath: string): void {
  const file = join(ROOT, "test", `.k8s-check-${m.kind}.ts`);
  const source = `import type { I${m.kind} } from ${JSON.stringify(modulePath)};\nexport const m: I${m.kind} = ${JSON.stringify(m, null, 1)};\n`;
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
    const text = errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n");
    throw new Error(`${m.kind} ${m.metadata.name}: ${text}`);
  }
}
