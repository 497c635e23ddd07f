/**
 * The Node server's configuration: environment variables overridden by `tokengate serve`
 * flags, checked once at start-up. Reads no file and no environment by itself.
 * @module
 */
import {
  parseInteger,
  parseTimeout,
  quoted,
  readSettings,
  parseSwitch,
  SettingError,
  withoutSecret,
} from "../../core/settings.js";
import type { CacheKeyQuery } from "../../core/cache-key.js";
import { canonicalAddress, parseAddressRanges, type AddressRanges } from "../../core/ip.js";
import type { LogFormat } from "./access-log.js";
import type { MetricsListen } from "./metrics.js";
import {
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_ORIGIN_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  defaultRequestsPerClient,
  type GateServerOptions,
} from "./server.js";

/** Environment variables `tokengate serve` reads. */
export interface ServerEnv {
  ORIGIN_URL?: string;
  SECRET?: string;
  PREFIXES?: string;
  HOST?: string;
  PORT?: string;
  WORKERS?: string;
  LISTEN_SOCKETS?: string;
  ORIGIN_TIMEOUT_MS?: string;
  CLIENT_TIMEOUT_MS?: string;
  REQUEST_TIMEOUT_MS?: string;
  KEEPALIVE_TIMEOUT_MS?: string;
  MAX_CONNECTIONS?: string;
  METRICS?: string;
  METRICS_LISTEN?: string;
  CACHE?: string;
  CACHE_MAX_BYTES?: string;
  CACHE_DEFAULT_TTL_S?: string;
  CACHE_KEY_QUERY?: string;
  ORIGIN_CONNECTIONS?: string;
  REQUESTS_PER_CLIENT?: string;
  ORIGIN_KEEPALIVE?: string;
  LOG_FORMAT?: string;
  TRUST_PROXY?: string;
  BIND_IP?: string;
  QUERY_TOKEN_PREFIXES?: string;
  MP4_TOKENS?: string;
  CORS_ORIGINS?: string;
  EXPIRY_LEEWAY_S?: string;
  FORWARD_HEADERS?: string;
  /** JSON; `serve --client-secrets-file` reads it from a file. A secret: never in a worker's environment. */
  CLIENT_SECRETS?: string;
  /** A file holding CLIENT_SECRETS. */
  CLIENT_SECRETS_FILE?: string;
}

/** Everything the Node server needs, checked. */
export interface ServerConfig {
  /** True when ORIGIN_URL is unset: serve the bundled sample with a generated secret. */
  readonly demo: boolean;
  /** The secret to use in demo mode, when SECRET was given. */
  readonly demoSecret: string | undefined;
  readonly host: string;
  readonly port: number;
  /** Worker processes; 1 serves from the primary process itself. */
  readonly workers: number;
  /** Listening sockets on the port; undefined = as many as the runtime allows (see node.ts). */
  readonly listenSockets: number | undefined;
  /** See `GateServerOptions.clientTimeoutMs`. */
  readonly clientTimeoutMs: number;
  /** See `GateServerOptions.requestTimeoutMs`. */
  readonly requestTimeoutMs: number;
  /** See `GateServerOptions.keepAliveTimeoutMs`. */
  readonly keepAliveTimeoutMs: number;
  /** See `GateServerOptions.maxConnections`. */
  readonly maxConnections: number;
  /** See `GateServerOptions.originConnections`. */
  readonly originConnections: number;
  /** See `GateServerOptions.requestsPerClient`; 0 = no limit. */
  readonly requestsPerClient: number;
  /** See `GateServerOptions.originKeepAlive`. */
  readonly originKeepAlive: boolean;
  readonly logFormat: LogFormat;
  /** See `GateServerOptions.trustProxy`; undefined = trust no proxy. */
  readonly trustProxy: AddressRanges | undefined;
  /** See `GateServerOptions.metrics`: METRICS on and METRICS_LISTEN not off. */
  readonly metrics: boolean;
  /** See `GateServerOptions.metricsListen`; undefined when metrics are off. */
  readonly metricsListen: MetricsListen | undefined;
  /** See `GateServerOptions.cache`; undefined = no cache. */
  readonly cache:
    { maxBytes: number; heuristicCapSeconds: number; keyQuery: CacheKeyQuery } | undefined;
}

/** `CACHE_MAX_BYTES` unset with `CACHE=on`. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Parses a size in bytes: a whole number, or one with `k`, `m` or `g` (1024-based, as nginx
 * reads sizes).
 *
 * @throws SettingError naming the setting.
 * @example
 * ```ts
 * parseSize("CACHE_MAX_BYTES", "256m"); // 268435456
 * ```
 */
export function parseSize(name: string, text: string | undefined): number {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return 0;
  const match = /^(\d+)([kmg]?)$/i.exec(trimmed);
  const value =
    match === null
      ? NaN
      : Number(match[1]) * 1024 ** "_kmg".indexOf((match[2] || "_").toLowerCase());
  if (!Number.isSafeInteger(value) || value > 2 ** 40) {
    throw new SettingError(
      name,
      `must be a size in bytes, e.g. 268435456 or 256m (up to 1024g), got ${quoted(trimmed)}`,
    );
  }
  return value;
}

const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|\[?[0-9A-Fa-f:.]+\]?)$/;

/** Whether `host` is an IP address or a host name one can listen on. */
function isListenHost(host: string): boolean {
  // A name needs a letter: "0" or "1" would reach getaddrinfo, which reads them as addresses.
  return (
    HOST_SHAPE.test(host) &&
    (canonicalAddress(host.replace(/^\[|\]$/g, "")) !== undefined || /[A-Za-z]/.test(host))
  );
}

/**
 * The metrics listener's own port, apart from the public one, on loopback: Prometheus's
 * registered default for an exporter, reachable by a local scraper and no viewer.
 */
export const DEFAULT_METRICS_LISTEN = "127.0.0.1:9464";

/**
 * Parses `METRICS_LISTEN`: `host:port` (`[v6]:port` for an IPv6 address; port 0 = any free
 * one), or `off`.
 *
 * @throws SettingError naming METRICS_LISTEN.
 */
export function parseMetricsListen(text: string | undefined): MetricsListen | undefined {
  const value = (text ?? "").trim() || DEFAULT_METRICS_LISTEN;
  if (value === "off") return undefined;
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? "";
  const port = Number(match?.[2]);
  if (match === null || !isListenHost(host) || port > 65535) {
    throw new SettingError(
      "METRICS_LISTEN",
      `must be host:port (e.g. 127.0.0.1:9464 or [::1]:9464) or off, got ${quoted(value)}`,
    );
  }
  return { host: host.replace(/^\[|\]$/g, ""), port };
}

/**
 * Reads the server configuration.
 *
 * @param env - Environment variables (flags already merged in, flags winning).
 * @param cpus - Cores on this machine, for `WORKERS=auto`.
 * @throws SettingError naming the first bad setting.
 * @example
 * ```ts
 * const config = readServerConfig({ ...process.env, PORT: "9000" }, availableParallelism());
 * ```
 */
export function readServerConfig(env: ServerEnv, cpus: number): ServerConfig {
  try {
    return checkedServerConfig(env, cpus);
  } catch (error) {
    throw withoutSecret(error, env);
  }
}

function checkedServerConfig(env: ServerEnv, cpus: number): ServerConfig {
  const host = (env.HOST ?? "").trim() || "127.0.0.1";
  if (!isListenHost(host)) {
    throw new SettingError("HOST", `${quoted(host)} is not an IP address or host name`);
  }
  const port = parseInteger("PORT", env.PORT, 8787, 0, 65535);
  const workersText = (env.WORKERS ?? "").trim();
  const workers =
    workersText === "auto" ? Math.max(1, cpus) : parseInteger("WORKERS", workersText, 1, 1, 256);
  const listenSocketsText = (env.LISTEN_SOCKETS ?? "").trim();
  const listenSockets =
    listenSocketsText === "" || listenSocketsText === "auto"
      ? undefined
      : parseInteger("LISTEN_SOCKETS", listenSocketsText, 1, 1, 1024);
  const clientTimeoutMs = parseTimeout(
    "CLIENT_TIMEOUT_MS",
    env.CLIENT_TIMEOUT_MS,
    DEFAULT_CLIENT_TIMEOUT_MS,
  );
  // At least 100 ms: a smaller value is more likely seconds written as milliseconds, and
  // would cut clients on any real network.
  const requestTimeoutMs = parseInteger(
    "REQUEST_TIMEOUT_MS",
    env.REQUEST_TIMEOUT_MS,
    DEFAULT_REQUEST_TIMEOUT_MS,
    100,
    3_600_000,
  );
  const keepAliveTimeoutMs = parseInteger(
    "KEEPALIVE_TIMEOUT_MS",
    env.KEEPALIVE_TIMEOUT_MS,
    DEFAULT_KEEPALIVE_TIMEOUT_MS,
    100,
    3_600_000,
  );
  const cacheMaxBytes = parseSize("CACHE_MAX_BYTES", env.CACHE_MAX_BYTES);
  const maxConnections = parseInteger(
    "MAX_CONNECTIONS",
    env.MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS,
    0,
    1_000_000,
  );
  const originConnections = parseInteger(
    "ORIGIN_CONNECTIONS",
    env.ORIGIN_CONNECTIONS,
    DEFAULT_ORIGIN_CONNECTIONS,
    1,
    65_536,
  );
  const requestsPerClient = parseInteger(
    "REQUESTS_PER_CLIENT",
    env.REQUESTS_PER_CLIENT,
    defaultRequestsPerClient(originConnections),
    0,
    65_536,
  );
  const originKeepAlive = parseSwitch("ORIGIN_KEEPALIVE", env.ORIGIN_KEEPALIVE, true);
  const metricsListen = parseMetricsListen(env.METRICS_LISTEN);
  const logFormat = (env.LOG_FORMAT ?? "").trim() || "json";
  if (logFormat !== "json" && logFormat !== "pretty") {
    throw new SettingError("LOG_FORMAT", `must be json or pretty, got ${quoted(logFormat)}`);
  }
  const trustText = (env.TRUST_PROXY ?? "").trim();
  let trustProxy: AddressRanges | undefined;
  if (trustText !== "") {
    try {
      trustProxy = parseAddressRanges(trustText);
    } catch (error) {
      throw new SettingError("TRUST_PROXY", (error as Error).message);
    }
  }
  const demo = (env.ORIGIN_URL ?? "").trim() === "";
  // Check every gate setting now, so a bad one stops start-up in demo mode too; demo mode
  // brings its own origin, and a secret unless SECRET is set (a stand-in here with a NUL,
  // which no environment value can hold, so no message is withheld for showing it).
  const gate = readSettings(
    demo ? { ...env, ORIGIN_URL: "http://127.0.0.1", SECRET: env.SECRET || "demo\0" } : env,
  );
  if (cacheMaxBytes > 0 && gate.cache === undefined) {
    throw new SettingError("CACHE_MAX_BYTES", "sizes the cache, which is off: set CACHE=on too");
  }
  return {
    demo,
    demoSecret: env.SECRET || undefined,
    host,
    port,
    workers,
    listenSockets,
    clientTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs,
    maxConnections,
    // Nothing to count for when there is nowhere to show it.
    metrics: gate.metrics && metricsListen !== undefined,
    metricsListen: gate.metrics ? metricsListen : undefined,
    cache:
      gate.cache === undefined
        ? undefined
        : {
            maxBytes: cacheMaxBytes || DEFAULT_CACHE_MAX_BYTES,
            heuristicCapSeconds: gate.cache.heuristicCapSeconds,
            keyQuery: gate.cache.keyQuery,
          },
    originConnections,
    requestsPerClient,
    originKeepAlive,
    logFormat,
    trustProxy,
  };
}

/**
 * The options `startGateServer` takes for a checked configuration and the environment it came
 * from (whose gate settings are read here, once).
 *
 * @example
 * ```ts
 * const gate = await startGateServer(gateServerOptions(config, env));
 * ```
 */
export function gateServerOptions(config: ServerConfig, env: ServerEnv): GateServerOptions {
  return {
    settings: readSettings(env),
    host: config.host,
    port: config.port,
    listenSockets: config.listenSockets,
    clientTimeoutMs: config.clientTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    maxConnections: config.maxConnections,
    cache: config.cache,
    metrics: config.metrics,
    metricsListen: config.metricsListen,
    originConnections: config.originConnections,
    requestsPerClient: config.requestsPerClient,
    originKeepAlive: config.originKeepAlive,
    logFormat: config.logFormat,
    trustProxy: config.trustProxy,
  };
}
