/**
 * Tokens of Gcore-style protected temporary links:
 * `base64url(md5("{client_id}_{video_id}_{secret}_{expires}_{ip}"))`, unpadded, 22 characters,
 * `{ip}` empty unless the token is bound to the client's address.
 * Pure: no Hono, no Node, no Workers APIs.
 * @module
 */
import { canonicalAddress } from "./ip.js";
import { idProblem, isExpires, isTokenShape, MAX_EXPIRES } from "./link.js";
import { md5Base64url, md5Base64urlJoined } from "./md5.js";

/**
 * MD5 of a text's UTF-8 bytes as unpadded base64url (22 characters): how every token is made.
 * The core's own is {@link md5Base64url} (pure TypeScript, any runtime); a runtime with a native
 * MD5 may pass its own (the nginx module passes njs's `crypto`), held equal to it by tests.
 */
export type Md5Base64url = (text: string) => string;

/** What {@link signToken} hashes. */
export interface TokenInput {
  /**
   * Client id as written in the link: not empty, no `_` (the link splits `client_video` at its
   * first `_`), no `/`, printable ASCII only (percent-encode anything else first).
   */
  clientId: string;
  /** Video id as written in the link: not empty, no `/`, printable ASCII; may contain `_`. */
  videoId: string;
  /** The shared secret; never empty. */
  secret: string;
  /** Expiry in unix seconds: a positive integer up to int64 max, as number, bigint or digits. */
  expires: number | bigint | string;
  /**
   * The client address to bind the token to (Gcore's IP-bound variant), in any usual spelling;
   * it is hashed in its canonical form (see `canonicalAddress`). Omit for an unbound token.
   */
  ip?: string;
}

/** Why {@link verifyToken} accepts or refuses a link: the gate answers 2xx, 403, 403 and 410. */
export type Verdict = "valid" | "malformed" | "bad-token" | "expired";

/** What {@link verifyToken} checks: the parts as written in the link, plus the secret. */
export interface VerifyInput {
  clientId: string;
  videoId: string;
  secret: string;
  /** The expires segment exactly as written in the link. */
  expires: string;
  /** The token segment as written in the link. */
  token: string;
  /** Current unix time in seconds; defaults to the clock. */
  now?: number;
  /**
   * The client's canonical address when the token must be bound to it (`canonicalAddress`);
   * omit (or "") for an unbound token.
   */
  ip?: string;
}

/**
 * The token for a link, exactly as Gcore's Python and Go snippets compute it.
 *
 * @param input - Client id, video id, secret and expiry; see {@link TokenInput}.
 * @returns The 22-character token.
 * @throws TypeError when an id or the secret is not a string or breaks the rules above, or an
 *   id has a character a URL cannot carry as written (space, control, non-ASCII).
 * @throws RangeError when `expires` is not a positive integer up to int64 max.
 * @example
 * ```ts
 * import { signToken } from "tokengate";
 * signToken({ clientId: "2675", videoId: "3dk4NsRt6vWsffEr", secret: "s3cret", expires: 1861919999 });
 * ```
 */
export function signToken(input: TokenInput): string {
  const { clientId, videoId, secret } = input;
  // Most ids are letters, digits and `-` (and `_` in the video id): such a pair passes every
  // rule of idsProblem(), which a single character scan can tell without its regexes and strings.
  if (!isPlainIdPair(clientId, videoId)) {
    const problem = idsProblem(clientId, videoId);
    if (problem !== undefined) throw new TypeError(problem);
  }
  if (typeof secret !== "string" || secret === "") {
    throw new TypeError("secret must be a non-empty string");
  }
  const given = input.expires;
  // A positive safe integer prints as 1–16 digits with no sign or leading zero: a valid expiry.
  const expires =
    typeof given === "number" && given > 0 && Number.isSafeInteger(given)
      ? String(given)
      : expiresText(given);
  let ip = "";
  if (input.ip !== undefined) {
    const canonical = canonicalAddress(input.ip);
    if (canonical === undefined) {
      throw new TypeError(`ip ${JSON.stringify(input.ip)} is not an IPv4 or IPv6 address`);
    }
    ip = canonical;
  }
  return md5Base64urlJoined([clientId, videoId, secret, expires, ip]);
}

/**
 * Whether a client id and video id are of the usual shape that needs no further check: both
 * non-empty, the client id of letters, digits and `-`, the video id of those and `_`. Such ids
 * hold no `/ ? # \ ; %`, no dot segment and nothing past printable ASCII, so
 * {@link idsProblem} finds nothing in them; a test holds the two together.
 */
export function isPlainIdPair(clientId: unknown, videoId: unknown): boolean {
  if (typeof clientId !== "string" || typeof videoId !== "string") return false;
  if (clientId.length === 0 || videoId.length === 0) return false;
  for (let i = 0; i < clientId.length; i++) {
    if (!isPlainIdCode(clientId.charCodeAt(i))) return false;
  }
  for (let i = 0; i < videoId.length; i++) {
    const c = videoId.charCodeAt(i);
    if (c !== 0x5f && !isPlainIdCode(c)) return false;
  }
  return true;
}

/** `[A-Za-z0-9-]`. */
function isPlainIdCode(c: number): boolean {
  const letter = c | 0x20; // folds A–Z onto a–z, and nothing else onto them
  return (letter >= 0x61 && letter <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
}

/**
 * Why a client id and video id cannot be signed ({@link TokenInput}'s rules), or undefined when
 * they can: the whole validation, which {@link isPlainIdPair} spares the usual ids.
 */
export function idsProblem(clientId: unknown, videoId: unknown): string | undefined {
  if (typeof clientId !== "string" || clientId === "" || /[_/]/.test(clientId)) {
    return "clientId must be a non-empty string without '_' or '/'";
  }
  if (typeof videoId !== "string" || videoId === "" || videoId.includes("/")) {
    return "videoId must be a non-empty string without '/'";
  }
  // The gate hashes ids exactly as written in the URL and refuses raw non-ASCII there, so a
  // token over such an id could never verify.
  const written = notAsWritten("clientId", clientId) ?? notAsWritten("videoId", videoId);
  if (written !== undefined) return written;
  const problem = idProblem(`${clientId}_${videoId}`);
  if (problem !== undefined) {
    return `clientId_videoId "${clientId}_${videoId}" cannot stand in a link: ${problem}`;
  }
  return undefined;
}

/** Printable ASCII but space: what a URL carries as written. */
const AS_WRITTEN = /^[\x21-\x7e]*$/;

/** Why the id cannot stand in a link as written, naming it; undefined when it can. */
function notAsWritten(name: string, id: string): string | undefined {
  if (AS_WRITTEN.test(id)) return undefined;
  let encoded: string;
  try {
    encoded = ` (${encodeURIComponent(id)})`;
  } catch {
    encoded = ""; // a lone surrogate has no UTF-8 form
  }
  return (
    `${name} ${JSON.stringify(id)} has a space, control or non-ASCII character: the gate ` +
    `hashes ids exactly as written in the URL, so sign the percent-encoded form${encoded}`
  );
}

/**
 * Checks a link's token and expiry. Never throws: any input that is not a well-formed link part
 * is `"malformed"`. The token comparison takes the same time wherever the strings differ, and a
 * wrong token is reported as `"bad-token"` even when the link has also expired, so an expired
 * answer (410) proves the token was right.
 *
 * @param input - The parts as written in the link; see {@link VerifyInput}.
 * @param md5 - The MD5 to hash with; default the core's own.
 * @returns `"valid"`, `"malformed"`, `"bad-token"` or `"expired"` (`expires < now`: a link is
 *   still valid during its last second).
 * @example
 * ```ts
 * import { verifyToken } from "tokengate";
 * const verdict = verifyToken({ clientId: "2675", videoId: "abc", secret, expires: "1861919999", token });
 * if (verdict !== "valid") console.log(verdict);
 * ```
 */
export function verifyToken(input: VerifyInput, md5: Md5Base64url = md5Base64url): Verdict {
  if (typeof input !== "object" || input === null) return "malformed";
  const { clientId, videoId, secret, expires, token } = input;
  const ip = input.ip ?? "";
  if (
    typeof clientId !== "string" ||
    typeof videoId !== "string" ||
    typeof secret !== "string" ||
    typeof expires !== "string" ||
    typeof token !== "string" ||
    typeof ip !== "string" ||
    clientId === "" ||
    videoId === "" ||
    secret === "" ||
    clientId.includes("_") ||
    !isTokenShape(token) ||
    !isExpires(expires)
  ) {
    return "malformed";
  }
  const expected = md5(`${clientId}_${videoId}_${secret}_${expires}_${ip}`);
  if (!timingSafeEqual(expected, token)) return "bad-token";
  const now = input.now ?? Math.floor(Date.now() / 1000);
  // Both are integers and `now` is far below 2^53, so the float compare is exact where it matters.
  return Number(expires) < now ? "expired" : "valid";
}

/**
 * Compares two strings in time that depends only on their lengths: XOR differences are
 * accumulated over the longer length instead of returning at the first mismatch.
 *
 * @example
 * ```ts
 * timingSafeEqual(expectedToken, givenToken);
 * ```
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let difference = a.length ^ b.length;
  for (let i = 0; i < length; i++) {
    // charCodeAt past the end is NaN; `| 0` makes it 0 so the loop still runs to the end.
    difference |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return difference === 0;
}

/**
 * `expires` as the decimal text a token hashes and a link carries.
 *
 * @throws RangeError unless it is a positive whole number of unix seconds up to int64 max.
 * @example
 * ```ts
 * expiresText(1861919999n); // "1861919999"
 * ```
 */
export function expiresText(expires: number | bigint | string): string {
  let text: string;
  if (typeof expires === "number") {
    if (!Number.isSafeInteger(expires)) {
      throw new RangeError("expires must be a whole number of unix seconds (a safe integer)");
    }
    text = String(expires);
  } else if (typeof expires === "bigint") {
    text = expires.toString();
  } else if (typeof expires === "string") {
    text = expires;
  } else {
    throw new RangeError("expires must be unix seconds as a number, bigint or string of digits");
  }
  if (!isExpires(text)) {
    throw new RangeError(`expires must be a positive integer up to ${MAX_EXPIRES}, got ${text}`);
  }
  return text;
}
