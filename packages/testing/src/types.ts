/** Options of {@link startServer}. */
export interface ServerOptions {
  /**
   * Config text appended verbatim to the generated config, e.g. Tally's `mappings { … }`
   * block from `tally nats-config`.
   * @default ""
   */
  extraConfig?: string;
  /** Enable JetStream. @default true */
  jetstream?: boolean;
  /**
   * JetStream store dir. When given it is kept on `stop()` (the caller owns it).
   * @default a fresh temp dir, removed on `stop()`
   */
  storeDir?: string;
  /**
   * Directory for the generated config, log and ports files. When given it is kept on
   * `stop()` (only the ports files are removed), so the config can be read afterwards.
   * @default a fresh temp dir, removed on `stop()`
   */
  workDir?: string;
  /**
   * Client port on 127.0.0.1; `-1` lets the server pick a free one (0 would mean 4222 to
   * nats-server, so it is rejected).
   * @default -1
   */
  port?: number;
  /** Run with `-DV` (debug and trace) into the log file. @default false */
  debug?: boolean;
}

/** A running (or killed, restartable) nats-server process started by this package. */
export interface NatsServer {
  /** Client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Client port; the same across `restart()`. */
  readonly port: number;
  /** Monitoring endpoint, `http://127.0.0.1:<port>` (`/varz`, `/jsz`, …). */
  readonly monitorUrl: string;
  /** OS process id of the current incarnation; changes on `restart()`. */
  readonly pid: number;
  /** JetStream store dir (nats-server adds a `jetstream/` folder under it). */
  readonly storeDir: string;
  /** The generated config file. */
  readonly configFile: string;
  /** Where the server's stdout and stderr go; appended to across restarts. */
  readonly logFile: string;
  /**
   * SIGTERM, wait for the exit (SIGKILL after 10 s), then remove the temp dirs this server
   * created (a caller-supplied `storeDir` is kept). Idempotent; later calls get the same
   * promise.
   */
  stop(): Promise<void>;
  /**
   * Sends `signal` and waits for the exit (SIGKILL if it has not exited within 10 s). Keeps
   * the config and store dir so the server can be `restart()`ed. A no-op if it already
   * exited.
   * @param signal @default "SIGKILL"
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts the server again with the same config, client and monitoring ports and store
   * dir; if it is still running it is first stopped with SIGTERM (dirs kept). Resolves to
   * this same handle, with a new `pid`.
   * @throws {@link TestingError} `SERVER_STOPPED` after `stop()`; `SERVER_START_FAILED`
   */
  restart(): Promise<NatsServer>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions extends Omit<ServerOptions, "port" | "storeDir" | "workDir"> {
  /** Number of servers. @default 3 */
  size?: number;
}

/** A cluster of nats-servers on loopback, routed to each other. */
export interface NatsCluster {
  /** The servers, in start order (`server_name` n1, n2, …). */
  readonly servers: readonly NatsServer[];
  /** All client URLs, in the order of `servers`. */
  readonly urls: string[];
  /** Stops every server (see {@link NatsServer.stop}); idempotent. */
  stop(): Promise<void>;
}
