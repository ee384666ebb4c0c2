import test from "ava";
import { copyFile } from "node:fs/promises";
import { jetstream } from "@nats-io/jetstream";
import type { Page } from "playwright-core";
import { listDeadLetters, type NodeOptions } from "@tally/node";
import { waitFor } from "@tally/testing";
import type { Period, TopReply } from "@tally/core";
import { artifactPath, launchChromium } from "./helpers/browser.js";
import { inProcessNode, ROOT, tallyCluster, tallyServer, waitBalanced } from "./helpers/cluster.js";
import { NamespaceTruth, publishKnown, requestJson, type KnownEvent } from "./helpers/namespace-truth.js";
import { DAY, RECENT_MONDAY } from "./helpers/time.js";

const NS = "shop";
const PERIODS: Period[] = ["all", "hour", "day", "week", "month"];
/** Fast heartbeats, so a joining node shows within a couple of seconds. */
const FAST: Partial<NodeOptions> = { heartbeatMs: 200, memberTimeoutMs: 1500, snapshotIntervalMs: 200 };

/** 24 counters (some with dots in their names) over six days of one week, values all different. */
function events(): KnownEvent[] {
  const out: KnownEvent[] = [];
  for (let i = 0; i < 24; i++) {
    const name = i % 4 === 0 ? `page.${i}` : `page-${i}`;
    for (let k = 0; k < 1 + ((i * 7) % 11); k++)
      out.push({ name, delta: 1 + ((i + k) % 3), ts: RECENT_MONDAY + ((i + k) % 6) * DAY + i * 60_000 });
  }
  return out;
}

/** The top table as the page shows it: [name, value text] per row, once its reply for `period` is drawn. */
async function shownTop(page: Page, period: Period): Promise<[string, string][]> {
  await page.locator(`[data-testid=top][data-state=ok][data-period=${period}]`).waitFor({ timeout: 30_000 });
  return page
    .locator("[data-testid=top-row]")
    .evaluateAll((rows) =>
      rows.map((r) => [
        r.querySelector("[data-testid=top-name]")?.textContent ?? "",
        r.querySelector("[data-testid=top-value]")?.textContent ?? "",
      ]),
    );
}

/** The members table: id, live, shards. */
function shownMembers(page: Page): Promise<{ id: string; live: boolean; shards: number }[]> {
  return page.locator("[data-testid=member]").evaluateAll((rows) =>
    rows.map((r) => ({
      id: r.getAttribute("data-member") ?? "",
      live: r.getAttribute("data-live") === "true",
      shards: Number(r.querySelector("[data-testid=member-shards]")?.textContent),
    })),
  );
}

/** Shard → owner, as the shard grid shows it. */
function shownOwners(page: Page): Promise<string[]> {
  return page
    .locator("[data-testid=shard]")
    .evaluateAll((cells) => cells.map((c) => c.getAttribute("data-owner") ?? ""));
}

test.serial(
  "dashboard - in Chromium: exact top counters and series, a dead letter's reason, and a node joining the cluster map",
  async (t) => {
    const { nc, url, shards } = await tallyCluster(t, { shards: 8 });
    const a = await inProcessNode(t, url, { id: "a", httpPort: 0, ...FAST });
    await waitBalanced(nc, ["a"]);
    const truth = new NamespaceTruth(NS, PERIODS);
    await publishKnown(nc, truth, events());
    const bad = await jetstream(nc).publish(`count.${NS}.broken`, "notanumber");
    // Every shard has applied everything published before the page reads.
    await requestJson<TopReply>(nc, `count.top.${NS}.all`, { minSeq: Math.max(truth.lastSeq, bad.seq) });

    const browser = await launchChromium(t);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const tuesday = RECENT_MONDAY + DAY;
    const best = truth.top("week", RECENT_MONDAY, 1)[0]!.name;
    const sunday = new Date(RECENT_MONDAY + 6 * DAY).toISOString();
    const query = new URLSearchParams({
      ns: NS,
      period: "day",
      at: new Date(tuesday + 3_600_000).toISOString(),
      name: best,
      seriesPeriod: "day",
      to: sunday,
      points: "7",
    });
    await page.goto(`http://127.0.0.1:${a.httpPort}/?${query}`, { timeout: 30_000 });

    // Top counters of the bucket in the query string: the exact values, in order.
    const text = (items: { name: string; value: number }[]) =>
      items.map((i): [string, string] => [i.name, String(i.value)]);
    t.deepEqual(await shownTop(page, "day"), text(truth.top("day", tuesday, 10)), "top of Tuesday");
    // Another period, chosen in the form.
    await page.getByTestId("top-period").selectOption("week");
    await page.getByTestId("top-limit").fill("100");
    await page.getByTestId("top-show").click();
    t.deepEqual(await shownTop(page, "week"), text(truth.top("week", RECENT_MONDAY, 100)), "top of the week");

    // The series of the week's biggest counter, day by day: chart and values.
    await page
      .locator(`[data-testid=series][data-state=ok][data-name="${best}"]`)
      .waitFor({ state: "attached", timeout: 30_000 });
    const series = await page
      .locator("[data-testid=series-row]")
      .evaluateAll((rows) =>
        rows.map((r) => [
          r.getAttribute("data-bucket") ?? "",
          r.querySelector("[data-testid=series-value]")?.textContent,
        ]),
      );
    const expected = Array.from({ length: 7 }, (_, d) => {
      const day = RECENT_MONDAY + d * DAY;
      const value = truth.top("day", day, 1000, (n) => n === best)[0]?.value ?? 0;
      return [new Date(day).toISOString(), String(value)];
    });
    t.deepEqual(series, expected, `series of ${best}`);
    t.true(
      expected.some(([, v]) => v !== "0"),
      "the series has values",
    );
    t.is(await page.getByTestId("chart").getAttribute("data-points"), "7");
    t.is(await page.locator("[data-testid=chart] canvas").count(), 1, "uPlot drew the chart");

    // The bad event's dead letter, with the reason the node recorded.
    const [record] = (await listDeadLetters(nc)).filter((d) => d.seq === bad.seq);
    t.is(record?.code, "BAD_BODY");
    const letter = page.locator(`[data-testid=dead-letter][data-seq="${bad.seq}"]`);
    await letter.waitFor({ timeout: 30_000 });
    t.is(await letter.getByTestId("dead-letter-code").textContent(), "BAD_BODY");
    t.is(await letter.getByTestId("dead-letter-reason").textContent(), record!.reason);
    t.true(["a", "b"].includes(record!.node), `written by a node: ${record!.node}`);
    t.is(await letter.getByTestId("dead-letter-node").textContent(), record!.node);

    // The cluster map: a alone with every shard, then b joins and takes its share.
    await waitFor(async () => (await shownMembers(page)).some((m) => m.id === "a" && m.live && m.shards === shards), {
      timeoutMs: 30_000,
      message: "the cluster map to show a with every shard",
    });
    t.deepEqual(await shownOwners(page), Array<string>(shards).fill("a"));
    const b = await inProcessNode(t, url, { id: "b", httpPort: 0, ...FAST });
    const joined = await waitFor(
      async () => {
        const members = await shownMembers(page);
        const owners = await shownOwners(page);
        const onB = owners.filter((o) => o === "b").length;
        const mb = members.find((m) => m.id === "b");
        const done = mb?.live === true && onB > 0 && mb.shards === onB && owners.every((o) => o === "a" || o === "b");
        return done ? owners : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: "the cluster map to show b joined, owning shards" },
    );
    t.is(joined.length, shards);
    // Every node serves the page.
    t.is((await fetch(`http://127.0.0.1:${b.httpPort}/`)).status, 200);

    await waitBalanced(nc, ["a", "b"]);
    // The picture: ten rows, values as before.
    await page.getByTestId("top-limit").fill("10");
    await page.getByTestId("top-show").click();
    await waitFor(async () => (await shownTop(page, "week")).length === 10, { timeoutMs: 30_000, message: "ten rows" });
    t.deepEqual(await shownTop(page, "week"), text(truth.top("week", RECENT_MONDAY, 10)), "top 10 of the week");
    const shot = await artifactPath("dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    // TALLY_DOCS_SCREENSHOT=1 also refreshes the README's picture.
    if (process.env.TALLY_DOCS_SCREENSHOT === "1") await copyFile(shot, `${ROOT}/docs/dashboard.png`);
    t.deepEqual(pageErrors, [], "no script errors on the page");
  },
);

test.serial(
  "dashboard api - bad parameters answer 400 with a code, and the page's routes answer GET only",
  async (t) => {
    const { server } = await tallyServer(t, { shards: 4 });
    const node = await inProcessNode(t, server.url, { id: "api", httpPort: 0 });
    const base = `http://127.0.0.1:${node.httpPort}`;
    const error = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${base}${path}`, init);
      const body = (await res.json()) as { error: { code: string; message: string } };
      return [res.status, body.error.code];
    };
    t.deepEqual(await error("/api/top"), [400, "BAD_REQUEST"], "no ns");
    t.deepEqual(await error("/api/top?ns=a.b"), [400, "BAD_REQUEST"], "ns of two tokens");
    t.deepEqual(await error("/api/top?ns=web&period=fortnight"), [400, "BAD_REQUEST"]);
    t.deepEqual(await error("/api/top?ns=web&period=minute"), [400, "PERIOD_NOT_ENABLED"], "the node's own code");
    t.deepEqual(await error("/api/top?ns=web&limit=1001"), [400, "BAD_REQUEST"]);
    t.deepEqual(await error("/api/top?ns=web&at=yesterday"), [400, "BAD_TS"]);
    t.deepEqual(await error("/api/series?ns=web&name=home&period=all"), [400, "BAD_REQUEST"]);
    t.deepEqual(await error("/api/series?ns=web&period=day"), [400, "BAD_REQUEST"], "no name");
    t.deepEqual(await error("/api/series?ns=web&name=home&points=0"), [400, "BAD_REQUEST"]);
    t.deepEqual(await error("/api/dead-letters?limit=x"), [400, "BAD_REQUEST"]);
    t.deepEqual(await error("/api/top?ns=web", { method: "POST" }), [405, "METHOD_NOT_ALLOWED"]);
    t.is((await fetch(`${base}/assets/..%2fpackage.json`)).status, 404);
    t.is((await fetch(`${base}/assets/nothing.js`)).status, 404);
    const uplot = await fetch(`${base}/assets/vendor/uPlot.esm.js`);
    t.is(uplot.status, 200);
    t.regex(uplot.headers.get("content-type") ?? "", /^text\/javascript/);
    t.regex(await uplot.text(), /export \{ uPlot as default \}/);
    // The good forms answer with the wire contract's replies.
    const top = (await (await fetch(`${base}/api/top?ns=web&period=day`)).json()) as TopReply;
    t.deepEqual([top.ns, top.period, top.items], ["web", "day", []]);
    const dl = (await (await fetch(`${base}/api/dead-letters`)).json()) as unknown;
    t.deepEqual(dl, { total: 0, items: [] });
  },
);
