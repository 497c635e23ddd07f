/**
 * The gate's decision for one request, as a pure function of method, raw request target,
 * settings and clock: the behaviour table of the README in one place, shared by the Hono
 * middleware (Workers, any Hono app) and the Node server. Pure: no Hono, Node or Workers APIs.
 * @module
 */
import { originPath, parseLink, splitTarget, type Link } from "./link.js";
import { md5Base64url } from "./md5.js";
import { isExpires, isTokenShape, timingSafeEqual, verifyToken } from "./token.js";

/** Why the gate refused a request; logged, and used to pick the answer. */
export type Reason =
  | "not-found"
  | "method"
  | "unsafe-path"
  | "malformed"
  | "bad-token"
  | "expired"
  | "misconfigured"
  | "origin-error"
  | "origin-timeout";

/** What the gate does with a request. */
export type Decision =
  /** Not under a configured prefix: not the gate's business (the servers answer 404). */
  | { action: "pass" }
  /** Refused: answer `status` (403, 405 or 410) with {@link rejection}. */
  | { action: "reject"; status: 403 | 405 | 410; reason: Reason; detail: string }
  /** Granted: fetch `target` (path and query) from the origin. */
  | { action: "proxy"; link: Link; target: string };

/** Validated gate settings; build them with {@link gateSettings}. */
export interface GateSettings {
  readonly secret: string;
  readonly prefixes: ReadonlySet<string>;
  /** The same prefixes as a list, for comparing in place without slicing the path. */
  readonly prefixList: readonly string[];
  /** Unix seconds now. */
  readonly now: () => number;
}

/** What {@link gateSettings} takes. */
export interface GateOptions {
  /** The shared secret; required, not empty. */
  secret: string;
  /** First path segments the gate guards. Default `["videos", "cmaf"]`. */
  prefixes?: readonly string[];
  /** Clock in unix seconds (tests inject one). Default: `Math.floor(Date.now() / 1000)`. */
  now?: () => number;
}

/** Prefixes guarded when none are configured (Gcore also uses `mpegts` for live). */
export const DEFAULT_PREFIXES: readonly string[] = ["videos", "cmaf"];

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
  return {
    secret: options.secret,
    prefixes: new Set(prefixes),
    prefixList: [...new Set(prefixes)],
    now: options.now ?? systemClock,
  };
}

const PASS: Decision = { action: "pass" };
const WRONG_METHOD: Decision = {
  action: "reject",
  status: 405,
  reason: "method",
  detail: "only GET and HEAD",
};
const BAD_TOKEN: Decision = {
  action: "reject",
  status: 403,
  reason: "bad-token",
  detail: "token does not match",
};
const EXPIRED: Decision = { action: "reject", status: 410, reason: "expired", detail: "expired" };

/**
 * Decides one request. Checks run in the README's table order: prefix (pass), method (405),
 * unsafe path and shape (403), token (403), expiry (410); then proxy.
 *
 * Two paths give the same answers: a fast one for the common link (plain characters, no
 * percent-escapes), which checks only what it must and does not re-check what the token
 * comparison proves, and {@link decideInDetail} for everything else, which also says exactly
 * what is wrong. `test/node/gate.test.ts` holds them equal over many hostile paths.
 *
 * @param method - The HTTP method as received.
 * @param target - The raw request target (`/path?query`) or absolute URL, undecoded.
 * @example
 * ```ts
 * const decision = decide("GET", "/videos/2675_abc/TOKEN/1861919999/master.m3u8", settings);
 * if (decision.action === "proxy") fetch(origin + decision.target);
 * ```
 */
export function decide(method: string, target: string, settings: GateSettings): Decision {
  // Path bounds within the target, without slicing: [start, end).
  let start = 0;
  if (target.charCodeAt(0) !== 0x2f) {
    const scheme = target.indexOf("://");
    start = scheme < 0 ? -1 : target.indexOf("/", scheme + 3);
    if (start < 0) return decideInDetail(method, target, settings);
  }
  let end = target.indexOf("?", start);
  if (end < 0) end = target.length;
  const kindEnd = target.indexOf("/", start + 1);
  if (kindEnd < 0 || kindEnd > end || !hasPrefix(settings, target, start + 1, kindEnd)) {
    return decideInDetail(method, target, settings);
  }
  if (method !== "GET" && method !== "HEAD") return WRONG_METHOD;
  const idEnd = target.indexOf("/", kindEnd + 1);
  const tokenEnd = idEnd < 0 ? -1 : target.indexOf("/", idEnd + 1);
  const expiresEnd = tokenEnd < 0 ? -1 : target.indexOf("/", tokenEnd + 1);
  if (expiresEnd < 0 || expiresEnd >= end - 1 || tokenEnd - idEnd !== 23) {
    return decideInDetail(method, target, settings);
  }
  // Plain characters only, no dot segments, no `//`: anything else takes the detailed path.
  PLAIN_ID.lastIndex = kindEnd + 1;
  if (!PLAIN_ID.test(target) || PLAIN_ID.lastIndex !== idEnd) {
    return decideInDetail(method, target, settings);
  }
  PLAIN_FILE.lastIndex = expiresEnd + 1;
  if (!PLAIN_FILE.test(target) || PLAIN_FILE.lastIndex !== end) {
    return decideInDetail(method, target, settings);
  }
  const expires = target.slice(tokenEnd + 1, expiresEnd);
  if (!isExpires(expires)) return decideInDetail(method, target, settings);
  const token = target.slice(idEnd + 1, tokenEnd);
  const clientVideo = target.slice(kindEnd + 1, idEnd);
  const expected = md5Base64url(`${clientVideo}_${settings.secret}_${expires}_`);
  if (!timingSafeEqual(expected, token)) {
    // A token of the wrong shape is malformed rather than wrong; both are 403.
    return isTokenShape(token) ? BAD_TOKEN : decideInDetail(method, target, settings);
  }
  if (Number(expires) < settings.now()) return EXPIRED;
  const underscore = clientVideo.indexOf("_");
  return {
    action: "proxy",
    link: {
      kind: target.slice(start + 1, kindEnd),
      clientId: clientVideo.slice(0, underscore),
      videoId: clientVideo.slice(underscore + 1),
      token,
      expires,
      file: target.slice(expiresEnd + 1, end),
    },
    // The link without its token and expires segments, query kept.
    target: target.slice(start, idEnd) + target.slice(expiresEnd),
  };
}

/** Characters a path segment may hold on the fast path (RFC 3986 pchar without `%`). */
const PCHAR = "[A-Za-z0-9._~!$&'()*+,;=:@-]";
/** The client_video segment: a non-empty client id without `_`, `_`, a non-empty video id. */
const PLAIN_ID = new RegExp(`${PCHAR.replace("_", "")}+_${PCHAR}+`, "y");
/** The file: plain segments, none `.` or `..`, none empty but a trailing one. */
const PLAIN_FILE = new RegExp(`(?:(?!\\.\\.?/)${PCHAR}+/)*(?!\\.\\.?$)${PCHAR}+/?`, "y");

/** Whether target[from, to) is one of the guarded prefixes, without slicing it. */
function hasPrefix(settings: GateSettings, target: string, from: number, to: number): boolean {
  for (const prefix of settings.prefixList) {
    if (prefix.length === to - from && target.startsWith(prefix, from)) return true;
  }
  return false;
}

/**
 * The reference decision: splits the target, scans the whole path for anything unsafe, parses
 * it and verifies it, saying exactly why a request is refused. {@link decide} uses it for
 * every request its fast path does not settle.
 *
 * @example
 * ```ts
 * decideInDetail("GET", "/videos/2675_abc/TOKEN/1/%2e%2e/x", settings); // 403 unsafe-path
 * ```
 */
export function decideInDetail(method: string, target: string, settings: GateSettings): Decision {
  const { path, query } = splitTarget(target);
  const kindEnd = path.indexOf("/", 1);
  if (kindEnd < 0 || !settings.prefixes.has(path.slice(1, kindEnd))) return PASS;
  if (method !== "GET" && method !== "HEAD") return WRONG_METHOD;
  const parsed = parseLink(path);
  if (!parsed.ok) {
    return { action: "reject", status: 403, reason: parsed.problem, detail: parsed.detail };
  }
  const link = parsed.link;
  const verdict = verifyToken({
    clientId: link.clientId,
    videoId: link.videoId,
    secret: settings.secret,
    expires: link.expires,
    token: link.token,
    now: settings.now(),
  });
  if (verdict === "bad-token") return BAD_TOKEN;
  if (verdict === "expired") return EXPIRED;
  if (verdict !== "valid") {
    return { action: "reject", status: 403, reason: "malformed", detail: "malformed" };
  }
  const pathOnly = originPath(link);
  return { action: "proxy", link, target: query === "" ? pathOnly : `${pathOnly}?${query}` };
}

/** Plain-text bodies: short, fixed, and never carrying a token or the secret. */
const MESSAGES: Record<Reason, string> = {
  "not-found": "Not Found\n",
  method: "Method Not Allowed\n",
  "unsafe-path": "Forbidden: unsafe path\n",
  malformed: "Forbidden: malformed link\n",
  "bad-token": "Forbidden: invalid token\n",
  expired: "Gone: link expired\n",
  misconfigured: "Internal Server Error: the gate is misconfigured\n",
  "origin-error": "Bad Gateway: the origin could not be reached\n",
  "origin-timeout": "Gateway Timeout: the origin did not answer in time\n",
};

/**
 * The status, headers and body the gate answers a refusal with. Every refusal carries
 * `Cache-Control: no-store` so no cache keeps it; 405 also carries `Allow: GET, HEAD`.
 *
 * @example
 * ```ts
 * const { status, headers, body } = rejection(404, "not-found");
 * ```
 */
export function rejection(
  status: number,
  reason: Reason,
  body: string = MESSAGES[reason],
): { status: number; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
  if (status === 405) headers.allow = "GET, HEAD";
  return { status, headers, body };
}
