import type { HttpRoutes } from "./http-endpoint.js";
import { sendJson, send } from "./http-endpoint.js";
import type { NodeMetrics } from "./metrics.js";

/** What the node's own routes read, at request time. */
export interface NodeRouteSources {
  metrics: NodeMetrics;
  /** `/healthz`: the process is alive and its node not closed. */
  alive(): { ok: boolean; body: unknown };
  /** `/readyz`: serving: owns shards, holds their leases, caught up. */
  ready(): { ok: boolean; body: unknown };
  /** `/status`: the node's figures as JSON. */
  status(): unknown;
}

/** `/metrics`, `/healthz`, `/readyz` and `/status`. */
export function nodeRoutes(src: NodeRouteSources): HttpRoutes {
  return {
    "/metrics": async (_req, res) => {
      send(res, 200, src.metrics.registry.contentType, await src.metrics.registry.metrics());
    },
    "/healthz": (_req, res) => {
      const h = src.alive();
      sendJson(res, h.ok ? 200 : 503, h.body);
    },
    "/readyz": (_req, res) => {
      const r = src.ready();
      sendJson(res, r.ok ? 200 : 503, r.body);
    },
    "/status": (_req, res) => sendJson(res, 200, src.status()),
  };
}
