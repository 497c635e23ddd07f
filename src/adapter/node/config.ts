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
import { canonicalAddress, parseAddressRanges, type AddressRanges } from "../../core/ip.js";
import type { LogFormat } from "./access-log.js";
import {
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_ORIGIN_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
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
  CACHE?: string;
  CACHE_MAX_BYTES?: string;
  CACHE_DEFAULT_TTL_S?: string;
  ORIGIN_CONNECTIONS?: string;
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
  /** See `GateServerOptions.originKeepAlive`. */
  readonly originKeepAlive: boolean;
  readonly logFormat: LogFormat;
  /** See `GateServerOptions.trustProxy`; undefined = trust no proxy. */
  readonly trustProxy: AddressRanges | undefined;
  /** See `GateServerOptions.metrics`. */
  readonly metrics: boolean;
  /** See `GateServerOptions.cache`; undefined = no cache. */
  readonly cache: { maxBytes: number; heuristicCapSeconds: number } | undefined;
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
  // A name needs a letter: "0" or "1" would reach getaddrinfo, which reads them as addresses.
  if (
    !HOST_SHAPE.test(host) ||
    (canonicalAddress(host.replace(/^\[|\]$/g, "")) === undefined && !/[A-Za-z]/.test(host))
  ) {
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
  const originKeepAlive = parseSwitch("ORIGIN_KEEPALIVE", env.ORIGIN_KEEPALIVE, true);
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
    metrics: gate.metrics,
    cache:
      gate.cache === undefined
        ? undefined
        : {
            maxBytes: cacheMaxBytes || DEFAULT_CACHE_MAX_BYTES,
            heuristicCapSeconds: gate.cache.heuristicCapSeconds,
          },
    originConnections,
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
    originConnections: config.originConnections,
    originKeepAlive: config.originKeepAlive,
    logFormat: config.logFormat,
    trustProxy: config.trustProxy,
  };
}
