import { createServer, connect, type Socket } from "node:net";
import type { ExecutionContext } from "ava";
import { within } from "./deadline.js";

/** A TCP relay in front of a nats-server whose connections a test can cut. */
export interface TcpProxy {
  /** `nats://127.0.0.1:<port>`: connect a client here instead of to the server. */
  readonly url: string;
  /** Connections relayed now. */
  readonly connections: number;
  /**
   * Resets every relayed connection at once (both sides see a TCP RST): whatever was in
   * flight either way is lost, as when a network link drops. New connections (a client
   * reconnecting) are relayed again. Returns how many were cut.
   */
  cut(): number;
}

/**
 * Starts a relay on a random loopback port to `127.0.0.1:<targetPort>`; closed in
 * teardown (its connections are reset, its listener closed).
 */
export async function tcpProxy(t: ExecutionContext, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((downstream) => {
    const upstream = connect(targetPort, "127.0.0.1");
    const pair: [Socket, Socket] = [downstream, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.setNoDelay(true);
      s.on("error", end);
      s.on("close", end);
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const cut = () => {
    const n = pairs.size;
    for (const [down, up] of [...pairs]) {
      down.resetAndDestroy();
      up.resetAndDestroy();
    }
    pairs.clear();
    return n;
  };
  t.teardown(async () => {
    cut();
    await within(new Promise<void>((resolve) => server.close(() => resolve())), 10_000, "the TCP proxy to close");
  });
  const { port } = server.address() as { port: number };
  return {
    url: `nats://127.0.0.1:${port}`,
    get connections() {
      return pairs.size;
    },
    cut,
  };
}
