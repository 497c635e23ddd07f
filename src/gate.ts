/**
 * The gate's decision for one request, as a pure function of method, raw request target,
 * settings and clock: the behaviour table of the README in one place, shared by the Hono
 * middleware (Workers, any Hono app) and the Node server. Pure: no Hono, Node or Workers APIs.
 * @module
 */
import { originPath, parseLink, splitTarget, type Link } from "./link.js";
import { md5Base64urlCodesOf, md5Buffer } from "./md5.js";
import { isTokenShape, verifyToken } from "./token.js";

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
  /** The same prefixes as ASCII bytes, for comparing in place with the encoded path. */
  readonly prefixBytes: readonly Uint8Array[];
  /** `_{secret}_` as UTF-8, the middle of every token body, encoded once. */
  readonly secretBytes: Uint8Array;
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
  const unique = new Set(prefixes);
  return {
    secret: options.secret,
    prefixes: unique,
    prefixBytes: [...unique].map((prefix) => encoder.encode(prefix)),
    secretBytes: encoder.encode(`_${options.secret}_`),
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
  let start = 0;
  if (target.charCodeAt(0) !== 0x2f) {
    // Absolute URL (Workers): the path starts at the first "/" after the authority, and a "?"
    // or "#" before it is odd enough for the detailed path.
    const scheme = target.indexOf("://");
    start = scheme < 0 ? -1 : target.indexOf("/", scheme + 3);
    if (start < 0) return decideInDetail(method, target, settings);
    for (let i = scheme + 3; i < start; i++) {
      const c = target.charCodeAt(i);
      if (c === 0x3f || c === 0x23) return decideInDetail(method, target, settings);
    }
  }
  // From here one pass over the path's bytes, encoded once by native code (reading a typed
  // array is much cheaper than charCodeAt or indexOf per segment). It finds the segments,
  // checks each byte, and writes the token body "{client}_{video}_{secret}_{expires}_" straight
  // into the MD5 buffer: no slices, no concatenation, no string to hash. Anything unusual (a
  // percent-escape, a dot segment, an odd shape) goes to decideInDetail.
  const length = target.length;
  if (length * 3 >= pathBytes.length) {
    pathBytes = new Uint8Array(length * 3 + 256);
    pathView = new DataView(pathBytes.buffer);
  }
  const bytes = pathBytes;
  // Only an all-ASCII target, whose byte offsets are its string offsets, takes the fast path.
  // 0xff is never a UTF-8 byte, so it survives at bytes[length] exactly when the encoding is
  // `length` bytes long, i.e. every character was ASCII.
  bytes[length] = 0xff;
  encoder.encodeInto(target, bytes);
  if (bytes[length] !== 0xff) return decideInDetail(method, target, settings);
  // A prefix is plain characters only, so a match also rules out "?" and "#" before kindEnd.
  const kindEnd = prefixEnd(settings, bytes, start + 1);
  if (kindEnd < 0) return decideInDetail(method, target, settings);
  if (method !== "GET" && method !== "HEAD") return WRONG_METHOD;
  const secretBytes = settings.secretBytes;
  const buffer = md5Buffer(length + secretBytes.length);
  let n = 0;
  // {client}_{video}: plain characters, split at the first "_", neither side empty.
  let underscore = -1;
  let i = kindEnd + 1;
  for (; i < length; i++) {
    const c = bytes[i]!;
    const kind = BYTE_KIND[c];
    if (kind !== PLAIN) {
      if (kind === SLASH) break;
      if (kind === UNDERSCORE) {
        if (underscore < 0) underscore = i;
      } else if (kind !== DOT) {
        if (n > placedAt) placedAt = -1; // this id ran over the secret left in place
        return decideInDetail(method, target, settings);
      }
    }
    buffer[n++] = c;
  }
  const idEnd = i;
  // The secret follows the id. It stays in the buffer between calls (nothing else writes
  // there), so it is copied only when the id's length, the buffer or the settings change.
  if (n !== placedAt || buffer !== placedIn || secretBytes !== placedSecret) {
    buffer.set(secretBytes, n);
    placedAt = n;
    placedIn = buffer;
    placedSecret = secretBytes;
  }
  n += secretBytes.length;
  // The token's 22 bytes are not read here: the comparison below proves or refutes them.
  const tokenEnd = idEnd + 23;
  if (
    underscore <= kindEnd + 1 ||
    underscore >= idEnd - 1 ||
    tokenEnd >= length ||
    bytes[tokenEnd] !== 0x2f
  ) {
    return decideInDetail(method, target, settings);
  }
  // {expires}: 1 to 18 digits without a leading zero (19 may pass int64 max: rare enough to
  // check in detail).
  let expires = 0;
  i = tokenEnd + 1;
  if (bytes[i] === 0x30) return decideInDetail(method, target, settings);
  for (; i < length; i++) {
    const c = bytes[i]!;
    if (c === 0x2f) break;
    if (c < 0x30 || c > 0x39) return decideInDetail(method, target, settings);
    expires = expires * 10 + (c - 0x30);
    buffer[n++] = c;
  }
  const expiresEnd = i;
  const digits = expiresEnd - tokenEnd - 1;
  if (digits < 1 || digits > 18 || expiresEnd >= length - 1) {
    return decideInDetail(method, target, settings);
  }
  buffer[n++] = 0x5f;
  // The file: plain characters and "/", no empty segment but a trailing one, no "." or ".."
  // segment; it ends at "?" or the end. A "#" anywhere is for the detailed path.
  let segmentStart = expiresEnd + 1;
  let dots = 0;
  for (i = segmentStart; i < length; i++) {
    const kind = BYTE_KIND[bytes[i]!];
    if (kind === PLAIN || kind === UNDERSCORE) continue;
    if (kind === SLASH) {
      if (i === segmentStart || (dots > 0 && dots === i - segmentStart && dots <= 2)) {
        return decideInDetail(method, target, settings);
      }
      segmentStart = i + 1;
      dots = 0;
    } else if (kind === DOT) {
      dots++;
    } else {
      if (kind === QUERY && i > expiresEnd + 1) break;
      return decideInDetail(method, target, settings);
    }
  }
  const end = i;
  const last = end - segmentStart;
  if ((last > 0 && dots === last && dots <= 2) || (end < length && target.indexOf("#", end) >= 0)) {
    return decideInDetail(method, target, settings);
  }
  md5Base64urlCodesOf(n, EXPECTED);
  // Constant time: XOR over all 22 characters, no early exit. Read four at a time through
  // DataViews (one unaligned load each once compiled): ~60 ns faster than byte by byte.
  const view = pathView;
  const e = EXPECTED_VIEW;
  const t = idEnd + 1;
  let difference = view.getUint16(t + 20, true) ^ e.getUint16(20, true);
  for (let w = 0; w < 20; w += 4) difference |= view.getInt32(t + w, true) ^ e.getInt32(w, true);
  if (difference !== 0) {
    // A token of the wrong shape is malformed rather than wrong; both are 403.
    if (!isTokenShape(target.slice(idEnd + 1, tokenEnd))) {
      return decideInDetail(method, target, settings);
    }
    return BAD_TOKEN;
  }
  if (expires < settings.now()) return EXPIRED;
  return new ProxyGrant(target, start, idEnd, expiresEnd, end);
}

/**
 * A granted request from the fast path. The origin target is built at once (every server
 * needs it); the link's parts only when asked for, since the Node fast path never asks.
 */
class ProxyGrant {
  readonly action = "proxy";
  /** The link without its token and expires segments, query kept. */
  readonly target: string;
  readonly #source: string;
  readonly #start: number;
  readonly #end: number;
  #link: Link | undefined;

  /** `source[start, end)` is the link's path; idEnd and expiresEnd end those segments. */
  constructor(source: string, start: number, idEnd: number, expiresEnd: number, end: number) {
    // An empty query ("…/seg.ts?") is dropped, as splitTarget does.
    const queryEnd = end === source.length - 1 ? end : source.length;
    this.target = source.slice(start, idEnd) + source.slice(expiresEnd, queryEnd);
    this.#source = source;
    this.#start = start;
    this.#end = end;
  }

  get link(): Link {
    // The fast path accepted this path, so the reference parser does too, with the same parts.
    return (this.#link ??= (
      parseLink(this.#source.slice(this.#start, this.#end)) as { link: Link }
    ).link);
  }
}

const encoder = new TextEncoder();
/** Where the fast path encodes the request target; grows on demand. */
let pathBytes = new Uint8Array(2048);
let pathView = new DataView(pathBytes.buffer);

/** Where the fast path's expected token is written; reused, as MD5's own buffers are. */
const EXPECTED = new Uint8Array(22);
const EXPECTED_VIEW = new DataView(EXPECTED.buffer);

/** Where the secret was last written into the MD5 buffer, so it need not be written again. */
let placedAt = -1;
let placedIn: Uint8Array | undefined;
let placedSecret: Uint8Array | undefined;

// What each byte is to the fast path, so that one table load and one comparison settle the
// common byte. PLAIN: RFC 3986 pchar but "%", "." and "_"; 0: anything for decideInDetail.
const PLAIN = 1;
const SLASH = 2;
const DOT = 3;
const UNDERSCORE = 4;
const QUERY = 5;
const BYTE_KIND = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~!$&'()*+,;=:@") {
  BYTE_KIND[c.charCodeAt(0)] = PLAIN;
}
BYTE_KIND[0x2f] = SLASH;
BYTE_KIND[0x2e] = DOT;
BYTE_KIND[0x5f] = UNDERSCORE;
BYTE_KIND[0x3f] = QUERY;

/**
 * Where the guarded prefix at `bytes[from]` ends (the offset of the "/" after it), or -1.
 * Reading past the target is safe: the 0xff after it matches no prefix byte and no "/".
 */
function prefixEnd(settings: GateSettings, bytes: Uint8Array, from: number): number {
  const list = settings.prefixBytes;
  next: for (let p = 0; p < list.length; p++) {
    const prefix = list[p]!;
    const end = from + prefix.length;
    for (let k = 0; k < prefix.length; k++) if (prefix[k] !== bytes[from + k]) continue next;
    if (bytes[end] === 0x2f) return end;
  }
  return -1;
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

/** The status each refusal is answered with. */
const STATUS: Record<Reason, number> = {
  "not-found": 404,
  method: 405,
  "unsafe-path": 403,
  malformed: 403,
  "bad-token": 403,
  expired: 410,
  misconfigured: 500,
  "origin-error": 502,
  "origin-timeout": 504,
};

// Every refusal carries `Cache-Control: no-store` so no cache keeps it; 405 also `Allow`.
// Built once: Response and node:http copy headers, they never change these.
const PLAIN_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
});
const METHOD_HEADERS = Object.freeze({ ...PLAIN_HEADERS, allow: "GET, HEAD" });

/**
 * The status, headers and body the gate answers a refusal with.
 *
 * @param reason - Why; it decides the status (403, 404, 405, 410, 500, 502 or 504).
 * @param body - Replaces the fixed one-line body (e.g. to name a bad setting).
 * @example
 * ```ts
 * const { status, headers, body } = rejection("not-found"); // 404
 * ```
 */
export function rejection(
  reason: Reason,
  body: string = MESSAGES[reason],
): { status: number; headers: Readonly<Record<string, string>>; body: string } {
  const headers = reason === "method" ? METHOD_HEADERS : PLAIN_HEADERS;
  return { status: STATUS[reason], headers, body };
}

/**
 * A refusal as a `Response`; without a body when it answers a HEAD request.
 *
 * @example
 * ```ts
 * return rejectionResponse("origin-error", request.method === "HEAD"); // 502
 * ```
 */
export function rejectionResponse(reason: Reason, head = false, body?: string): Response {
  const answer = rejection(reason, body);
  return new Response(head ? null : answer.body, {
    status: answer.status,
    headers: answer.headers,
  });
}
