/**
 * The gate's decision for one request, as a pure function of method, raw request target,
 * settings and clock: the behaviour table of the README in one place, shared by the Hono
 * middleware (Workers, any Hono app) and the Node server. It returns data only; turning a
 * refusal into a response is the HTTP layer's work (`src/http/refusal.ts`).
 * Pure: no Hono, Node or Workers APIs, no state outside its arguments.
 * @module
 */
import { canonicalAddress } from "./ip.js";
import {
  idProblem,
  originPath,
  parseLink,
  splitTarget,
  unsafePathDetail,
  type Link,
} from "./link.js";
import {
  rateBytes,
  tokenQuery,
  verifyMp4Token,
  verifyQueryToken,
  type TokenQuery,
} from "./query-token.js";
import { md5Base64url } from "./md5.js";
import { verifyToken, type Md5Base64url, type Verdict } from "./token.js";

/** Why the gate refuses a request under a guarded prefix. */
export type RefusalReason = "method" | "unsafe-path" | "malformed" | "bad-token" | "expired";

/** What the gate does with a request. */
export type Decision =
  /** Not under a configured prefix: not the gate's business (the servers answer 404). */
  | { action: "pass" }
  /** Refused: answer `status` (403, 405 or 410); `detail` says exactly what is wrong. */
  | { action: "reject"; status: 403 | 405 | 410; reason: RefusalReason; detail: string }
  /** Granted a stream link: fetch `target` (path and query, token and expires removed). */
  | { action: "proxy"; form: "stream"; link: Link; target: string }
  /**
   * Granted a CDN secure token: fetch `target` (`md5` and `expires` taken from the query);
   * `propagate` (`md5=…&expires=…`) goes on the relative URIs of a manifest it returns.
   */
  | { action: "proxy"; form: "query"; target: string; propagate: string }
  /** Granted an MP4 advanced link: fetch `target`, sending at most `rate` (Node enforces it). */
  | { action: "proxy"; form: "mp4"; target: string; rate: Rate };

/** An MP4 link's `speed` (bytes/s after the first `buffer` bytes), as nginx reads the sizes. */
export interface Rate {
  speed?: number;
  buffer?: number;
}

/**
 * Whether tokens are bound to the client's address (Gcore's IP-bound variant): `off` (only
 * unbound tokens verify), `on` (only a token bound to the address the gate sees), `optional`
 * (either).
 */
export type BindIp = "off" | "on" | "optional";

/** Validated gate settings; build them with {@link gateSettings}. */
export interface GateSettings {
  /** Secrets that verify, newest first (the first is the one to sign with); may be empty with `clientSecrets`. */
  readonly secrets: readonly string[];
  /**
   * Per-client secrets (`CLIENT_SECRETS`): a stream or MP4 link verifies only with its client
   * id's; an id not listed is refused. A lookup table without a prototype, so no id can name
   * an inherited property.
   */
  readonly clientSecrets: Readonly<Record<string, readonly string[]>> | undefined;
  /** Seconds a link stays valid past its `expires`, for signers whose clocks drift. */
  readonly expiryLeewaySeconds: number;
  /** First path segments guarded by stream links (and MP4 advanced links). */
  readonly prefixes: readonly string[];
  readonly bindIp: BindIp;
  /** First path segments guarded by CDN secure tokens, or `*` for every path outside `prefixes`. */
  readonly queryPrefixes: readonly string[] | "*";
  /** Whether MP4 advanced links are accepted under `prefixes`. */
  readonly mp4Tokens: boolean;
  /** Unix seconds now. */
  readonly now: () => number;
  /** The MD5 tokens are checked with. */
  readonly md5: Md5Base64url;
}

/** What {@link gateSettings} takes. */
export interface GateOptions {
  /**
   * The shared secret, or several (key rotation: every one verifies; sign with the first).
   * Required unless `clientSecrets` is given; none may be empty.
   */
  secret?: string | readonly string[];
  /**
   * Secrets per client id (multi-tenant): `{ "2675": ["new", "old"] }`. With it, a stream or
   * MP4 link verifies only with its client's secrets and an unlisted client is refused (403);
   * CDN query tokens, which name no client, still need `secret`.
   */
  clientSecrets?: Readonly<Record<string, string | readonly string[]>>;
  /** Seconds a link stays valid past `expires` (clock drift between signer and gate). Default 0. */
  expiryLeewaySeconds?: number;
  /** First path segments the gate guards. Default `["videos", "cmaf", "mpegts"]`. */
  prefixes?: readonly string[];
  /** Clock in unix seconds (tests inject one). Default: `Math.floor(Date.now() / 1000)`. */
  now?: () => number;
  /** See {@link BindIp}. Default `off`. */
  bindIp?: BindIp;
  /**
   * First path segments whose files carry a CDN secure token in the query (`?md5=&expires=`),
   * or `"*"` for every path outside `prefixes`. Default none.
   */
  queryPrefixes?: readonly string[] | "*";
  /** Accept MP4 advanced links (`/<kind>/<client>_<video>/<file>.mp4?md5=&expires=`). Default false. */
  mp4Tokens?: boolean;
  /**
   * The MD5 to check tokens with: MD5 of a text's UTF-8 bytes as unpadded base64url. Default:
   * the core's own, pure TypeScript. A runtime with a native MD5 may pass it (the nginx module
   * passes njs's `crypto`); it must give the same 22 characters for every text.
   */
  md5?: Md5Base64url;
}

/** Prefixes guarded when none are configured: Gcore's VOD (`videos`, `cmaf`) and live (`mpegts`). */
export const DEFAULT_PREFIXES: readonly string[] = ["videos", "cmaf", "mpegts"];

const PREFIX_SHAPE = /^[A-Za-z0-9~-][A-Za-z0-9._~-]*$/;
const systemClock = (): number => Math.floor(Date.now() / 1000);

/**
 * Checks gate options once, at start-up, and returns settings for {@link decide}.
 *
 * @throws Error naming the option when the secret is missing or a prefix is not one segment.
 * @example
 * ```ts
 * const settings = gateSettings({ secret: env.SECRET, prefixes: ["videos", "cmaf", "mpegts"] });
 * ```
 */
export function gateSettings(options: GateOptions): GateSettings {
  const secrets = secretList("secret", options?.secret);
  const clientSecrets = clientSecretTable(options?.clientSecrets);
  if (secrets.length === 0 && clientSecrets === undefined) {
    throw optionError(
      "secret",
      " ",
      "is required: set it to the secret your links are signed with",
    );
  }
  const leeway = options.expiryLeewaySeconds ?? 0;
  if (!Number.isInteger(leeway) || leeway < 0 || leeway > MAX_LEEWAY_SECONDS) {
    throw optionError(
      "expiryLeewaySeconds",
      " ",
      `must be a whole number from 0 to ${MAX_LEEWAY_SECONDS}`,
    );
  }
  const prefixes = options.prefixes ?? DEFAULT_PREFIXES;
  if (!Array.isArray(prefixes) || prefixes.length === 0) {
    throw optionError(
      "prefixes",
      " ",
      "must be a non-empty list of path segments, e.g. videos,cmaf",
    );
  }
  for (const prefix of prefixes) {
    if (typeof prefix !== "string" || !PREFIX_SHAPE.test(prefix) || /^\.+$/.test(prefix)) {
      throw optionError("prefixes", ": ", `"${String(prefix)}" is not a single path segment`);
    }
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    throw new Error("now must be a function returning unix seconds");
  }
  const bindIp = options.bindIp ?? "off";
  if (bindIp !== "off" && bindIp !== "on" && bindIp !== "optional") {
    throw optionError("bindIp", " ", `must be off, on or optional, got ${JSON.stringify(bindIp)}`);
  }
  const queryPrefixes = options.queryPrefixes ?? [];
  if (queryPrefixes !== "*") {
    if (!Array.isArray(queryPrefixes)) {
      throw optionError("queryPrefixes", " ", 'must be a list of path segments or "*"');
    }
    for (const prefix of queryPrefixes) {
      if (typeof prefix !== "string" || !PREFIX_SHAPE.test(prefix) || /^\.+$/.test(prefix)) {
        throw optionError(
          "queryPrefixes",
          ": ",
          `"${String(prefix)}" is not a single path segment`,
        );
      }
      if (prefixes.includes(prefix)) {
        throw optionError(
          "queryPrefixes",
          ": ",
          `"${prefix}" is a stream prefix too; a path has one form`,
        );
      }
    }
  }
  if (options.mp4Tokens !== undefined && typeof options.mp4Tokens !== "boolean") {
    throw optionError("mp4Tokens", " ", "must be true or false");
  }
  if (options.md5 !== undefined && typeof options.md5 !== "function") {
    throw new Error("md5 must be a function of a text returning its base64url MD5");
  }
  if (secrets.length === 0 && (queryPrefixes === "*" || queryPrefixes.length > 0)) {
    throw optionError(
      "queryPrefixes",
      ": ",
      "CDN tokens name no client, so they need secret besides clientSecrets",
      "CDN tokens name no client, so they need SECRET besides CLIENT_SECRETS",
    );
  }
  return Object.freeze({
    secrets,
    clientSecrets,
    expiryLeewaySeconds: leeway,
    prefixes: Object.freeze(prefixes.slice()),
    now: options.now ?? systemClock,
    bindIp,
    queryPrefixes: queryPrefixes === "*" ? "*" : Object.freeze(queryPrefixes.slice()),
    mp4Tokens: options.mp4Tokens ?? false,
    md5: options.md5 ?? md5Base64url,
  });
}

/** An error of {@link gateSettings}: the option it names, and what is wrong in a setting's words. */
export interface OptionError extends Error {
  readonly option: string;
  /** What is wrong, without the option's name, for a caller naming its own setting. */
  readonly detail: string;
}

/** An Error naming the option (a plain Error with two fields: njs bundles this, without classes). */
function optionError(
  option: string,
  joint: " " | ": ",
  detail: string,
  settingDetail?: string,
): OptionError {
  const error = new Error(option + joint + detail) as Error & { option: string; detail: string };
  error.option = option;
  error.detail = settingDetail ?? detail;
  return error;
}

/** Whether `error` is one of {@link gateSettings}' errors. */
export function isOptionError(error: unknown): error is OptionError {
  return error instanceof Error && typeof (error as Partial<OptionError>).option === "string";
}

/** A day: more leeway than that is no clock drift but a longer link, which the signer decides. */
export const MAX_LEEWAY_SECONDS = 86_400;

/** A secret or several as a frozen list; each a non-empty string. */
function secretList(name: string, value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`${name} must be a non-empty string or a non-empty list of them`);
  }
  for (const secret of list) {
    if (typeof secret !== "string" || secret === "") {
      throw new Error(`${name} must be a non-empty string or a non-empty list of them`);
    }
  }
  return Object.freeze([...list]);
}

/** Per-client secrets as a prototype-free table of frozen lists. */
function clientSecretTable(value: GateOptions["clientSecrets"]): GateSettings["clientSecrets"] {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("clientSecrets must be an object of client id → secret(s)");
  }
  const table: Record<string, readonly string[]> = Object.create(null);
  for (const clientId of Object.keys(value)) {
    const problem = idProblem(clientId);
    if (problem !== undefined || clientId.includes("_")) {
      throw new Error(
        `clientSecrets: client id ${JSON.stringify(clientId.slice(0, 64))} is not one a link can carry`,
      );
    }
    table[clientId] = secretList(`clientSecrets[${JSON.stringify(clientId)}]`, value[clientId]);
  }
  return Object.freeze(table);
}

/**
 * The secrets a link of `clientId` may verify with: its own under `clientSecrets` (none for an
 * unlisted id), else the shared ones.
 */
function secretsOf(settings: GateSettings, clientId: string): readonly string[] {
  const table = settings.clientSecrets;
  if (table === undefined) return settings.secrets;
  // Its own keys only, whatever built the table (`{}`'s `constructor` is no client's): one
  // lookup, whatever the table's size.
  const own = Object.getOwnPropertyDescriptor(table, clientId);
  return own === undefined ? NO_SECRETS : (own.value as readonly string[]);
}
const NO_SECRETS: readonly string[] = Object.freeze([]);

/**
 * The verdict of the first secret a token is not simply wrong for: valid, expired or malformed
 * (the same for every secret); `bad-token` when every secret gives that (or there are none).
 */
function withAnySecret(secrets: readonly string[], verify: (secret: string) => Verdict): Verdict {
  for (let i = 0; i < secrets.length; i++) {
    const verdict = verify(secrets[i]!);
    if (verdict !== "bad-token") return verdict;
  }
  return "bad-token";
}

/** Now as expiry sees it: the clock less the leeway, so `expires + leeway < clock` is expired. */
function expiryNow(settings: GateSettings): number {
  return settings.now() - settings.expiryLeewaySeconds;
}

const PASS: Decision = Object.freeze({ action: "pass" });
/** A fixed refusal, shared by every call (frozen: no caller can change another's). */
function fixedRefusal(status: 403 | 405 | 410, reason: RefusalReason, detail: string): Decision {
  return Object.freeze({ action: "reject", status, reason, detail });
}
const WRONG_METHOD = fixedRefusal(405, "method", "only GET and HEAD");
const BAD_TOKEN = fixedRefusal(403, "bad-token", "token does not match");
const EXPIRED = fixedRefusal(410, "expired", "expired");
const NO_FILE = fixedRefusal(
  403,
  "malformed",
  "no file: a CDN token covers files, not a directory's own URL",
);
const RAW_HASH = fixedRefusal(403, "unsafe-path", "raw # in the request target");

/** The longest path the gate reads; a longer one under a prefix is refused (403). */
export const MAX_PATH = 1024;
const LONG_PATH = fixedRefusal(403, "malformed", `a path over ${MAX_PATH} characters`);

/**
 * A request under a prefix that asks to upgrade the connection (any `Upgrade` header) is
 * refused (403) before it is decided: no media request upgrades, and behind nginx an origin's
 * 101 would turn into a raw tunnel to the origin, past every check. Every runtime asks this.
 *
 * @param upgrade - The request's `Upgrade` header, or undefined when it has none.
 * @example
 * ```ts
 * upgradeRefusal("/videos/2675_abc/TOKEN/1861919999/a.ts", settings, "websocket"); // a 403
 * ```
 */
export function upgradeRefusal(
  target: string,
  settings: GateSettings,
  upgrade: string | undefined,
): Decision | undefined {
  return upgrade !== undefined && isGuarded(target, settings) ? UPGRADE : undefined;
}
const UPGRADE = fixedRefusal(403, "malformed", "a request that asks to upgrade");

/**
 * Decides one request, in the README's table order: prefix (pass), method (405), unsafe path
 * and shape (403), token (403), expiry (410); then proxy. Under `prefixes` a link is a stream
 * link (token and expires in the path) or, with `mp4Tokens`, an MP4 advanced link (`md5` and
 * `expires` in the query); under `queryPrefixes` a path carries a CDN secure token in its query.
 *
 * @param method - The HTTP method as received.
 * @param target - The raw request target (`/path?query`) or absolute URL, undecoded.
 * @param settings - From {@link gateSettings}.
 * @param address - The client's address as the gate sees it (any usual spelling), for
 *   IP-bound tokens; unused while `bindIp` is `off`.
 * @example
 * ```ts
 * const decision = decide("GET", "/videos/2675_abc/TOKEN/1861919999/master.m3u8", settings);
 * if (decision.action === "proxy") fetch(origin + decision.target);
 * ```
 */
export function decide(
  method: string,
  target: string,
  settings: GateSettings,
  address?: string,
): Decision {
  const { path, query } = splitTarget(target);
  const kind = firstSegment(path);
  const stream = kind !== undefined && settings.prefixes.includes(kind);
  if (!stream && !guardsQuery(settings, kind ?? path.slice(1))) return PASS;
  // Before anything reads it: njs checks a path a character at a time (a long one of escapes
  // costs milliseconds), and no link is this long.
  if (path.length > MAX_PATH) return LONG_PATH;
  if (method !== "GET" && method !== "HEAD") return WRONG_METHOD;
  // No HTTP client sends a fragment (RFC 9112 §3.2), so a raw "#" is not one: reading the
  // rest as a fragment would serve another file than workerd, which reads it as "%23".
  if (target.includes("#")) return RAW_HASH;
  if (!stream) return decideQuery(path, query, settings, address);
  const parsed = parseLink(path);
  if (!parsed.ok) {
    if (parsed.problem === "malformed" && settings.mp4Tokens && MP4_FILE.test(path)) {
      const mp4 = tokenQuery(query, true);
      if (mp4.md5 !== undefined) return decideMp4(path, mp4, settings, address);
    }
    return { action: "reject", status: 403, reason: parsed.problem, detail: parsed.detail };
  }
  const link = parsed.link;
  const secrets = secretsOf(settings, link.clientId);
  const now = expiryNow(settings);
  const verdict = underBinding(settings, address, (ip) =>
    withAnySecret(secrets, (secret) =>
      verifyToken(
        {
          clientId: link.clientId,
          videoId: link.videoId,
          secret,
          expires: link.expires,
          token: link.token,
          now,
          ip,
        },
        settings.md5,
      ),
    ),
  );
  const refusal = refusalFor(verdict, "malformed");
  if (refusal !== undefined) return refusal;
  const pathOnly = originPath(link);
  return {
    action: "proxy",
    form: "stream",
    link,
    target: query === "" ? pathOnly : `${pathOnly}?${query}`,
  };
}

/**
 * Whether `target` is the gate's business: under a stream prefix or a CDN-token prefix, so
 * that {@link decide} grants or refuses it rather than passing it on.
 *
 * @example
 * ```ts
 * isGuarded("/videos/2675_abc/", settings); // true with the default prefixes
 * ```
 */
export function isGuarded(target: string, settings: GateSettings): boolean {
  const path = splitTarget(target).path;
  const kind = firstSegment(path);
  if (kind !== undefined && settings.prefixes.includes(kind)) return true;
  return guardsQuery(settings, kind ?? path.slice(1));
}

/** The first segment of a path that has a second one (`/videos/…` → `videos`). */
function firstSegment(path: string): string | undefined {
  const end = path.indexOf("/", 1);
  return end < 0 ? undefined : path.slice(1, end);
}

/** `/<kind>/<client>_<video>/<file…>.mp4`: the path of an MP4 advanced link. */
const MP4_FILE = /^\/[^/]+\/[^/_]+_[^/]+\/.+\.mp4$/i;

function guardsQuery(settings: GateSettings, kind: string): boolean {
  const guarded = settings.queryPrefixes;
  return guarded === "*" ? true : guarded.includes(kind);
}

/** A CDN secure token (`?md5=…&expires=…`) on a path under `queryPrefixes`. */
function decideQuery(
  path: string,
  query: string,
  settings: GateSettings,
  address: string | undefined,
): Decision {
  const unsafe = unsafePathDetail(path);
  if (unsafe !== undefined) {
    return { action: "reject", status: 403, reason: "unsafe-path", detail: unsafe };
  }
  // A directory token covers the files in the directory, not the directory's own URL (an index
  // page or a listing at the origin).
  if (path.endsWith("/")) return NO_FILE;
  const tokens = tokenQuery(query, false);
  const now = expiryNow(settings);
  const verdict = underBinding(settings, address, (ip) =>
    withAnySecret(settings.secrets, (secret) =>
      verifyQueryToken(path, tokens, secret, ip, now, settings.md5),
    ),
  );
  const refusal = refusalFor(verdict, "no single md5 and expires of the right shape in the query");
  if (refusal !== undefined) return refusal;
  return {
    action: "proxy",
    form: "query",
    target: tokens.rest === "" ? path : `${path}?${tokens.rest}`,
    propagate: `md5=${tokens.md5}&expires=${tokens.expires}`,
  };
}

/** An MP4 advanced token on `/<kind>/<client>_<video>/<file>.mp4`. */
function decideMp4(
  path: string,
  tokens: TokenQuery,
  settings: GateSettings,
  address: string | undefined,
): Decision {
  // The path rules were checked already: parseLink found the path safe but no stream link.
  const now = expiryNow(settings);
  const segmentStart = path.indexOf("/", 1) + 1;
  const clientId = path.slice(segmentStart, path.indexOf("_", segmentStart));
  const secrets = secretsOf(settings, clientId);
  const verdict = underBinding(settings, address, (ip) =>
    withAnySecret(secrets, (secret) => verifyMp4Token(path, tokens, secret, ip, now, settings.md5)),
  );
  const refusal = refusalFor(verdict, "no single md5 and expires, or a bad speed or buffer");
  if (refusal !== undefined) return refusal;
  const rate: Rate = {};
  if (tokens.speed !== undefined && tokens.speed !== "") rate.speed = rateBytes(tokens.speed);
  if (tokens.buffer !== undefined && tokens.buffer !== "") rate.buffer = rateBytes(tokens.buffer);
  return {
    action: "proxy",
    form: "mp4",
    target: tokens.rest === "" ? path : `${path}?${tokens.rest}`,
    rate,
  };
}

/** The refusal for a verdict that is not `valid`, or undefined for a valid one. */
function refusalFor(verdict: Verdict, malformed: string): Decision | undefined {
  if (verdict === "valid") return undefined;
  if (verdict === "bad-token") return BAD_TOKEN;
  if (verdict === "expired") return EXPIRED;
  return { action: "reject", status: 403, reason: "malformed", detail: malformed };
}

/**
 * A verdict under `bindIp`: `verify` is asked with "" (unbound) and/or the client's canonical
 * address (bound), as the setting allows.
 */
function underBinding(
  settings: GateSettings,
  address: string | undefined,
  verify: (ip: string) => Verdict,
): Verdict {
  if (settings.bindIp !== "on") {
    const unbound = verify("");
    if (unbound !== "bad-token" || settings.bindIp === "off") return unbound;
  }
  const ip = address === undefined ? undefined : canonicalAddress(address);
  // No address the gate can name: no bound token can be right.
  if (ip === undefined) return "bad-token";
  return verify(ip);
}
