import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the endpoint serves, once the node exists. */
export interface HttpRoutes {
  /** `/metrics`: Prometheus text. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** `/healthz`: healthy, and a small JSON body. */
  health(): { ok: boolean; body: unknown };
  /** `/status`: the node's figures as JSON. */
  status(): unknown;
}

/**
 * The node's HTTP endpoint on 127.0.0.1: `/metrics`, `/healthz`, `/status`. It listens
 * before the node joins (its port goes into the heartbeat) and answers 503 until
 * {@link serve} hands it the routes.
 */
export class HttpEndpoint {
  readonly #server: Server;
  #routes: HttpRoutes | undefined;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on `port` (0 picks a free one). */
  static async listen(port: number): Promise<HttpEndpoint> {
    const server = createServer();
    const endpoint = new HttpEndpoint(server);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => endpoint.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
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
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { "content-type": type });
      res.end(body);
    };
    const json = (code: number, body: unknown) => send(code, "application/json", JSON.stringify(body));
    const routes = this.#routes;
    if (!routes) {
      json(503, { status: "starting" });
    } else if (req.url === "/metrics") {
      routes.metrics().then(
        (m) => send(200, m.contentType, m.body),
        (err: unknown) => send(500, "text/plain", String(err)),
      );
    } else if (req.url === "/healthz") {
      const h = routes.health();
      json(h.ok ? 200 : 503, h.body);
    } else if (req.url === "/status") {
      json(200, routes.status());
    } else send(404, "text/plain", "not found: try /metrics, /healthz or /status\n");
  }
}
