/**
 * Reading the gate's settings from environment-style strings (Worker bindings, `process.env`),
 * once, into one typed object. Errors name the setting and say what to do; they never include
 * the secret. Pure: no Hono, Node or Workers APIs.
 * @module
 */
import { DEFAULT_CACHE_KEY_QUERY, type CacheKeyQuery } from "./cache-key.js";
import { DEFAULT_PREFIXES, gateSettings, isOptionError, type GateSettings } from "./decide.js";
import { canonicalAddress, type AddressRanges } from "./ip.js";
import { parseSetting, SETTINGS, type SettingsEnv } from "./settings-table.js";
import { FORWARDED, neverForwarded } from "./forward-headers.js";

/**
 * A setting that is missing or invalid; `setting` is its environment name, `detail` what is
 * wrong, and the message is the two.
 *
 * @example
 * ```ts
 * throw new SettingError("PORT", "must be a whole number from 0 to 65535");
 * ```
 */
export class SettingError extends Error {
  override name = "SettingError";
  constructor(
    readonly setting: string,
    readonly detail: string,
  ) {
    super(`${setting}: ${detail}`);
  }
}

/**
 * A bad value as a message shows it: quoted with its control characters escaped, so the
 * message stays one line, and cut short when long.
 *
 * @example
 * ```ts
 * quoted("80\n80"); // '"80\\n80"'
 * ```
 */
export function quoted(text: string): string {
  return text.length > 64 ? `${JSON.stringify(text.slice(0, 64))}…` : JSON.stringify(text);
}

/**
 * `error`, or, when its message would show the secret (a bad value that holds it, such as the
 * secret pasted into the wrong setting), an error naming the same setting without the value.
 *
 * @example
 * ```ts
 * throw withoutSecret(error, env); // "PORT: invalid value, not shown here: it holds the SECRET …"
 * ```
 */
export function withoutSecret(
  error: unknown,
  env: { SECRET?: unknown; CLIENT_SECRETS?: unknown },
): unknown {
  if (!(error instanceof SettingError)) return error;
  const secrets = secretsIn(env);
  if (secrets.length === 0) return error;
  // SECRET and CLIENT_SECRETS hold secrets by design, and their own messages quote none: only
  // what such a message says is checked.
  const own = error.setting === "SECRET" || error.setting === "CLIENT_SECRETS";
  const value = own ? undefined : (env as Record<string, unknown>)[error.setting];
  const shows = (text: string) => secrets.some((secret) => text.includes(secret));
  if (!(typeof value === "string" && shows(value)) && !shows(error.message)) return error;
  return new SettingError(
    error.setting,
    "invalid value, not shown here: it holds the SECRET (a secret pasted into the wrong setting?)",
  );
}

/**
 * Every secret the environment holds, as well as it can be read: SECRET's entries and, when
 * it parses, CLIENT_SECRETS' values; for keeping them out of messages.
 */
function secretsIn(env: { SECRET?: unknown; CLIENT_SECRETS?: unknown }): string[] {
  const found: string[] = [];
  if (typeof env.SECRET === "string") found.push(...env.SECRET.split(SECRET_SEPARATORS));
  if (typeof env.CLIENT_SECRETS === "string") {
    try {
      const table: unknown = JSON.parse(env.CLIENT_SECRETS);
      if (typeof table === "object" && table !== null) {
        for (const value of Object.values(table)) {
          if (typeof value === "string") found.push(...value.split(SECRET_SEPARATORS));
        }
      }
    } catch {
      // Not JSON: its own error names CLIENT_SECRETS without quoting it.
    }
  }
  return found.filter((secret) => secret.trim() !== "");
}

/** Between secrets in SECRET and CLIENT_SECRETS: commas and whitespace (no secret holds either). */
const SECRET_SEPARATORS = /[ \t\r\n,]+/;

/**
 * Parses a list of secrets (`SECRET`, a `CLIENT_SECRETS` value): separated by spaces or commas,
 * the first the one to sign with. Leading and trailing whitespace (a newline from `echo`) is
 * not part of a secret. Messages never show a secret.
 *
 * @throws SettingError naming `name` for no secret, an empty entry, or one listed twice.
 * @example
 * ```ts
 * parseSecrets("SECRET", "new-secret, old-secret"); // ["new-secret", "old-secret"]
 * ```
 */
export function parseSecrets(name: string, text: string): string[] {
  // One secret and at most whitespace after it (a file's newline), as most hold: no split.
  const single = SINGLE_SECRET.exec(text);
  if (single !== null) return [single[1]!];
  // Only ASCII spaces, tabs, newlines and commas separate: a no-break space or an ideographic
  // space is part of a secret, not a cut that would make two shorter ones.
  const trimmed = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (trimmed === "") {
    throw new SettingError(
      name,
      "holds only whitespace; set the secret your links are signed with",
    );
  }
  const secrets: string[] = [];
  for (const entry of trimmed.split(/[ \t\r\n]*,[ \t\r\n]*|[ \t\r\n]+/)) {
    if (entry === "") {
      throw new SettingError(
        name,
        "has an empty entry (a comma too many); separate secrets with one comma or space",
      );
    }
    if (secrets.includes(entry)) {
      throw new SettingError(
        name,
        `lists secret ${secrets.length + 1} twice (a rotation left a copy?)`,
      );
    }
    secrets.push(entry);
  }
  return secrets;
}

/** A lone secret: no separator in it, nothing before it, only whitespace after it. */
const SINGLE_SECRET = /^([^ \t\r\n,]+)[ \t\r\n]*$/;

/**
 * Parses `CLIENT_SECRETS`: a JSON object of client id → secrets (one string, separated as in
 * SECRET). Messages name the client id at most, never a secret or the JSON text.
 *
 * @throws SettingError naming CLIENT_SECRETS.
 * @example
 * ```ts
 * parseClientSecrets('{"2675": "new old"}'); // { "2675": ["new", "old"] }
 * ```
 */
export function parseClientSecrets(text: string): Record<string, string[]> {
  let table: unknown;
  try {
    table = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the fault, which may be a secret: the position only.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new SettingError(
      "CLIENT_SECRETS",
      `is not valid JSON${at === undefined ? "" : ` (at character ${at})`}`,
    );
  }
  if (typeof table !== "object" || table === null || Array.isArray(table)) {
    throw new SettingError(
      "CLIENT_SECRETS",
      'must be a JSON object: { "<client id>": "<secret> [<older secret>…]" }',
    );
  }
  const ids = Object.keys(table);
  if (ids.length === 0)
    throw new SettingError("CLIENT_SECRETS", "names no client; unset it to use SECRET for all");
  const parsed: Record<string, string[]> = Object.create(null);
  for (const id of ids) {
    const value = (table as Record<string, unknown>)[id];
    if (id === "" || /[^A-Za-z0-9.~-]/.test(id)) {
      throw new SettingError(
        "CLIENT_SECRETS",
        `client id ${quoted(id)} is not one a link can carry (letters, digits, . ~ -)`,
      );
    }
    if (typeof value !== "string") {
      throw new SettingError(
        "CLIENT_SECRETS",
        `client ${quoted(id)}: secrets must be one string, separated by spaces or commas`,
      );
    }
    try {
      parsed[id] = parseSecrets("CLIENT_SECRETS", value);
    } catch (error) {
      if (!(error instanceof SettingError)) throw error;
      throw new SettingError("CLIENT_SECRETS", `client ${quoted(id)}: ${error.detail}`);
    }
  }
  return parsed;
}

/** The raw strings the gate reads, as Worker bindings or environment variables. */
export type GateEnv = SettingsEnv;

/** Settings shared by the Worker and the Node server. */
export interface Settings {
  readonly gate: GateSettings;
  /** Origin base URL without a trailing slash, e.g. `https://origin.example.com/media`. */
  readonly origin: string;
  /** Time allowed until the origin's response headers; 0 means no limit. */
  readonly originTimeoutMs: number;
  /** Origins whose pages may read the answers (`CORS_ORIGINS`); undefined: no CORS at all. */
  readonly cors: "*" | readonly string[] | undefined;
  /**
   * The shared cache (`CACHE=on`): objects kept by origin path, never the token, as long as
   * RFC 9111 allows; a `Last-Modified` heuristic gives at most `heuristicCapSeconds`
   * (`CACHE_DEFAULT_TTL_S`); `keyQuery` (`CACHE_KEY_QUERY`) names the query parameters of the
   * key (see `core/cache-key.ts`). Undefined: off.
   */
  readonly cache:
    { readonly heuristicCapSeconds: number; readonly keyQuery: CacheKeyQuery } | undefined;
  /** `METRICS`: the Node server's `GET /metrics`, the Worker's log line per request. */
  readonly metrics: boolean;
  /**
   * `FORWARD_HEADERS`: request headers the origin gets besides the header policy's allow-list,
   * lower case; empty by default.
   */
  readonly forwardHeaders: readonly string[];
}

/**
 * Everything the Node server needs, checked (by `readServerConfig` on Node); `nginx-config`
 * prints its config from the same.
 */
export interface ServerConfig {
  /** The gate's settings, read once with the rest. */
  readonly settings: Settings;
  readonly host: string;
  readonly port: number;
  /** Worker processes; 1 serves from the primary process itself. */
  readonly workers: number;
  /** Listening sockets on the port; undefined = as many as the runtime allows (see node.ts). */
  readonly listenSockets: number | undefined;
  /** See the Node server's `GateServerOptions.clientTimeoutMs`. */
  readonly clientTimeoutMs: number;
  /** See the Node server's `GateServerOptions.requestTimeoutMs`. */
  readonly requestTimeoutMs: number;
  /** See the Node server's `GateServerOptions.keepAliveTimeoutMs`. */
  readonly keepAliveTimeoutMs: number;
  /** See the Node server's `GateServerOptions.maxConnections`. */
  readonly maxConnections: number;
  /** See the Node server's `GateServerOptions.originConnections`. */
  readonly originConnections: number;
  /** See the Node server's `GateServerOptions.requestsPerClient`; 0 = no limit. */
  readonly requestsPerClient: number;
  /** See the Node server's `GateServerOptions.originKeepAlive`. */
  readonly originKeepAlive: boolean;
  readonly logFormat: "json" | "pretty";
  /** See the Node server's `GateServerOptions.trustProxy`; undefined = trust no proxy. */
  readonly trustProxy: AddressRanges | undefined;
  /** See the Node server's `GateServerOptions.metrics`: METRICS on and METRICS_LISTEN not off. */
  readonly metrics: boolean;
  /** See the Node server's `GateServerOptions.metricsListen`; undefined when metrics are off. */
  readonly metricsListen: MetricsListen | undefined;
  /** See the Node server's `GateServerOptions.cache`; undefined = no cache. */
  readonly cache:
    { maxBytes: number; heuristicCapSeconds: number; keyQuery: CacheKeyQuery } | undefined;
}

export { DEFAULT_CACHE_TTL_S } from "./settings-table.js";

// A name, an address, or an IPv6 address in brackets (both of them, and a ":" between).
const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+|\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\])$/;

/** Whether `host` is an IP address or a host name one can listen on. */
function isListenHost(host: string): boolean {
  // A name needs a letter: "0" or "1" would reach getaddrinfo, which reads them as addresses.
  return (
    HOST_SHAPE.test(host) &&
    (canonicalAddress(host.replace(/^\[|\]$/g, "")) !== undefined || /[A-Za-z]/.test(host))
  );
}

/**
 * Parses a host to listen on: an IP address or a host name.
 *
 * @throws SettingError naming the setting.
 */
export function parseHost(name: string, host: string): string {
  if (!isListenHost(host)) {
    throw new SettingError(name, `${quoted(host)} is not an IP address or host name`);
  }
  return host;
}

/**
 * Parses a size in bytes: a whole number, or one with `k`, `m` or `g` (1024-based, as nginx
 * reads sizes); 0 when unset.
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
    match === null ? NaN : Number(match[1]) * 1024 ** "_kmg".indexOf(match[2]!.toLowerCase());
  if (!Number.isSafeInteger(value) || value > 2 ** 40) {
    throw new SettingError(
      name,
      `must be a size in bytes, e.g. 268435456 or 256m (up to 1024g), got ${quoted(trimmed)}`,
    );
  }
  return value;
}

/**
 * The metrics listener's own port, apart from the public one, on loopback: Prometheus's
 * registered default for an exporter, reachable by a local scraper and no viewer.
 */
export const DEFAULT_METRICS_LISTEN = "127.0.0.1:9464";

/** Where the metrics listener listens. */
export interface MetricsListen {
  host: string;
  port: number;
}

/**
 * Parses `METRICS_LISTEN`: `host:port` (`[v6]:port` for an IPv6 address; port 0 = any free
 * one), or `off` (undefined).
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
 * Parses `ORIGIN_URL`: an absolute http(s) URL with no query, fragment or credentials. The
 * result has no trailing slash, so `origin + "/videos/…"` is the upstream URL.
 *
 * @throws SettingError naming ORIGIN_URL.
 * @example
 * ```ts
 * parseOrigin("https://origin.example.com/media/"); // "https://origin.example.com/media"
 * ```
 */
export function parseOrigin(text: string | undefined): string {
  const example = "give the origin's base URL, e.g. https://origin.example.com";
  if (text === undefined || text.trim() === "") {
    throw new SettingError("ORIGIN_URL", `not set; ${example}`);
  }
  // The messages below never repeat the value: it may hold credentials.
  const trimmed = text.trim();
  // The URL parser drops tabs and newlines inside a URL; a value holding one is a mistake.
  if (/[\x00-\x20\x7f]/.test(trimmed)) {
    throw new SettingError("ORIGIN_URL", "must not contain spaces or control characters");
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new SettingError("ORIGIN_URL", `is not an absolute URL; ${example}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SettingError(
      "ORIGIN_URL",
      `must be http:// or https://, got ${quoted(url.protocol)}; ${example}`,
    );
  }
  // The text, not the parsed URL: an empty `user@`, `?` or `#` leaves nothing in the parsed
  // URL, and any credentials, query or fragment there has its `@`, `?` or `#` in the text.
  const authority = /^[a-z][a-z0-9+.-]*:[\\/]*([^\\/?#]*)/i.exec(trimmed)?.[1] ?? "";
  if (authority.includes("@")) {
    throw new SettingError(
      "ORIGIN_URL",
      "must not carry credentials (user:password@); the gate sends none to the origin",
    );
  }
  if (url.port === "0") {
    throw new SettingError("ORIGIN_URL", "port 0 is no port to connect to");
  }
  if (trimmed.includes("?")) {
    throw new SettingError("ORIGIN_URL", "must not carry a query (?…); the client's is passed on");
  }
  if (trimmed.includes("#")) {
    throw new SettingError("ORIGIN_URL", "must not carry a fragment (#…)");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * A warning when `ORIGIN_URL`'s path ends in a guarded prefix: the gate appends the link's whole
 * path, prefix included, so `https://origin/videos` is asked `/videos/videos/…`, which is rarely
 * meant. Not an error, since an origin may really store files that way.
 *
 * @param origin - ORIGIN_URL as {@link parseOrigin} returns it (no trailing slash).
 * @returns One line naming ORIGIN_URL and the repeated prefix (never the URL), or undefined.
 * @example
 * ```ts
 * originPrefixWarning("https://origin.example.com/videos", ["videos"], []); // "ORIGIN_URL: …"
 * ```
 */
export function originPrefixWarning(
  origin: string,
  prefixes: readonly string[],
  queryPrefixes: readonly string[] | "*",
): string | undefined {
  const scheme = origin.indexOf("://");
  const slash = origin.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (slash < 0) return undefined;
  const last = origin.slice(origin.lastIndexOf("/") + 1);
  const guarded = queryPrefixes === "*" ? prefixes : prefixes.concat(queryPrefixes);
  if (last === "" || guarded.indexOf(last) < 0) return undefined;
  return (
    `ORIGIN_URL: its path ends in /${last}, a guarded prefix, and the link's path is appended ` +
    `whole, so the origin is asked /${last}/${last}/…; drop /${last} from ORIGIN_URL unless ` +
    "the origin really keeps its files there"
  );
}

/**
 * Parses `PREFIXES`: comma-separated first path segments (spaces allowed); default `videos,cmaf,mpegts`.
 *
 * @example
 * ```ts
 * parsePrefixes("videos, cmaf, mpegts"); // ["videos", "cmaf", "mpegts"]
 * ```
 */
export function parsePrefixes(text: string | undefined): string[] {
  if (text === undefined || text.trim() === "") return [...DEFAULT_PREFIXES];
  const prefixes = text.split(",").map((part) => part.trim());
  for (const [i, prefix] of prefixes.entries()) {
    if (prefix === "") {
      throw new SettingError(
        "PREFIXES",
        `has an empty entry (a comma too many) in ${quoted(text)}`,
      );
    }
    // Checked here so the message can quote it on one line; gateSettings checks the rest.
    if (/[^\x21-\x7e]/.test(prefix)) {
      throw new SettingError("PREFIXES", `${quoted(prefix)} is not a single path segment`);
    }
    if (prefixes.indexOf(prefix) !== i) {
      throw new SettingError("PREFIXES", `lists ${quoted(prefix)} twice`);
    }
  }
  return prefixes;
}

/**
 * Parses a whole number setting within `[min, max]`; `fallback` when unset or empty.
 *
 * @throws SettingError naming the setting.
 * @example
 * ```ts
 * parseInteger("PORT", env.PORT, 8787, 0, 65535);
 * ```
 */
export function parseInteger(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return fallback;
  const value = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || value < min || value > max) {
    throw new SettingError(
      name,
      `must be a whole number from ${min} to ${max}, got ${quoted(text!)}`,
    );
  }
  return value;
}

/**
 * Parses an `on`/`off` setting; `fallback` when unset or empty.
 *
 * @throws SettingError naming the setting for any other value.
 * @example
 * ```ts
 * parseSwitch("CACHE", env.CACHE, false); // true for "on"
 * ```
 */
export function parseSwitch(name: string, text: string | undefined, fallback: boolean): boolean {
  const value = (text ?? "").trim();
  if (value === "") return fallback;
  if (value !== "on" && value !== "off") {
    throw new SettingError(name, `must be on or off, got ${quoted(value)}`);
  }
  return value === "on";
}

/**
 * Parses a timeout in milliseconds: 0 (none) or 100 to 3,600,000. Below 100 ms is refused: it
 * is more likely seconds written as milliseconds, and would cut every answer on a real network.
 *
 * @throws SettingError naming the setting.
 * @example
 * ```ts
 * parseTimeout("ORIGIN_TIMEOUT_MS", "30000", 30_000); // 30000
 * ```
 */
export function parseTimeout(name: string, text: string | undefined, fallback: number): number {
  const value = parseInteger(name, text, fallback, 0, 3_600_000);
  if (value !== 0 && value < 100) {
    throw new SettingError(
      name,
      `must be 0 (none) or from 100 to 3600000 ms, got ${quoted(text ?? "")}`,
    );
  }
  return value;
}

/**
 * Reads and checks every gate setting. Misconfiguration fails closed: the caller must refuse
 * to serve when this throws.
 *
 * @param env - The raw strings; see {@link GateEnv}.
 * @param now - Optional clock in unix seconds, for tests.
 * @throws SettingError naming the first bad setting.
 * @example
 * ```ts
 * const settings = readSettings({ ORIGIN_URL: "https://origin.example.com", SECRET: "…" });
 * ```
 */
export function readSettings(env: GateEnv, now?: () => number): Settings {
  try {
    return checkedSettings(env, now);
  } catch (error) {
    throw withoutSecret(error, env);
  }
}

function checkedSettings(env: GateEnv, now?: () => number): Settings {
  const read = <K extends keyof typeof SETTINGS>(name: K) => parseSetting(SETTINGS, name, env);
  const secretText = read("SECRET");
  const clientSecrets = read("CLIENT_SECRETS");
  if (secretText.length === 0 && clientSecrets === undefined) {
    throw new SettingError("SECRET", "not set; the gate refuses to serve without a secret");
  }
  const secrets = secretText;
  const origin = read("ORIGIN_URL");
  // The origin is shown at start-up and in errors; a secret in it would be logged. (A string
  // under 8 characters turns up in URLs by chance and says nothing.)
  const everySecret = [...secrets, ...Object.values(clientSecrets ?? {}).flat()];
  if (everySecret.some((one) => one.length >= 8 && origin.includes(one))) {
    throw new SettingError(
      "ORIGIN_URL",
      "holds the SECRET; the origin is logged, the secret never",
    );
  }
  const prefixes = read("PREFIXES");
  const bindIp = read("BIND_IP");
  const queryPrefixes = read("QUERY_TOKEN_PREFIXES");
  const mp4Tokens = read("MP4_TOKENS");
  const expiryLeewaySeconds = read("EXPIRY_LEEWAY_S");
  let gate: GateSettings;
  try {
    gate = gateSettings({
      secret: secrets.length > 0 ? secrets : undefined,
      clientSecrets,
      expiryLeewaySeconds,
      prefixes,
      now,
      bindIp,
      queryPrefixes,
      mp4Tokens,
    });
  } catch (error) {
    // gateSettings names its options; here they are settings.
    if (!isOptionError(error)) throw error;
    throw new SettingError(OPTION_SETTINGS[error.option] ?? "PREFIXES", error.detail);
  }
  const originTimeoutMs = read("ORIGIN_TIMEOUT_MS");
  const cors = read("CORS_ORIGINS");
  const cacheOn = read("CACHE");
  const heuristicCapSeconds = read("CACHE_DEFAULT_TTL_S");
  const keyQuery = read("CACHE_KEY_QUERY");
  if (!cacheOn && (textOfKey(env, "CACHE_KEY_QUERY") ?? "").trim() !== "") {
    throw new SettingError("CACHE_KEY_QUERY", "keys the cache, which is off: set CACHE=on too");
  }
  const cache = cacheOn ? { heuristicCapSeconds, keyQuery } : undefined;
  const metrics = read("METRICS");
  const forwardHeaders = read("FORWARD_HEADERS");
  return { gate, origin, originTimeoutMs, cors, cache, metrics, forwardHeaders };
}

/** The settings behind gateSettings' options, for its errors. */
const OPTION_SETTINGS: Record<string, string> = {
  prefixes: "PREFIXES",
  queryPrefixes: "QUERY_TOKEN_PREFIXES",
  secret: "SECRET",
  clientSecrets: "CLIENT_SECRETS",
  expiryLeewaySeconds: "EXPIRY_LEEWAY_S",
  bindIp: "BIND_IP",
  mp4Tokens: "MP4_TOKENS",
};

/** A setting's text, already checked to be a string or unset by reading it. */
function textOfKey(env: GateEnv, name: keyof GateEnv): string | undefined {
  return (env as Record<string, string | undefined>)[name];
}

/**
 * Parses `FORWARD_HEADERS`: comma-separated request header names the origin gets besides the
 * header policy's allow-list (`src/http/headers.ts`), e.g. `X-Playback-Session-Id`; unset or
 * empty: none. A name the policy never forwards (hop-by-hop, `Host`, `Cookie`,
 * `Authorization`, `X-Forwarded-*`, `Forwarded`, …) is refused, not ignored: the operator
 * would believe it passed.
 *
 * @throws SettingError naming FORWARD_HEADERS.
 * @example
 * ```ts
 * parseForwardHeaders("X-Playback-Session-Id, DNT"); // ["x-playback-session-id", "dnt"]
 * ```
 */
export function parseForwardHeaders(text: string | undefined): readonly string[] {
  if (text === undefined || text.trim() === "") return Object.freeze([]);
  const names: string[] = [];
  for (const entry of text.split(",").map((part) => part.trim())) {
    if (entry === "") {
      throw new SettingError(
        "FORWARD_HEADERS",
        `has an empty entry (a comma too many) in ${quoted(text)}`,
      );
    }
    const name = entry.toLowerCase();
    const problem = neverForwarded(name);
    if (problem !== undefined) {
      throw new SettingError("FORWARD_HEADERS", `${quoted(entry)}: ${problem}`);
    }
    if (FORWARDED[name] !== true && !names.includes(name)) names.push(name);
  }
  return Object.freeze(names);
}

/** Characters a listed parameter name may not hold: they would end or split a parameter. */
const NAME_STOPS = "&=?#;% \t\r\n+";

/**
 * Parses `CACHE_KEY_QUERY`: `all`, `none`, or comma-separated parameter names as they are
 * spelled in the query (compared exactly). Unset or empty: {@link DEFAULT_CACHE_KEY_QUERY}.
 *
 * @throws SettingError naming CACHE_KEY_QUERY.
 * @example
 * ```ts
 * parseCacheKeyQuery("quality, lang"); // ["quality", "lang"]
 * ```
 */
export function parseCacheKeyQuery(text: string | undefined): CacheKeyQuery {
  const value = (text ?? "").trim();
  if (value === "") return DEFAULT_CACHE_KEY_QUERY;
  if (value === "all" || value === "none") return value;
  const names: string[] = [];
  const parts = value.split(",");
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!.trim();
    if (name === "") {
      throw new SettingError(
        "CACHE_KEY_QUERY",
        `has an empty entry (a comma too many) in ${quoted(value)}`,
      );
    }
    for (let c = 0; c < name.length; c++) {
      const code = name.charCodeAt(c);
      if (code < 0x21 || code > 0x7e || NAME_STOPS.indexOf(name[c]!) >= 0) {
        throw new SettingError(
          "CACHE_KEY_QUERY",
          `must be all, none or a comma list of query parameter names, got ${quoted(name)}`,
        );
      }
    }
    if (names.indexOf(name) < 0) names.push(name);
  }
  return names;
}

/**
 * Parses `CORS_ORIGINS`: `*`, or comma-separated origins as browsers send them in `Origin`
 * (`scheme://host[:port]`, lower case, no path, no default port); unset or empty: no CORS.
 *
 * @throws SettingError naming CORS_ORIGINS for an entry that is not such an origin.
 * @example
 * ```ts
 * parseCorsOrigins("https://player.example.com, http://localhost:3000"); // the two, in order
 * ```
 */
export function parseCorsOrigins(text: string | undefined): "*" | readonly string[] | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  if (text.trim() === "*") return "*";
  const origins: string[] = [];
  for (const entry of text.split(",").map((part) => part.trim())) {
    if (entry === "") {
      throw new SettingError(
        "CORS_ORIGINS",
        `has an empty entry (a comma too many) in ${quoted(text)}`,
      );
    }
    if (entry === "*") {
      throw new SettingError("CORS_ORIGINS", "* stands alone: any origin, or a list without it");
    }
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if (url.protocol === "http:" || url.protocol === "https:") origin = url.origin;
    } catch {
      // Not a URL: no origin.
    }
    // A browser sends the origin exactly so; any other spelling would never match it.
    if (origin !== entry) {
      const hint = origin === undefined ? "" : ` (a browser sends ${quoted(origin)})`;
      throw new SettingError(
        "CORS_ORIGINS",
        `${quoted(entry)} is not an origin like https://player.example.com${hint}`,
      );
    }
    if (!origins.includes(origin)) origins.push(origin);
  }
  return Object.freeze(origins);
}
