/**
 * The gate's decision for one request, as a pure function of method, raw request target,
 * settings and clock: the behaviour table of the README in one place, shared by the Hono
 * middleware (Workers, any Hono app) and the Node server. It returns data only; turning a
 * refusal into a response is the HTTP layer's work (`src/http/refusal.ts`).
 * Pure: no Hono, Node or Workers APIs, no state outside its arguments.
 * @module
 */
import { canonicalAddress } from "./ip.js";
import { originPath, parseLink, splitTarget, type Link } from "./link.js";
import { verifyToken, type Verdict } from "./token.js";

/** Why the gate refuses a request under a guarded prefix. */
export type RefusalReason = "method" | "unsafe-path" | "malformed" | "bad-token" | "expired";

/** What the gate does with a request. */
export type Decision =
  /** Not under a configured prefix: not the gate's business (the servers answer 404). */
  | { action: "pass" }
  /** Refused: answer `status` (403, 405 or 410); `detail` says exactly what is wrong. */
  | { action: "reject"; status: 403 | 405 | 410; reason: RefusalReason; detail: string }
  /** Granted: fetch `target` (path and query, token and expires removed) from the origin. */
  | { action: "proxy"; link: Link; target: string };

/**
 * Whether tokens are bound to the client's address (Gcore's IP-bound variant): `off` (only
 * unbound tokens verify), `on` (only a token bound to the address the gate sees), `optional`
 * (either).
 */
export type BindIp = "off" | "on" | "optional";

/** Validated gate settings; build them with {@link gateSettings}. */
export interface GateSettings {
  readonly secret: string;
  readonly prefixes: ReadonlySet<string>;
  readonly bindIp: BindIp;
  /** Unix seconds now. */
  readonly now: () => number;
}

/** What {@link gateSettings} takes. */
export interface GateOptions {
  /** The shared secret; required, not empty. */
  secret: string;
  /** First path segments the gate guards. Default `["videos", "cmaf", "mpegts"]`. */
  prefixes?: readonly string[];
  /** Clock in unix seconds (tests inject one). Default: `Math.floor(Date.now() / 1000)`. */
  now?: () => number;
  /** See {@link BindIp}. Default `off`. */
  bindIp?: BindIp;
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
  if (typeof options?.secret !== "string" || options.secret === "") {
    throw new Error("secret is required: set it to the secret your links are signed with");
  }
  const prefixes = options.prefixes ?? DEFAULT_PREFIXES;
  if (!Array.isArray(prefixes) || prefixes.length === 0) {
    throw new Error("prefixes must be a non-empty list of path segments, e.g. videos,cmaf");
  }
  for (const prefix of prefixes) {
    if (typeof prefix !== "string" || !PREFIX_SHAPE.test(prefix) || /^\.+$/.test(prefix)) {
      throw new Error(`prefixes: "${String(prefix)}" is not a single path segment`);
    }
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    throw new Error("now must be a function returning unix seconds");
  }
  const bindIp = options.bindIp ?? "off";
  if (bindIp !== "off" && bindIp !== "on" && bindIp !== "optional") {
    throw new Error(`bindIp must be off, on or optional, got ${JSON.stringify(bindIp)}`);
  }
  return Object.freeze({
    secret: options.secret,
    prefixes: new Set(prefixes),
    now: options.now ?? systemClock,
    bindIp,
  });
}

const PASS: Decision = Object.freeze({ action: "pass" });
const WRONG_METHOD: Decision = Object.freeze({
  action: "reject",
  status: 405,
  reason: "method",
  detail: "only GET and HEAD",
});
const BAD_TOKEN: Decision = Object.freeze({
  action: "reject",
  status: 403,
  reason: "bad-token",
  detail: "token does not match",
});
const EXPIRED: Decision = Object.freeze({
  action: "reject",
  status: 410,
  reason: "expired",
  detail: "expired",
});
const RAW_HASH: Decision = Object.freeze({
  action: "reject",
  status: 403,
  reason: "unsafe-path",
  detail: "raw # in the request target",
});

/**
 * Decides one request, in the README's table order: prefix (pass), method (405), unsafe path
 * and shape (403), token (403), expiry (410); then proxy.
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
  const kindEnd = path.indexOf("/", 1);
  if (kindEnd < 0 || !settings.prefixes.has(path.slice(1, kindEnd))) return PASS;
  if (method !== "GET" && method !== "HEAD") return WRONG_METHOD;
  // No HTTP client sends a fragment (RFC 9112 §3.2), so a raw "#" is not one: reading the
  // rest as a fragment would serve another file than workerd, which reads it as "%23".
  if (target.includes("#")) return RAW_HASH;
  const parsed = parseLink(path);
  if (!parsed.ok) {
    return { action: "reject", status: 403, reason: parsed.problem, detail: parsed.detail };
  }
  const link = parsed.link;
  const verdict = linkVerdict(link, settings, address);
  if (verdict === "bad-token") return BAD_TOKEN;
  if (verdict === "expired") return EXPIRED;
  if (verdict !== "valid") {
    return { action: "reject", status: 403, reason: "malformed", detail: "malformed" };
  }
  const pathOnly = originPath(link);
  return { action: "proxy", link, target: query === "" ? pathOnly : `${pathOnly}?${query}` };
}

/** The verdict on a link's token under `bindIp`: bound to `address`, unbound, or either. */
function linkVerdict(link: Link, settings: GateSettings, address: string | undefined): Verdict {
  const input = {
    clientId: link.clientId,
    videoId: link.videoId,
    secret: settings.secret,
    expires: link.expires,
    token: link.token,
    now: settings.now(),
  };
  if (settings.bindIp !== "on") {
    const unbound = verifyToken(input);
    if (unbound !== "bad-token" || settings.bindIp === "off") return unbound;
  }
  const ip = address === undefined ? undefined : canonicalAddress(address);
  // No address the gate can name: no bound token can be right.
  if (ip === undefined) return "bad-token";
  return verifyToken({ ...input, ip });
}
