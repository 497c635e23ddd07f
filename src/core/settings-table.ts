/**
 * Every setting, once: its environment variable (Worker binding), CLI flag, commands, parser,
 * default, runtimes, help line and docs text. Parsing on Node, the Worker and `nginx-config`,
 * the commands' flags and `--help`, and `docs/configuration.md` are all derived from it, so a
 * new setting is one entry here plus the field that carries it where it is used. Pure.
 * @module
 */
import { parseAddressRanges, type AddressRanges } from "./ip.js";
import { MAX_LEEWAY_SECONDS, type BindIp } from "./decide.js";
import {
  parseCacheKeyQuery,
  parseClientSecrets,
  parseCorsOrigins,
  parseForwardHeaders,
  parseHost,
  parseInteger,
  parseMetricsListen,
  parseOrigin,
  parsePrefixes,
  parseSecrets,
  parseSize,
  parseSwitch,
  parseTimeout,
  quoted,
  SettingError,
} from "./settings.js";

/** The commands whose flags the table gives. */
export type Command = "serve" | "nginx-config";
/** Where a setting takes effect. */
export type Runtime = "node" | "worker" | "nginx";

/** One setting, or (without `env`) a flag of a command alone. */
export interface SettingSpec<T = unknown> {
  /** Environment variable and Worker binding; undefined for a flag alone. */
  readonly env?: string;
  /** The CLI flag without its dashes; undefined: no flag. */
  readonly flag?: string;
  /** The flag's value as help shows it, e.g. `N` or `on|off`. */
  readonly arg?: string;
  /** The flag names a file whose content is the value (read by the command, never echoed). */
  readonly file?: boolean;
  /** An environment variable naming that file instead (e.g. `CLIENT_SECRETS_FILE`). */
  readonly fileEnv?: string;
  /** The commands taking the flag (and reading the variable). */
  readonly commands: readonly Command[];
  /** How the Worker gets it: a `[vars]` entry or a secret; undefined: not on the Worker. */
  readonly worker?: "var" | "secret";
  readonly runtimes: readonly Runtime[];
  /** The default as help and docs show it; empty: none. */
  readonly default: string;
  /** `serve --help`'s words (and every command's, unless it has its own below). */
  readonly help: string;
  /** `nginx-config --help`'s words, where nginx does it differently. */
  readonly nginxHelp?: string;
  /** The configuration reference's paragraph. */
  readonly docs: string;
  /** The value from its text (undefined when unset); throws SettingError naming the setting. */
  readonly parse: (text: string | undefined) => T;
}

function setting<T>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

const BOTH: readonly Command[] = ["serve", "nginx-config"];
const SERVE: readonly Command[] = ["serve"];
const ALL: readonly Runtime[] = ["node", "worker", "nginx"];
const NODE: readonly Runtime[] = ["node"];
const NODE_NGINX: readonly Runtime[] = ["node", "nginx"];
const NODE_WORKER: readonly Runtime[] = ["node", "worker"];

/** nginx's `send_timeout` is 60 s too. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 60_000;
/** Enough for a few hundred players fetching at once; each waits for a free connection beyond. */
export const DEFAULT_ORIGIN_CONNECTIONS = 512;
/** nginx's `client_header_timeout` is 60 s, and so is Node's own `headersTimeout`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Longer than the 60 s idle timeout of common load balancers, so they close first. */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 65_000;
/**
 * Far more than one process streams to at once; a bound on what a flood of idle connections
 * can take, each holding memory and a descriptor (which the origin connections need too).
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** `CACHE_DEFAULT_TTL_S` unset: a `Last-Modified` heuristic gives at most a minute. */
export const DEFAULT_CACHE_TTL_S = 60;
/** `CACHE_MAX_BYTES` unset with `CACHE=on`. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

/** Blank text: unset. */
const blank = (text: string | undefined) => text === undefined || text.trim() === "";

/** One of `choices`, or `fallback` when unset. */
function oneOf<C extends string>(name: string, choices: readonly C[], fallback: C) {
  return (text: string | undefined): C => {
    const value = (text ?? "").trim() || fallback;
    if (!(choices as readonly string[]).includes(value)) {
      const list = `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
      throw new SettingError(name, `must be ${list}, got ${quoted(value)}`);
    }
    return value as C;
  };
}

/** A whole number, `auto` (undefined), or `fallback` when unset. */
function countOrAuto(name: string, max: number) {
  return (text: string | undefined): number | "auto" => {
    const value = (text ?? "").trim();
    return value === "auto" ? "auto" : parseInteger(name, value, 1, 1, max);
  };
}

/** The settings, in the order `--help` and the docs list them. */
export const SETTINGS = {
  ORIGIN_URL: setting({
    env: "ORIGIN_URL",
    flag: "origin-url",
    arg: "URL",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "",
    help: "origin base URL (http or https)",
    nginxHelp: "origin base URL (http or https; its host is resolved once, when nginx starts)",
    docs: "The origin's base URL, http or https, with no query, fragment or credentials; a granted `/videos/…` path is fetched below it, prefix included, so a base ending in a guarded prefix (`…/videos`) gets a warning at start (the origin would be asked `/videos/videos/…`). Unset on `serve`: demo mode (a bundled HLS sample and a generated secret).",
    parse: parseOrigin,
  }),
  SECRET: setting({
    env: "SECRET",
    flag: "secret-file",
    arg: "PATH",
    file: true,
    commands: BOTH,
    worker: "secret",
    runtimes: ALL,
    default: "",
    help: "file holding the secret (there is no --secret: it would land in shell history and ps)",
    nginxHelp: "file holding the secret(s), as for serve; read on every request",
    docs: "The secret links are signed with; several, separated by commas or spaces, for key rotation (the first signs). Required unless CLIENT_SECRETS is set. On the Worker a secret (`wrangler secret put SECRET`); the CLI reads it from a file (`--secret-file`), never from a flag.",
    parse: (text): string[] =>
      text === undefined || text === "" ? [] : parseSecrets("SECRET", text),
  }),
  CLIENT_SECRETS: setting({
    env: "CLIENT_SECRETS",
    flag: "client-secrets-file",
    arg: "PATH",
    file: true,
    fileEnv: "CLIENT_SECRETS_FILE",
    commands: BOTH,
    worker: "secret",
    runtimes: ALL,
    default: "",
    help: 'JSON { "<client id>": "<secret> [<old>]" }: per-client secrets; unlisted clients get 403',
    nginxHelp: "per-client secrets (JSON), loaded by nginx at start and reload",
    docs: 'Per-client secrets, a JSON object `{ "<client id>": "<secret> [<older secret>…]" }`; a client not listed gets 403 (SECRET is then only for CDN tokens). The CLI reads it from a file (`--client-secrets-file`, `CLIENT_SECRETS_FILE`).',
    parse: (text) => (blank(text) ? undefined : parseClientSecrets(text!)),
  }),
  PREFIXES: setting({
    env: "PREFIXES",
    flag: "prefixes",
    arg: "LIST",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "videos,cmaf,mpegts",
    help: "guarded first path segments",
    docs: "The first path segments the gate guards, comma-separated.",
    parse: parsePrefixes,
  }),
  HOST: setting({
    env: "HOST",
    flag: "host",
    arg: "HOST",
    commands: SERVE,
    runtimes: NODE,
    default: "127.0.0.1",
    help: "address to listen on",
    docs: "The address the Node server listens on (`nginx-config` takes `--listen HOST:PORT`).",
    parse: (text) => parseHost("HOST", (text ?? "").trim() || "127.0.0.1"),
  }),
  PORT: setting({
    env: "PORT",
    flag: "port",
    arg: "N",
    commands: SERVE,
    runtimes: NODE,
    default: "8787",
    help: "port to listen on, 0 = any free one",
    docs: "The port the Node server listens on; 0 takes any free one.",
    parse: (text) => parseInteger("PORT", text, 8787, 0, 65535),
  }),
  WORKERS: setting({
    env: "WORKERS",
    flag: "workers",
    arg: "N|auto",
    commands: BOTH,
    runtimes: NODE_NGINX,
    default: "1 (nginx: auto)",
    help: "processes; auto = one per core [1]",
    nginxHelp: "nginx worker processes [auto]",
    docs: "Processes serving requests: a number, or `auto` for one per core. `serve` runs one by default, nginx one per core.",
    parse: countOrAuto("WORKERS", 256),
  }),
  LISTEN_SOCKETS: setting({
    env: "LISTEN_SOCKETS",
    flag: "listen-sockets",
    arg: "N|auto",
    commands: SERVE,
    runtimes: NODE,
    default: "auto",
    help: "sockets listening on the port (SO_REUSEPORT) in one process; auto = 64 where Node 22.12+ on Linux allows it, else 1",
    docs: "Sockets listening on the port in one process (SO_REUSEPORT); `auto` opens 64 where Node 22.12+ on Linux allows it, else 1.",
    parse: (text): number | undefined => {
      const value = countOrAuto("LISTEN_SOCKETS", 1024)(blank(text) ? "auto" : text);
      return value === "auto" ? undefined : value;
    },
  }),
  ORIGIN_TIMEOUT_MS: setting({
    env: "ORIGIN_TIMEOUT_MS",
    flag: "origin-timeout-ms",
    arg: "N",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "30000",
    help: "time to origin response headers (then 504) and most quiet between body reads (then cut)",
    nginxHelp: "to connect, and most quiet between origin reads (then 504)",
    docs: "Milliseconds the origin may take to its response headers (then 504) and, on Node and nginx, to stay quiet between body reads (then the answer is cut); 0 = no limit, else at least 100.",
    parse: (text) => parseTimeout("ORIGIN_TIMEOUT_MS", text, 30_000),
  }),
  CLIENT_TIMEOUT_MS: setting({
    env: "CLIENT_TIMEOUT_MS",
    flag: "client-timeout-ms",
    arg: "N",
    commands: BOTH,
    runtimes: NODE_NGINX,
    default: String(DEFAULT_CLIENT_TIMEOUT_MS),
    help: "longest a client may take no bytes of an answer before it is cut, its origin request ended; 0 = none",
    nginxHelp: "most quiet while a client sends its request or takes the answer (then cut)",
    docs: "Milliseconds a client may take no bytes of an answer before it is cut and its origin request ended; 0 = none.",
    parse: (text) => parseTimeout("CLIENT_TIMEOUT_MS", text, DEFAULT_CLIENT_TIMEOUT_MS),
  }),
  REQUEST_TIMEOUT_MS: setting({
    env: "REQUEST_TIMEOUT_MS",
    flag: "request-timeout-ms",
    arg: "N",
    commands: SERVE,
    runtimes: NODE,
    default: String(DEFAULT_REQUEST_TIMEOUT_MS),
    help: "longest a client may take to send a request (head and any body); then 408, closed",
    docs: "Milliseconds a client may take to send a request, head and body; then 408 and the connection is closed. At least 100.",
    // At least 100 ms: a smaller value is more likely seconds written as milliseconds.
    parse: (text) =>
      parseInteger("REQUEST_TIMEOUT_MS", text, DEFAULT_REQUEST_TIMEOUT_MS, 100, 3_600_000),
  }),
  KEEPALIVE_TIMEOUT_MS: setting({
    env: "KEEPALIVE_TIMEOUT_MS",
    flag: "keepalive-timeout-ms",
    arg: "N",
    commands: BOTH,
    runtimes: NODE_NGINX,
    default: String(DEFAULT_KEEPALIVE_TIMEOUT_MS),
    help: "longest an idle kept-alive connection stays open",
    docs: "Milliseconds an idle kept-alive client connection stays open; at least 100.",
    parse: (text) =>
      parseInteger("KEEPALIVE_TIMEOUT_MS", text, DEFAULT_KEEPALIVE_TIMEOUT_MS, 100, 3_600_000),
  }),
  MAX_CONNECTIONS: setting({
    env: "MAX_CONNECTIONS",
    flag: "max-connections",
    arg: "N",
    commands: SERVE,
    runtimes: NODE,
    default: String(DEFAULT_MAX_CONNECTIONS),
    help: "most client connections one process holds; one more is closed at once; 0 = no limit",
    docs: "Most client connections one process holds; one more is closed at once; 0 = no limit.",
    parse: (text) => parseInteger("MAX_CONNECTIONS", text, DEFAULT_MAX_CONNECTIONS, 0, 1_000_000),
  }),
  ORIGIN_CONNECTIONS: setting({
    env: "ORIGIN_CONNECTIONS",
    flag: "origin-connections",
    arg: "N",
    commands: BOTH,
    runtimes: NODE_NGINX,
    default: String(DEFAULT_ORIGIN_CONNECTIONS),
    help: "most connections open to the origin at once; further requests wait for one",
    nginxHelp: "idle origin connections each worker keeps (up to 1024)",
    docs: "Node: most connections open to the origin at once (further requests wait for one). nginx: idle origin connections each worker keeps.",
    parse: (text) =>
      parseInteger("ORIGIN_CONNECTIONS", text, DEFAULT_ORIGIN_CONNECTIONS, 1, 65_536),
  }),
  REQUESTS_PER_CLIENT: setting({
    env: "REQUESTS_PER_CLIENT",
    flag: "requests-per-client",
    arg: "N",
    commands: BOTH,
    runtimes: NODE_NGINX,
    default: "ORIGIN_CONNECTIONS/8, 1-8",
    help: "most granted requests one client address may have in flight (per process); one more is 503; 0 = no limit",
    nginxHelp:
      "most granted requests one client address may have in flight (limit_conn); one more is 503; 0 = no limit",
    docs: "Most granted requests one client address may have in flight (per process; nginx: `limit_conn`); one more is 503; 0 = no limit. Unset: an eighth of ORIGIN_CONNECTIONS, from 1 to 8.",
    // Unset: undefined, for the default that ORIGIN_CONNECTIONS gives.
    parse: (text) =>
      blank(text) ? undefined : parseInteger("REQUESTS_PER_CLIENT", text, 0, 0, 65_536),
  }),
  ORIGIN_KEEPALIVE: setting({
    env: "ORIGIN_KEEPALIVE",
    flag: "origin-keepalive",
    arg: "on|off",
    commands: SERVE,
    runtimes: NODE,
    default: "on",
    help: "reuse origin connections; off for an origin that may send bytes after a response",
    docs: "Whether origin connections are reused; `off` for an origin that may send bytes after a response.",
    parse: (text) => parseSwitch("ORIGIN_KEEPALIVE", text, true),
  }),
  LOG_FORMAT: setting({
    env: "LOG_FORMAT",
    flag: "log-format",
    arg: "FORMAT",
    commands: SERVE,
    runtimes: NODE,
    default: "json",
    help: "json or pretty",
    docs: "The Node server's log lines: `json` or `pretty`.",
    parse: oneOf<"json" | "pretty">("LOG_FORMAT", ["json", "pretty"], "json"),
  }),
  BIND_IP: setting({
    env: "BIND_IP",
    flag: "bind-ip",
    arg: "off|on|optional",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "off",
    help: "tokens bound to the client's address: off, on (only bound ones), optional (either)",
    docs: "Tokens bound to the client's address: `off`, `on` (only bound ones are accepted) or `optional` (either).",
    parse: oneOf<BindIp>("BIND_IP", ["off", "on", "optional"], "off"),
  }),
  TRUST_PROXY: setting({
    env: "TRUST_PROXY",
    flag: "trust-proxy",
    arg: "CIDRS",
    commands: BOTH,
    runtimes: NODE_NGINX,
    default: "none: the peer",
    help: "proxies whose X-Forwarded-For names the client (comma-separated CIDRs)",
    docs: "Proxies (comma-separated addresses or CIDRs) whose `X-Forwarded-For` names the client; the right-most entry not trusted is the client. Unset: the peer's address.",
    parse: (text): AddressRanges | undefined => {
      if (blank(text)) return undefined;
      try {
        return parseAddressRanges(text!);
      } catch (error) {
        throw new SettingError("TRUST_PROXY", (error as Error).message);
      }
    },
  }),
  QUERY_TOKEN_PREFIXES: setting({
    env: "QUERY_TOKEN_PREFIXES",
    flag: "query-token-prefixes",
    arg: "LIST",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "none",
    help: "first path segments whose files carry a CDN token (?md5=&expires=), or *",
    docs: "First path segments whose files carry a CDN query token (`?md5=…&expires=…`), or `*` for any path outside PREFIXES; needs SECRET.",
    parse: (text): string[] | "*" => {
      const value = (text ?? "").trim();
      if (value === "*") return "*";
      if (value === "") return [];
      try {
        return parsePrefixes(value);
      } catch (error) {
        if (!(error instanceof SettingError)) throw error;
        throw new SettingError("QUERY_TOKEN_PREFIXES", error.detail);
      }
    },
  }),
  MP4_TOKENS: setting({
    env: "MP4_TOKENS",
    flag: "mp4-tokens",
    arg: "on|off",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "off",
    help: "MP4 advanced links under PREFIXES",
    nginxHelp:
      "MP4 advanced links (speed and buffer become nginx's limit_rate and limit_rate_after)",
    docs: "MP4 advanced links under PREFIXES, whose speed and buffer pace the download.",
    parse: (text) => parseSwitch("MP4_TOKENS", text, false),
  }),
  CORS_ORIGINS: setting({
    env: "CORS_ORIGINS",
    flag: "cors-origins",
    arg: "LIST",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "none: no CORS",
    help: "origins whose players may read answers, 403/410 included: * or a comma list",
    docs: "Origins whose pages may read the answers, refusals included: `*`, or a comma list of origins as browsers send them (`https://player.example.com`). Unset: no CORS headers at all.",
    parse: parseCorsOrigins,
  }),
  FORWARD_HEADERS: setting({
    env: "FORWARD_HEADERS",
    flag: "forward-headers",
    arg: "LIST",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "none",
    help: "request headers the origin gets besides Range, If-*, Accept*, User-Agent, Referer, Origin",
    docs: "Request headers the origin gets besides the allow-list (Range, If-*, Accept*, User-Agent, Referer, Origin), comma-separated; a header never forwarded (hop-by-hop, Host, Cookie, Authorization, X-Forwarded-*…) is refused.",
    parse: parseForwardHeaders,
  }),
  EXPIRY_LEEWAY_S: setting({
    env: "EXPIRY_LEEWAY_S",
    flag: "expiry-leeway-s",
    arg: "N",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "0",
    help: "seconds a link stays valid past expires",
    docs: `Seconds a link stays valid past its expiry, for clock drift; at most ${MAX_LEEWAY_SECONDS}.`,
    parse: (text) => parseInteger("EXPIRY_LEEWAY_S", text, 0, 0, MAX_LEEWAY_SECONDS),
  }),
  METRICS: setting({
    env: "METRICS",
    flag: "metrics",
    arg: "on|off",
    commands: SERVE,
    worker: "var",
    runtimes: NODE_WORKER,
    default: "on",
    help: "GET /metrics, Prometheus text format",
    docs: "Node: `GET /metrics` in Prometheus text format on METRICS_LISTEN. Worker: one JSON log line per request.",
    parse: (text) => parseSwitch("METRICS", text, true),
  }),
  METRICS_LISTEN: setting({
    env: "METRICS_LISTEN",
    flag: "metrics-listen",
    arg: "ADDR",
    commands: SERVE,
    runtimes: NODE,
    default: "127.0.0.1:9464",
    help: "host:port where /metrics is served, never the public port; off = no metrics",
    docs: "Where `/metrics` is served: `host:port` (`[v6]:port`; port 0 = any free one), never the public port; `off` = no metrics.",
    parse: parseMetricsListen,
  }),
  CACHE: setting({
    env: "CACHE",
    flag: "cache",
    arg: "on|off",
    commands: SERVE,
    worker: "var",
    runtimes: NODE_WORKER,
    default: "off",
    help: "a shared cache of origin answers, keyed without the token",
    docs: "A shared cache of origin answers, keyed by the origin path without the token, kept as long as RFC 9111 allows (nginx: `nginx-config --cache-dir`).",
    parse: (text) => parseSwitch("CACHE", text, false),
  }),
  CACHE_MAX_BYTES: setting({
    env: "CACHE_MAX_BYTES",
    flag: "cache-max-bytes",
    arg: "SIZE",
    commands: BOTH,
    runtimes: NODE_NGINX,
    default: "256m",
    help: "memory it may hold (e.g. 1g)",
    nginxHelp: "most the cache keeps on disk",
    docs: "Most the cache holds (Node: in memory; nginx: on disk), in bytes or with k, m or g.",
    parse: (text) => parseSize("CACHE_MAX_BYTES", text),
  }),
  CACHE_DEFAULT_TTL_S: setting({
    env: "CACHE_DEFAULT_TTL_S",
    flag: "cache-default-ttl-s",
    arg: "N",
    commands: SERVE,
    worker: "var",
    runtimes: NODE_WORKER,
    default: String(DEFAULT_CACHE_TTL_S),
    help: "most freshness a Last-Modified heuristic gives",
    docs: "Most seconds of freshness a `Last-Modified` heuristic gives an answer without explicit freshness.",
    parse: (text) => parseInteger("CACHE_DEFAULT_TTL_S", text, DEFAULT_CACHE_TTL_S, 0, 31_536_000),
  }),
  CACHE_KEY_QUERY: setting({
    env: "CACHE_KEY_QUERY",
    flag: "cache-key-query",
    arg: "all|none|LIST",
    commands: BOTH,
    worker: "var",
    runtimes: ALL,
    default: "none",
    help: "query parameters in the cache key (the origin still gets the whole query)",
    docs: "Query parameters in the cache key: `all`, `none`, or a comma list of names; the origin still gets the whole query. Needs the cache on.",
    parse: parseCacheKeyQuery,
  }),
};

/** The flags of `nginx-config` that are no setting of the gate. */
export const NGINX_FLAGS = {
  listen: setting({
    flag: "listen",
    arg: "HOST:PORT",
    commands: ["nginx-config"],
    runtimes: ["nginx"],
    default: "127.0.0.1:8787",
    help: "where nginx listens",
    docs: "Where nginx listens.",
    parse: (text) => text,
  }),
  prefix: setting({
    flag: "prefix",
    arg: "DIR",
    commands: ["nginx-config"],
    runtimes: ["nginx"],
    default: "./tokengate-nginx",
    help: "folder for pid, logs and temporary files, made if missing",
    docs: "The folder for nginx's pid, logs and temporary files and the module's settings, made if missing.",
    parse: (text) => text,
  }),
  jsModule: setting({
    flag: "js-module",
    arg: "PATH|none",
    commands: ["nginx-config"],
    runtimes: ["nginx"],
    default: "/usr/lib/nginx/modules/ngx_http_js_module.so",
    help: "load_module path of ngx_http_js_module, none when built in",
    docs: "The `load_module` path of ngx_http_js_module; `none` when nginx has it built in.",
    parse: (text) => text,
  }),
  native: setting({
    flag: "native",
    arg: "on|off",
    commands: ["nginx-config"],
    runtimes: ["nginx"],
    default: "on",
    help: "let nginx decide what it can itself; off: every request through the njs module",
    docs: "`on`: nginx checks and proxies the common link itself and the njs module decides the rest; `off`: the module decides every request (slower; for comparing the two).",
    parse: (text) => text,
  }),
  cacheDir: setting({
    flag: "cache-dir",
    arg: "DIR",
    commands: ["nginx-config"],
    runtimes: ["nginx"],
    default: "off",
    help: "turn on nginx's proxy_cache there, keyed by the origin path without the token",
    docs: "Turns on nginx's `proxy_cache` in this folder, keyed by the origin path without the token (CACHE=on elsewhere).",
    parse: (text) => text,
  }),
};

/** A setting's name. */
export type SettingName = keyof typeof SETTINGS;

/** The raw strings the gate reads, as Worker bindings or environment variables. */
export type SettingsEnv = { [K in SettingName]?: string };

/** Each setting's parsed value. */
export type Parsed<Table> = {
  [K in keyof Table]: Table[K] extends SettingSpec<infer T> ? T : never;
};

/** A table's Worker binding names, secrets included. */
export function workerBindings(table: Record<string, SettingSpec> = SETTINGS): string[] {
  return Object.values(table)
    .filter((spec) => spec.worker !== undefined)
    .map((spec) => spec.env!);
}

/** The Worker's binding names: its app is rebuilt when one changes. */
export const WORKER_BINDINGS: readonly string[] = workerBindings();

/**
 * A setting's raw value: a string, or undefined when unset. A Worker binding can be any JSON
 * value (`[vars]` without quotes gives a number or a list); that is refused, not guessed at.
 *
 * @throws SettingError naming the setting for a value that is not a string.
 */
export function textOf(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null || typeof value === "string") {
    return value ?? undefined;
  }
  throw new SettingError(
    name,
    `must be a string, got ${Array.isArray(value) ? "a list" : `a ${typeof value}`} (in wrangler.toml, quote the value)`,
  );
}

/**
 * One setting's value from the environment, by its table entry.
 *
 * @throws SettingError naming the setting.
 */
export function parseSetting<Table extends Record<string, SettingSpec>, K extends keyof Table>(
  table: Table,
  name: K,
  env: object,
): Parsed<Table>[K] {
  const spec = table[name]!;
  const raw = (env as Record<string, unknown>)[spec.env ?? String(name)];
  return spec.parse(textOf(spec.env ?? String(name), raw)) as Parsed<Table>[K];
}

/**
 * Every setting of a table, parsed in its order.
 *
 * @throws SettingError naming the first bad setting.
 */
export function parseSettings<Table extends Record<string, SettingSpec>>(
  table: Table,
  env: object,
): Parsed<Table> {
  const parsed: Record<string, unknown> = {};
  for (const name of Object.keys(table)) parsed[name] = parseSetting(table, name, env);
  return parsed as Parsed<Table>;
}
