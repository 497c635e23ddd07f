/**
 * What an operator scrapes from the Node server (`GET /metrics` on its own listener,
 * `METRICS_LISTEN`, Prometheus text format), with prom-client: requests by status and refusal
 * reason, origin response time, origin failures, the cache, open connections, and the
 * process's own figures. One registry per server; with `WORKERS` > 1 the primary owns the
 * listener and adds up every worker's (prom-client's AggregatorRegistry).
 * @module
 */
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
} from "prom-client";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { CacheStats } from "./cache.js";

/** Where the figures that are read, not counted, come from. */
export interface MetricSources {
  cache?: () => CacheStats;
  clientConnections: () => number;
  originConnections: () => number;
}

export interface GateMetrics {
  registry: Registry;
  /** An answer sent: its status and, when the gate chose it, why. */
  answered(status: number, reason: string | undefined): void;
  /** The origin's response headers arrived this many seconds after the request went out. */
  originAnswered(seconds: number): void;
  /** The origin failed (`origin-error`) or took too long (`origin-timeout`). */
  originFailed(reason: string): void;
  /** The exposition text of this process's registry. */
  text(): Promise<string>;
}

/**
 * Builds the metrics of one server process.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ clientConnections: () => open, originConnections: () => 0 });
 * metrics.answered(200, undefined);
 * ```
 */
export function createMetrics(sources: MetricSources): GateMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "tokengate_requests_total",
    help: "Answers sent, by status and by the reason the gate chose it (none: the origin's).",
    labelNames: ["status", "reason"] as const,
    registers: [registry],
  });
  const originSeconds = new Histogram({
    name: "tokengate_origin_response_seconds",
    help: "Time from a request to the origin until its response headers.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const originFailures = new Counter({
    name: "tokengate_origin_failures_total",
    help: "Origin requests that failed (origin-error) or timed out (origin-timeout).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  // Read when scraped: the cache is made after the metrics.
  const cache = () => sources.cache?.();
  new Counter({
    name: "tokengate_cache_hits_total",
    help: "Granted requests answered from the cache.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache()?.hits ?? 0);
    },
  });
  new Counter({
    name: "tokengate_cache_misses_total",
    help: "Granted requests the cache could not answer.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache()?.misses ?? 0);
    },
  });
  new Gauge({
    name: "tokengate_cache_bytes",
    help: "Body bytes the cache holds.",
    registers: [registry],
    collect() {
      this.set(cache()?.bytes ?? 0);
    },
  });
  new Gauge({
    name: "tokengate_cache_objects",
    help: "Objects the cache holds.",
    registers: [registry],
    collect() {
      this.set(cache()?.objects ?? 0);
    },
  });
  new Gauge({
    name: "tokengate_client_connections",
    help: "Client connections open.",
    registers: [registry],
    collect() {
      this.set(sources.clientConnections());
    },
  });
  new Gauge({
    name: "tokengate_origin_connections",
    help: "Connections open to the origin.",
    registers: [registry],
    collect() {
      this.set(sources.originConnections());
    },
  });
  return {
    registry,
    answered: (status, reason) => requests.inc({ status: String(status), reason: reason ?? "" }),
    originAnswered: (seconds) => originSeconds.observe(seconds),
    originFailed: (reason) => originFailures.inc({ reason }),
    text: () => registry.metrics(),
  };
}

/** The content type of the exposition text. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * In a cluster worker: lets the primary's aggregator read this registry (prom-client answers
 * its requests over the IPC channel).
 */
export function shareWithPrimary(metrics: GateMetrics): void {
  // prom-client answers the primary only once an aggregator exists in this process.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
}

/** Where the metrics listener listens. */
export interface MetricsListen {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

/** A running metrics listener. */
export interface MetricsServer {
  /** `http://host:port/metrics` */
  url: string;
  close(): Promise<void>;
}

/**
 * Marks an error of the metrics listener's `listen`, so that start-up can name the setting
 * (`METRICS_LISTEN`) rather than the public port's.
 */
export function isMetricsListenError(error: unknown): error is NodeJS.ErrnoException {
  return (error as { metricsListen?: unknown } | null)?.metricsListen === true;
}

/**
 * Serves `GET /metrics` on a listener of its own, apart from the gate's public port (the
 * Prometheus convention: figures about traffic are for the operator, not for every viewer).
 * Every other path is 404, every other method 405.
 *
 * @param text - The exposition text: this process's registry, or the primary's aggregate.
 * @throws the `listen` error, marked for {@link isMetricsListenError}.
 */
export async function startMetricsServer(
  text: () => Promise<string>,
  where: MetricsListen,
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end();
      return;
    }
    text().then(
      (body) => {
        res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(Object.assign(error, { metricsListen: true })));
    server.listen(where.port, where.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
