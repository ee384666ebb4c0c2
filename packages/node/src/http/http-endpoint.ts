import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Answers one request; `url` is the parsed request URL (path and query). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/**
 * What the endpoint serves, once the node exists: a handler per exact path
 * (`/metrics`), or per path prefix when the key ends in `/*` (`/assets/*`).
 */
export type HttpRoutes = Record<string, RouteHandler>;

/** Writes a whole response. */
export function send(res: ServerResponse, code: number, type: string, body: string | Buffer): void {
  res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  send(res, code, "application/json", JSON.stringify(body));
}

/**
 * The node's HTTP endpoint (`/metrics`, `/healthz`, `/readyz`, `/status`, the
 * dashboard). It listens before the node joins (its port goes into the heartbeat) and
 * answers 503 until {@link serve} hands it the routes.
 */
export class HttpEndpoint {
  readonly #server: Server;
  #routes: HttpRoutes | undefined;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on `host:port` (port 0 picks a free one). */
  static async listen(port: number, host = "127.0.0.1"): Promise<HttpEndpoint> {
    const server = createServer();
    const endpoint = new HttpEndpoint(server);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => endpoint.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    return endpoint;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  serve(routes: HttpRoutes): void {
    this.#routes = routes;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections(); // server-sent event streams stay open otherwise
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const routes = this.#routes;
    if (!routes) return sendJson(res, 503, { status: "starting" });
    const url = new URL(req.url ?? "/", "http://localhost");
    const handler = routes[url.pathname] ?? this.#prefixRoute(routes, url.pathname);
    if (!handler) {
      const paths = Object.keys(routes).join(", ");
      return send(res, 404, "text/plain", `not found: ${url.pathname}; this node serves ${paths}\n`);
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, "text/plain", `${String(err)}\n`);
        else res.destroy();
      });
  }

  #prefixRoute(routes: HttpRoutes, path: string): RouteHandler | undefined {
    for (const [key, handler] of Object.entries(routes)) {
      if (key.endsWith("/*") && path.startsWith(key.slice(0, -1))) return handler;
    }
    return undefined;
  }
}
