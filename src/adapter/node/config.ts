/**
 * The Node server's configuration: environment variables overridden by `tokengate serve`
 * flags, checked once at start-up. Reads no file and no environment by itself.
 * @module
 */
import {
  readSettings,
  SettingError,
  withoutSecret,
  type ServerConfig,
} from "../../core/settings.js";
import {
  DEFAULT_CACHE_MAX_BYTES,
  parseSetting,
  SETTINGS,
  type SettingsEnv,
} from "../../core/settings-table.js";
import { defaultRequestsPerClient, type GateServerOptions } from "./server.js";

/** Environment variables `tokengate serve` reads: every setting, and the secrets' files. */
export type ServerEnv = SettingsEnv & {
  /** A file holding CLIENT_SECRETS. */
  CLIENT_SECRETS_FILE?: string;
};

export type { ServerConfig } from "../../core/settings.js";

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
  const read = <K extends keyof typeof SETTINGS>(name: K) => parseSetting(SETTINGS, name, env);
  const host = read("HOST");
  const port = read("PORT");
  const workersValue = read("WORKERS");
  const workers = workersValue === "auto" ? Math.max(1, cpus) : workersValue;
  const listenSockets = read("LISTEN_SOCKETS");
  const clientTimeoutMs = read("CLIENT_TIMEOUT_MS");
  const requestTimeoutMs = read("REQUEST_TIMEOUT_MS");
  const keepAliveTimeoutMs = read("KEEPALIVE_TIMEOUT_MS");
  const cacheMaxBytes = read("CACHE_MAX_BYTES");
  const maxConnections = read("MAX_CONNECTIONS");
  const originConnections = read("ORIGIN_CONNECTIONS");
  const requestsPerClient =
    read("REQUESTS_PER_CLIENT") ?? defaultRequestsPerClient(originConnections);
  const originKeepAlive = read("ORIGIN_KEEPALIVE");
  const metricsListen = read("METRICS_LISTEN");
  const logFormat = read("LOG_FORMAT");
  const trustProxy = read("TRUST_PROXY");
  const settings = readSettings(env);
  if (cacheMaxBytes > 0 && settings.cache === undefined) {
    throw new SettingError("CACHE_MAX_BYTES", "sizes the cache, which is off: set CACHE=on too");
  }
  return {
    settings,
    host,
    port,
    workers,
    listenSockets,
    clientTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs,
    maxConnections,
    // Nothing to count for when there is nowhere to show it.
    metrics: settings.metrics && metricsListen !== undefined,
    metricsListen: settings.metrics ? metricsListen : undefined,
    cache:
      settings.cache === undefined
        ? undefined
        : {
            maxBytes: cacheMaxBytes || DEFAULT_CACHE_MAX_BYTES,
            heuristicCapSeconds: settings.cache.heuristicCapSeconds,
            keyQuery: settings.cache.keyQuery,
          },
    originConnections,
    requestsPerClient,
    originKeepAlive,
    logFormat,
    trustProxy,
  };
}

/**
 * The options `startGateServer` takes for a checked configuration (whose settings were read
 * with it, once).
 *
 * @example
 * ```ts
 * const gate = await startGateServer(gateServerOptions(readServerConfig(env, 1)));
 * ```
 */
export function gateServerOptions(config: ServerConfig): GateServerOptions {
  // Every field but the process count, which is the cluster's.
  const { workers: _workers, ...options } = config;
  return options;
}
