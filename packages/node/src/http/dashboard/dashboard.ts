import type { NatsConnection } from "@nats-io/transport-node";
import { clusterStatus } from "../../admin/status.js";
import { sendJson, type HttpRoutes, type RouteHandler } from "../http-endpoint.js";
import { ClusterFeed } from "./cluster-feed.js";
import { answer, dashboardApiRoutes } from "./dashboard-api.js";
import { StaticAssets } from "./static-assets.js";

/** What the dashboard reads from its node. */
export interface DashboardSources {
  /** Id of the node serving it. */
  nodeId: string;
  /** The node's NATS connection: the dashboard's reads are public requests on it. */
  nc: NatsConnection;
  /** When a member counts as gone (the node's `memberTimeoutMs`). */
  memberTimeoutMs: number;
  /** Most buckets a series may span (the node's `maxSeriesPoints`). */
  maxSeriesPoints: number;
  /** Pause between two cluster map pushes. @default 1000 */
  feedIntervalMs?: number;
}

/**
 * The web dashboard every node serves on its HTTP port: the page at `/` (plain HTML,
 * ES modules and CSS under `/assets/`, uPlot from npm), the live cluster map
 * (`/api/cluster`, and server-sent events at `/api/cluster/events`), and the reads
 * `/api/top`, `/api/series` and `/api/dead-letters`.
 *
 * @example
 * ```ts
 * const dashboard = new Dashboard({ nodeId, nc, memberTimeoutMs, maxSeriesPoints });
 * http.serve({ ...nodeRoutes(…), ...dashboard.routes() });
 * dashboard.close(); // before the endpoint closes: ends the event streams, stops the feed
 * ```
 */
export class Dashboard {
  readonly #src: DashboardSources;
  readonly #feed: ClusterFeed;
  readonly #assets = new StaticAssets();

  constructor(src: DashboardSources) {
    this.#src = src;
    this.#feed = new ClusterFeed({
      nodeId: src.nodeId,
      read: () => clusterStatus(src.nc, { memberTimeoutMs: src.memberTimeoutMs }),
      ...(src.feedIntervalMs !== undefined ? { intervalMs: src.feedIntervalMs } : {}),
    });
  }

  /** The dashboard's routes, for the node's HTTP endpoint; GET (and HEAD) only. */
  routes(): HttpRoutes {
    const routes: HttpRoutes = {
      "/": (_req, res) => this.#assets.serve(res, "index.html"),
      "/assets/*": this.#assets.route("/assets/"),
      "/api/cluster": (_req, res) => answer(res, () => this.#feed.view()),
      "/api/cluster/events": (req, res) => this.#feed.subscribe(req, res),
      ...dashboardApiRoutes({ nc: this.#src.nc, maxSeriesPoints: this.#src.maxSeriesPoints }),
    };
    return Object.fromEntries(Object.entries(routes).map(([path, handler]) => [path, getOnly(handler)]));
  }

  /** Ends the cluster map's event streams and stops its timer; idempotent. */
  close(): void {
    this.#feed.close();
  }
}

/** Refuses any method but GET and HEAD with 405. */
function getOnly(handler: RouteHandler): RouteHandler {
  return (req, res, url) => {
    if (req.method === "GET" || req.method === "HEAD") return handler(req, res, url);
    res.setHeader("allow", "GET, HEAD");
    sendJson(res, 405, {
      error: { code: "METHOD_NOT_ALLOWED", message: `${req.method} ${url.pathname}: use GET`, retryable: false },
    });
  };
}
