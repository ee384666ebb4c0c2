import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { parse } from "yaml";
import { natsMappings } from "@tally/node";
import { parseTallyArgs, tallyEnvVars } from "./helpers/cli-program.js";
import { ROOT } from "./helpers/cluster.js";
import { deployFile, deployManifests, type Manifest } from "./helpers/deploy-files.js";
import { validateManifests } from "./helpers/k8s-schema.js";

const manifests = deployManifests("k8s/tally.yaml");
const one = <T>(kind: string): Manifest & T => {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`tally.yaml: ${found.length} ${kind}s, expected 1`);
  return found[0] as Manifest & T;
};
const statefulSet = one<{ spec: StatefulSetSpec }>("StatefulSet");
const job = one<{ spec: { template: { spec: PodSpec } } }>("Job");
const service = one<{ spec: { clusterIP?: string; selector: Labels; ports: { targetPort: string }[] } }>("Service");
const configMap = one<{ data: Record<string, string> }>("ConfigMap");
const budget = one<{ spec: { maxUnavailable: number; selector: { matchLabels: Labels } } }>("PodDisruptionBudget");
const pod = statefulSet.spec.template.spec;
const container = pod.containers[0]!;

/** The node's options as the CLI parses the container's args (`$(POD_NAME)` as Kubernetes fills it in). */
const node = () => {
  const args = container.args.map((a) => a.replace("$(POD_NAME)", "tally-0"));
  return parseTallyArgs(args, configMap.data);
};

test("manifests - every document of deploy/k8s/tally.yaml validates against the Kubernetes schemas", async (t) => {
  t.deepEqual(manifests.map((m) => m.kind).sort(), [
    "ConfigMap",
    "Job",
    "PodDisruptionBudget",
    "Service",
    "StatefulSet",
  ]);
  await t.notThrowsAsync(() => validateManifests(manifests));
});

test("manifests - a manifest that breaks the schema is refused (the validation can fail)", async (t) => {
  const broken = structuredClone(statefulSet) as Manifest & { spec: StatefulSetSpec };
  (broken.spec.template.spec as unknown as Record<string, unknown>).terminationGracePeriodSeconds = "90s";
  await t.throwsAsync(() => validateManifests([broken]), { message: /terminationGracePeriodSeconds/ });
  const misspelt = structuredClone(statefulSet) as Manifest & { spec: StatefulSetSpec };
  (misspelt.spec.template.spec.containers[0] as unknown as Record<string, unknown>).readinesProbe = {};
  await t.throwsAsync(() => validateManifests([statefulSet, misspelt]), {
    message: /StatefulSet tally: .*readinesProbe/,
  });
});

test("manifests - the StatefulSet's node runs the build and agrees with the node's options", (t) => {
  t.deepEqual(container.command, ["node", "packages/cli/dist/bin.js"]);
  t.true(existsSync(join(ROOT, "packages/cli/src/bin.ts")), "dist/bin.js is built from src/bin.ts");
  const { command, opts, connection } = node();
  t.is(command, "node");
  t.is(opts.httpHost, "0.0.0.0", "probes come from the kubelet, not from loopback");
  t.is(opts.id, "tally-0", "the pod name is the node id");
  t.true(
    (container.env ?? []).some((e) => e.name === "POD_NAME" && e.valueFrom?.fieldRef?.fieldPath === "metadata.name"),
  );
  t.is(opts.minMembers as number, statefulSet.spec.replicas, "--min-members is the number of pods started together");
  t.is(statefulSet.spec.podManagementPolicy, "Parallel", "--min-members > 1 needs every pod started at once");
  t.is(connection.nats, configMap.data.TALLY_NATS_URL!);

  const port = container.ports.find((p) => p.name === "http")!;
  t.is(port.containerPort, opts.http as number, "the container port is --http");
  for (const [probe, path] of [
    [container.readinessProbe, "/readyz"],
    [container.livenessProbe, "/healthz"],
    [container.startupProbe, "/healthz"],
  ] as const) {
    t.is(probe.httpGet.path, path);
    t.true(probe.httpGet.port === "http" || probe.httpGet.port === opts.http, `${path} probes --http`);
  }
  t.true(
    pod.terminationGracePeriodSeconds * 1000 > (opts.stopTimeout as number),
    `grace period ${pod.terminationGracePeriodSeconds} s is longer than --stop-timeout ${String(opts.stopTimeout)} ms`,
  );
  const claim = statefulSet.spec.volumeClaimTemplates[0]!;
  const mount = container.volumeMounts.find((v) => v.name === claim.metadata.name);
  t.true(
    (opts.data as string).startsWith(`${mount?.mountPath}/`),
    "--data is a directory inside the persistent volume",
  );
  // The memory bound sits under the container's limit, with room for what is not heap.
  const limit = (container as unknown as { resources: { limits: { memory: string } } }).resources.limits.memory;
  const limitBytes = Number(/^(\d+)Gi$/.exec(limit)![1]) * 2 ** 30;
  t.true(
    (opts.maxMemory as number) > 0 && (opts.maxMemory as number) <= 0.8 * limitBytes,
    `--max-memory under ${limit}`,
  );
  t.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
});

test("manifests - the Service, the disruption budget and the init Job go with the StatefulSet", (t) => {
  const labels = statefulSet.spec.template.metadata.labels;
  const selects = (selector: Labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  t.deepEqual(statefulSet.spec.selector.matchLabels, service.spec.selector);
  t.true(selects(statefulSet.spec.selector.matchLabels));
  t.is(statefulSet.spec.serviceName, service.metadata.name);
  t.is(service.spec.clusterIP, "None", "a headless Service gives each pod a stable name");
  t.true(service.spec.ports.every((p) => container.ports.some((c) => c.name === p.targetPort)));
  t.true(selects(budget.spec.selector.matchLabels));
  t.is(budget.spec.maxUnavailable, 1);
  t.is(statefulSet.spec.updateStrategy.rollingUpdate.maxUnavailable, 1, "a rolling upgrade moves one node at a time");

  const init = job.spec.template.spec.containers[0]!;
  t.is(init.image, container.image);
  t.deepEqual(init.command, container.command);
  const { command, opts } = parseTallyArgs(init.args, configMap.data);
  t.is(command, "init");
  t.is(opts.replicas, 3, "R3: one NATS server of three may be lost");
});

test("manifests - the shard count agrees everywhere: init, the NATS chart values and tally-mappings.conf", (t) => {
  const shards = parseTallyArgs(job.spec.template.spec.containers[0]!.args).opts.shards as number;
  t.is(typeof shards, "number");
  t.is(deployFile("tally-mappings.conf"), natsMappings(shards));
  const values = parse(deployFile("k8s/nats-values.yaml")) as NatsValues;
  const expected = Object.fromEntries(
    [...natsMappings(shards).matchAll(/^\s+"([^"]+)": "([^"]+)"$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  t.is(Object.keys(expected).length, 2);
  t.deepEqual(values.config.merge.mappings, expected);
  t.true(values.config.cluster.enabled);
  t.true(values.config.jetstream.enabled);
  t.true(values.config.cluster.replicas >= 3, "R3 streams need at least 3 servers");
  // The chart's client Service is the release name (`nats`) on config.nats.port (4222 by default).
  t.regex(configMap.data.TALLY_NATS_URL!, /^nats:\/\/nats:4222$/);
});

test("manifests - every key nats-values.yaml sets is a value of the NATS chart (2.14.2), of the same kind", (t) => {
  const chart = parse(readFileSync(join(ROOT, "test/fixtures/nats-chart-values.yaml"), "utf8")) as unknown;
  const ours = parse(deployFile("k8s/nats-values.yaml")) as unknown;
  const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  const walk = (mine: unknown, theirs: unknown, path: string): number => {
    if (kind(mine) !== "object") {
      // A key left empty (null) in the chart takes any value.
      t.true(
        kind(theirs) === "null" || kind(theirs) === kind(mine),
        `${path}: ${kind(mine)}, chart has ${kind(theirs)}`,
      );
      return 1;
    }
    t.is(kind(theirs), "object", `${path} is a map in the chart`);
    // `merge` blocks are free-form NATS config or Kubernetes fields; `env` maps name variables.
    if (path.endsWith(".merge") || path.endsWith(".env")) return 1;
    let n = 0;
    for (const [k, v] of Object.entries(mine as Record<string, unknown>)) {
      t.true(Object.hasOwn(theirs as object, k), `${path}.${k} is a value of the chart`);
      n += walk(v, (theirs as Record<string, unknown>)[k], `${path}.${k}`);
    }
    return n;
  };
  t.true(walk(ours, chart, "") >= 4);
});

test("manifests - the image builds the JavaScript the manifests run", (t) => {
  const dockerfile = deployFile("Dockerfile");
  t.regex(dockerfile, /^RUN .*pnpm build/m);
  t.regex(dockerfile, /^ENTRYPOINT \["node", "packages\/cli\/dist\/bin\.js"\]/m);
  const build = JSON.parse(readFileSync(join(ROOT, "packages/cli/tsconfig.build.json"), "utf8")) as {
    compilerOptions: { rootDir: string; outDir: string };
  };
  t.deepEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ["src", "dist"]);
  t.true(tallyEnvVars().has("TALLY_NATS_URL"));
  for (const key of Object.keys(configMap.data)) t.true(tallyEnvVars().has(key), `${key} is read by the CLI`);
});

type Labels = Record<string, string>;
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  image: string;
  command: string[];
  args: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
  }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  startupProbe: Probe;
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  containers: Container[];
}
interface StatefulSetSpec {
  replicas: number;
  serviceName: string;
  podManagementPolicy: string;
  updateStrategy: { rollingUpdate: { maxUnavailable: number } };
  selector: { matchLabels: Labels };
  template: { metadata: { labels: Labels }; spec: PodSpec };
  volumeClaimTemplates: { metadata: { name: string }; spec: { accessModes: string[] } }[];
}
interface NatsValues {
  config: {
    cluster: { enabled: boolean; replicas: number };
    jetstream: { enabled: boolean };
    merge: { mappings: Record<string, string> };
  };
}

test("manifests - NATS runs tally-auth.conf with every password it reads; init runs as the admin and nodes as tally-node, from the same Secret", (t) => {
  const values = parse(deployFile("k8s/nats-values.yaml")) as {
    config: { merge: Record<string, unknown> };
    container: {
      env: Record<string, { valueFrom: { secretKeyRef: { name: string; key: string } } }>;
      merge: { volumeMounts: { name: string; mountPath: string }[] };
    };
    podTemplate: { merge: { spec: { volumes: { name: string; configMap: { name: string } }[] } } };
  };
  // The include, relative to the chart's config dir (/etc/nats-config), names the mounted file.
  const include = values.config.merge["zzz$include"];
  t.is(include, "../nats-tally/tally-auth.conf");
  const mount = values.container.merge.volumeMounts.find((m) => m.name === "tally-auth")!;
  t.is(join("/etc/nats-config", include as string), join(mount.mountPath, "tally-auth.conf"));
  t.is(values.podTemplate.merge.spec.volumes.find((v) => v.name === "tally-auth")?.configMap.name, "tally-nats-auth");
  // Every password variable of tally-auth.conf comes from the Secret, under its own name.
  const wanted = [...deployFile("tally-auth.conf").matchAll(/password: \$(\w+)/g)].map((m) => m[1]!).sort();
  t.deepEqual(Object.keys(values.container.env).sort(), wanted);
  for (const [name, v] of Object.entries(values.container.env))
    t.deepEqual(v.valueFrom.secretKeyRef, { name: "tally-nats-auth", key: name });
  // The pods' users, as tally-auth.conf names them, with the matching password.
  const userOf = (c: Container) => {
    const env = c.env ?? [];
    const user = env.find((e) => e.name === "TALLY_NATS_USER")?.value;
    const key = env.find((e) => e.name === "TALLY_NATS_PASSWORD")?.valueFrom?.secretKeyRef?.key;
    return { user, key };
  };
  t.deepEqual(userOf(job.spec.template.spec.containers[0]!), { user: "tally-admin", key: "TALLY_ADMIN_PASSWORD" });
  t.deepEqual(userOf(container), { user: "tally-node", key: "TALLY_NODE_PASSWORD" });
  const auth = deployFile("tally-auth.conf");
  t.regex(auth, /\{ user: tally-admin, password: \$TALLY_ADMIN_PASSWORD \}/);
  t.regex(auth, /\{ user: tally-node, password: \$TALLY_NODE_PASSWORD, permissions: \$TALLY_NODE \}/);
});
