/**
 * Signing protected links in your backend: `signLink()` builds the whole URL, `signToken()`
 * just the token. No Hono, no Node built-ins: runs in Workers, Node, Deno, Bun and browsers.
 * @module
 */
import { linkBase, parseLink } from "./core/link.js";
import { expiresText, signToken } from "./core/token.js";

export {
  signToken,
  verifyToken,
  type TokenInput,
  type Verdict,
  type VerifyInput,
} from "./core/token.js";
export {
  signMp4Token,
  signQueryToken,
  type Mp4TokenInput,
  type QueryTokenInput,
} from "./core/query-token.js";
export { canonicalAddress } from "./core/ip.js";

/** Options of {@link signLink}. */
export interface SignLinkOptions {
  /** Where the gate is, e.g. `https://cdn.example.com` (a path prefix is kept). Default: none, a path is returned. */
  baseUrl?: string;
  /** First path segment. Default `videos`. */
  kind?: string;
  /** Client id: digits in Gcore's scheme; no `_` or `/`. */
  clientId: string | number;
  /** Video id: no `/`; may contain `_`. */
  videoId: string;
  /** The shared secret; never empty. */
  secret: string;
  /** Expiry: unix seconds (number, bigint or digits) or a `Date`. Give this or `ttlSeconds`. */
  expires?: number | bigint | string | Date;
  /** Lifetime from now, in seconds. Give this or `expires`. */
  ttlSeconds?: number;
  /** File under the video, e.g. `master.m3u8` or `720/seg-1.ts`; unencoded, segments are percent-encoded here. */
  file: string;
  /** Clock in unix seconds for `ttlSeconds` (tests). Default: the system clock. */
  now?: () => number;
  /** Bind the token to this client address (`BIND_IP`); any usual spelling. */
  ip?: string;
}

/** Characters a path segment may carry as they are (RFC 3986 pchar without `%`). */
const SEGMENT_SAFE = /^[A-Za-z0-9._~!$&'()*+,;=:@-]+$/;
const KIND_SHAPE = /^[A-Za-z0-9._~-]+$/;
const TTL_SHAPE = /^([1-9][0-9]*)([smhd])$/;
const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Seconds in a ttl string: `90s`, `15m`, `24h`, `7d`.
 *
 * @throws RangeError for anything else.
 * @example
 * ```ts
 * parseTtl("24h"); // 86400
 * ```
 */
export function parseTtl(text: string): number {
  const match = TTL_SHAPE.exec(String(text).trim());
  if (!match) {
    throw new RangeError(
      `ttl must be a whole number and a unit s, m, h or d (90s, 15m, 24h, 7d), got "${text}"`,
    );
  }
  const seconds = Number(match[1]) * TTL_UNITS[match[2]!]!;
  if (!Number.isSafeInteger(seconds)) throw new RangeError(`ttl "${text}" is too long`);
  return seconds;
}

/**
 * The expires value a link will carry, as decimal unix seconds, from `expires` or `ttlSeconds`.
 *
 * @throws TypeError when both or neither are given; RangeError when out of range.
 * @example
 * ```ts
 * resolveExpires({ ttlSeconds: 3600 }); // e.g. "1764342000"
 * resolveExpires({ expires: new Date("2028-12-31T23:59:59Z") }); // "1861919999"
 * ```
 */
export function resolveExpires(options: {
  expires?: number | bigint | string | Date;
  ttlSeconds?: number;
  now?: () => number;
}): string {
  const { expires, ttlSeconds } = options;
  if ((expires === undefined) === (ttlSeconds === undefined)) {
    throw new TypeError("give exactly one of expires (unix seconds or a Date) and ttlSeconds");
  }
  if (ttlSeconds !== undefined) {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new RangeError(`ttlSeconds must be a positive whole number, got ${ttlSeconds}`);
    }
    return expiresText((options.now?.() ?? Math.floor(Date.now() / 1000)) + ttlSeconds);
  }
  if (expires instanceof Date) {
    const ms = expires.getTime();
    if (!Number.isFinite(ms)) throw new RangeError("expires is an invalid Date");
    return expiresText(Math.floor(ms / 1000));
  }
  return expiresText(expires!);
}

/**
 * A complete protected link, byte-for-byte what Gcore's snippets would produce for the same
 * inputs, and what the gate accepts.
 *
 * @returns `baseUrl` + `/<kind>/<client>_<video>/<token>/<expires>/<file>`.
 * @throws TypeError or RangeError naming the bad option.
 * @example
 * ```ts
 * import { signLink } from "tokengate/sign";
 * const url = signLink({
 *   baseUrl: "https://cdn.example.com",
 *   clientId: 2675,
 *   videoId: "3dk4NsRt6vWsffEr",
 *   secret: process.env.SECRET!,
 *   ttlSeconds: 24 * 3600,
 *   file: "master.m3u8",
 * });
 * ```
 */
export function signLink(options: SignLinkOptions): string {
  if (typeof options !== "object" || options === null)
    throw new TypeError("signLink needs an options object");
  const kind = options.kind ?? "videos";
  if (typeof kind !== "string" || !KIND_SHAPE.test(kind) || /^\.+$/.test(kind)) {
    throw new TypeError(`kind must be a single path segment such as videos or cmaf, got "${kind}"`);
  }
  if (
    typeof options.clientId === "number" &&
    !(Number.isSafeInteger(options.clientId) && options.clientId >= 0)
  ) {
    throw new TypeError(
      `clientId as a number must be a whole number >= 0, got ${options.clientId}`,
    );
  }
  const clientId =
    typeof options.clientId === "number" ? String(options.clientId) : options.clientId;
  if (typeof clientId !== "string" || !SEGMENT_SAFE.test(clientId) || clientId.includes("_")) {
    throw new TypeError("clientId must be non-empty, URL-safe, without '_' or '/'");
  }
  const videoId = options.videoId;
  if (typeof videoId !== "string" || !SEGMENT_SAFE.test(videoId)) {
    throw new TypeError(
      "videoId must be non-empty and URL-safe ([A-Za-z0-9._~-] and the like), without '/'",
    );
  }
  const file = encodeFile(options.file);
  const expires = resolveExpires(options);
  const token = signToken({ clientId, videoId, secret: options.secret, expires, ip: options.ip });
  const path = `/${kind}/${clientId}_${videoId}/${token}/${expires}/${file}`;
  // Whatever the parts, never hand out a link the gate would refuse for its shape.
  const parsed = parseLink(path);
  if (!parsed.ok) throw new TypeError(`the link would be refused: ${parsed.detail}`);
  return linkBase(options.baseUrl) + path;
}

/** The file part, each segment percent-encoded; refuses what the gate would refuse. */
function encodeFile(file: unknown): string {
  if (typeof file !== "string" || file === "")
    throw new TypeError("file must be a non-empty path such as master.m3u8");
  if (file.startsWith("/") || file.includes("\\")) {
    throw new TypeError(`file must be relative to the video, without '\\', got "${file}"`);
  }
  const segments = file.split("/");
  const last = segments.length - 1;
  return segments
    .map((segment, i) => {
      if (segment === "." || segment === "..")
        throw new TypeError(`file must not contain '.' or '..' segments, got "${file}"`);
      if (segment === "" && i !== last)
        throw new TypeError(`file must not contain '//', got "${file}"`);
      try {
        return encodeURIComponent(segment);
      } catch {
        throw new TypeError(`file has a lone surrogate, which no URL can carry: "${file}"`);
      }
    })
    .join("/");
}
