/**
 * Tokens carried in the query string, the two Gcore forms that put `md5` and `expires` there:
 * - CDN secure tokens: `base64url(md5("{expires}{path}{ip} {secret}"))`, where `path` is the
 *   file's whole path, or its directory with a trailing `/` (covering the files directly in it);
 * - MP4 advanced tokens: `base64url(md5("{uri}_{secret}_{expires}_{speed}_{buffer}_{ip}"))`.
 * `{ip}` is empty unless the token is bound to the client's address. Pure: no runtime APIs.
 * @module
 */
import { canonicalAddress } from "./ip.js";
import { isExpires, isTokenShape, unsafePathDetail } from "./link.js";
import { md5Base64url } from "./md5.js";
import { expiresText, timingSafeEqual, type Md5Base64url } from "./token.js";

/** The parameters a query token uses, as written, and the query without them. */
export interface TokenQuery {
  md5: string | undefined;
  expires: string | undefined;
  speed: string | undefined;
  buffer: string | undefined;
  /** Every other parameter, in order, as written (`a=1&b=2`); "" when none. */
  rest: string;
  /** A token parameter given twice: which one reads it would be a guess, so it is refused. */
  repeated: string | undefined;
}

const TOKEN_PARAMS: readonly string[] = ["md5", "expires", "speed", "buffer"];

/**
 * Splits a raw query (without `?`) into the token parameters and the rest, never decoding.
 * `speed` and `buffer` are taken out only when `mp4` is set (a CDN token hashes neither, and
 * the origin may want them).
 *
 * @example
 * ```ts
 * tokenQuery("a=1&md5=abc&expires=2&b=2", false).rest; // "a=1&b=2"
 * ```
 */
export function tokenQuery(query: string, mp4: boolean): TokenQuery {
  const found: Record<string, string | undefined> = {};
  const rest: string[] = [];
  let repeated: string | undefined;
  for (const part of query === "" ? [] : query.split("&")) {
    const equals = part.indexOf("=");
    const name = equals < 0 ? part : part.slice(0, equals);
    const tokenParam = mp4 || name === "md5" || name === "expires";
    if (TOKEN_PARAMS.includes(name) && tokenParam) {
      if (found[name] !== undefined) repeated ??= name;
      found[name] = equals < 0 ? "" : part.slice(equals + 1);
    } else {
      // Another spelling of a token parameter: an origin that decodes or folds names, splits
      // on `;` as well as `&`, reads `&amp;` as `&`, `md5[]` as an array or stops at a NUL
      // would read it as one, so it is as ambiguous as a repeated one (refused, never
      // stripped: what else such an origin reads in the query is anyone's guess).
      // Each piece whole, its value too: an origin that decodes the query before splitting it
      // reads `x=1%26md5%3D…` as an `md5` (readsAs decodes, then splits and cuts at `=`).
      const pieces = part.split(";");
      for (let i = 0; i < pieces.length; i++) {
        const spelled = looseName(pieces[i]!, mp4);
        if (spelled !== undefined) repeated ??= spelled;
      }
      rest.push(part);
    }
  }
  return {
    md5: found.md5,
    expires: found.expires,
    speed: found.speed,
    buffer: found.buffer,
    rest: rest.join("&"),
    repeated,
  };
}

/**
 * The token parameter a name reads as to the loosest origin, or undefined. `speed` and
 * `buffer` count with `mp4` only.
 */
function looseName(name: string, mp4: boolean): string | undefined {
  return readsAs(name, mp4 ? TOKEN_PARAMS : CDN_PARAMS);
}

const CDN_PARAMS: readonly string[] = ["md5", "expires"];

/**
 * Which of `names` (each letters and digits, lower case, as a loose reading spells it) the
 * loosest origin reads a raw query parameter name as, or undefined: percent-decoded (up to
 * three times), split again on the `;` and `&` that decoding made, each piece lower case,
 * without a `[…]` suffix, letters and digits only. The one look-alike rule for the token
 * parameters and for the cache key's (`core/cache-key.ts`).
 *
 * @example
 * ```ts
 * readsAs("Q%75ality[]", ["quality"]); // "quality"
 * ```
 */
export function readsAs(name: string, names: readonly string[]): string | undefined {
  let text = name;
  for (let round = 0; round < 3 && text.indexOf("%") >= 0; round++) {
    const decoded = percentDecoded(text);
    if (decoded === text) break;
    text = decoded;
  }
  let longest = 0;
  for (let i = 0; i < names.length; i++) longest = Math.max(longest, names[i]!.length);
  // Plain splits: njs runs a pattern's split in quadratic time.
  const parts = text.split(";");
  for (let i = 0; i < parts.length; i++) {
    const pieces = parts[i]!.split("&");
    for (let k = 0; k < pieces.length; k++) {
      let piece = pieces[k]!;
      const cut = piece.search(/[[=]/);
      if (cut >= 0) piece = piece.slice(0, cut);
      const spelled = lettersAndDigits(piece, longest);
      if (spelled !== "" && names.includes(spelled)) return spelled;
    }
  }
  return undefined;
}

/** A name as {@link readsAs} spells it (letters and digits, lower case), "" for none. */
export function looseSpelling(name: string): string {
  return lettersAndDigits(name, name.length);
}

/**
 * A name's ASCII letters (lower case) and digits; "" once it is longer than `longest` (none
 * of the names could be read in it then). A character at a time: njs runs a global pattern in
 * quadratic time, and a name may be as long as the request line.
 */
function lettersAndDigits(text: string, longest: number): string {
  let kept = "";
  for (let i = 0; i < text.length; i++) {
    const code = asciiFolded(text.charCodeAt(i));
    if (code >= 0x30 && code <= 0x39) kept += String.fromCharCode(code);
    else if (isAsciiLetter(code)) kept += String.fromCharCode(code | 0x20);
    else continue;
    if (kept.length > longest) return "";
  }
  return kept;
}

/**
 * `text` percent-decoded as URLSearchParams, Python and PHP do: every `%XX` a byte, a `%` that
 * starts no escape kept, the bytes read as UTF-8 (one that is not, U+FFFD). One bad escape
 * must not leave the good ones unread (`decodeURIComponent` gives up on the whole text).
 */
export function percentDecoded(text: string): string {
  if (text.indexOf("%") < 0) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // Below, escape by escape.
  }
  let out = "";
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += utf8Text(bytes);
    bytes.length = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    const byte = c === "%" ? hexByte(text, i + 1) : -1;
    if (byte >= 0) {
      bytes.push(byte);
      i += 2;
    } else {
      flush();
      out += c;
    }
  }
  flush();
  return out;
}

/** The byte two hex digits at `at` spell, or -1. */
function hexByte(text: string, at: number): number {
  const digits = text.slice(at, at + 2);
  return /^[0-9A-Fa-f]{2}$/.test(digits) ? parseInt(digits, 16) : -1;
}

/**
 * Bytes as UTF-8 text, as the WHATWG decoder reads them (URLSearchParams): each maximal part of
 * a sequence that is not valid UTF-8 one U+FFFD.
 */
function utf8Text(bytes: readonly number[]): string {
  let out = "";
  let need = 0;
  let seen = 0;
  let code = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (need === 0) {
      if (b <= 0x7f) out += String.fromCharCode(b);
      else if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
        code = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        need = 2;
        code = b & 0x0f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        need = 3;
        code = b & 0x07;
      } else out += "\ufffd";
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence so far is one U+FFFD; this byte starts afresh.
      need = seen = code = 0;
      lower = 0x80;
      upper = 0xbf;
      out += "\ufffd";
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    code = (code << 6) | (b & 0x3f);
    if (++seen < need) continue;
    out +=
      code > 0xffff
        ? String.fromCharCode(
            0xd800 + ((code - 0x10000) >> 10),
            0xdc00 + ((code - 0x10000) & 0x3ff),
          )
        : String.fromCharCode(code);
    need = seen = code = 0;
  }
  return need === 0 ? out : `${out}\ufffd`;
}

/**
 * The ASCII letter or digit an origin may read a character as: full-width forms (NFKC), and
 * superscript and subscript digits (NFKC),
 * the letters whose Unicode case mapping lands in ASCII (`ı` and `İ` as `i`, as Java's
 * `equalsIgnoreCase` reads them; the long `ſ` as `s`; the Kelvin sign as `k`). Others as
 * they are.
 */
function asciiFolded(code: number): number {
  if (code >= 0xff10 && code <= 0xff5a) return code - 0xfee0;
  // Superscript and subscript digits (NFKC).
  if (code === 0xb9) return 0x31;
  if (code === 0xb2 || code === 0xb3) return code - 0x80;
  if (code === 0x2070) return 0x30;
  if (code >= 0x2074 && code <= 0x2079) return code - 0x2040;
  if (code >= 0x2080 && code <= 0x2089) return code - 0x2050;
  if (code === 0x130 || code === 0x131) return 0x69;
  if (code === 0x17f) return 0x73;
  return code === 0x212a ? 0x6b : code;
}

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** A path as a URL carries it: RFC 3986 pchar, `/` and percent escapes. */
const AS_SENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

/** What {@link signQueryToken} hashes. */
export interface QueryTokenInput {
  /**
   * The path as written in the URL (percent-encoded as sent): a file's whole path, or a
   * directory ending in `/`, which then covers the files directly in it.
   */
  path: string;
  secret: string;
  /** Expiry in unix seconds. */
  expires: number | bigint | string;
  /** The client address to bind the token to, in any usual spelling; omit for none. */
  ip?: string;
}

/**
 * A CDN secure token (Gcore CDN, nginx `secure_link_md5 "$secure_link_expires$uri$remote_addr
 * secret"`).
 *
 * @throws TypeError for a path that does not start with `/`, an empty secret or a bad ip.
 * @example
 * ```ts
 * signQueryToken({ path: "/images/1.jpg", secret: "secret_key", expires: 2147483647 });
 * // "vHEnxR8VaxpEDgyNzJuWwA"
 * ```
 */
export function signQueryToken(input: QueryTokenInput): string {
  if (typeof input.path !== "string" || !input.path.startsWith("/")) {
    throw new TypeError("path must start with /");
  }
  // Never hand out a token the gate refuses, or one for a path a runtime rewrites before the
  // gate sees it (workerd escapes `{`, `` ` `` and the like): it could never verify there.
  if (!AS_SENT.test(input.path)) {
    throw new TypeError(
      `path ${JSON.stringify(input.path)} has a character a URL carries only percent-encoded; sign the encoded path`,
    );
  }
  const unsafe = unsafePathDetail(input.path);
  if (unsafe !== undefined)
    throw new TypeError(`the gate refuses path ${JSON.stringify(input.path)}: ${unsafe}`);
  if (typeof input.secret !== "string" || input.secret === "") {
    throw new TypeError("secret must be a non-empty string");
  }
  return md5Base64url(
    `${expiresText(input.expires)}${input.path}${ipText(input.ip)} ${input.secret}`,
  );
}

/** What {@link signMp4Token} hashes. */
export interface Mp4TokenInput {
  /** The file's path as written in the URL, e.g. `/videos/2675_abc/movie.mp4`. */
  uri: string;
  secret: string;
  expires: number | bigint | string;
  /** `speed` as it will stand in the query (e.g. `1000k`); omit for none. */
  speed?: string;
  /** `buffer` as it will stand in the query (e.g. `2000k`); omit for none. */
  buffer?: string;
  ip?: string;
}

/**
 * A Gcore MP4 advanced token.
 *
 * @throws TypeError for a uri that does not start with `/`, an empty secret or a bad ip.
 * @example
 * ```ts
 * signMp4Token({ uri: "/videos/279481_1053391/a.mp4", secret, expires: 1743167062, speed: "1000k" });
 * ```
 */
export function signMp4Token(input: Mp4TokenInput): string {
  if (typeof input.uri !== "string" || !input.uri.startsWith("/")) {
    throw new TypeError("uri must start with /");
  }
  if (typeof input.secret !== "string" || input.secret === "") {
    throw new TypeError("secret must be a non-empty string");
  }
  for (const [name, value] of [
    ["speed", input.speed],
    ["buffer", input.buffer],
  ] as const) {
    if (value !== undefined && !RATE_SHAPE.test(value)) {
      throw new TypeError(
        `${name} must be a number with an optional k or m suffix, got ${JSON.stringify(value)}`,
      );
    }
  }
  return md5Base64url(
    `${input.uri}_${input.secret}_${expiresText(input.expires)}_${input.speed ?? ""}_${input.buffer ?? ""}_${ipText(input.ip)}`,
  );
}

/** nginx's size syntax for `limit_rate`: digits with an optional `k` or `m` (either case). */
const RATE_SHAPE = /^[0-9]{1,12}[kKmM]?$/;

/**
 * Bytes a `speed` or `buffer` value stands for, the way nginx reads a size (`k` = 1024,
 * `m` = 1024²), or undefined when it is not one.
 *
 * @example
 * ```ts
 * rateBytes("1000k"); // 1024000
 * ```
 */
export function rateBytes(text: string): number | undefined {
  if (!RATE_SHAPE.test(text)) return undefined;
  const unit = text.charAt(text.length - 1).toLowerCase();
  const scale = unit === "k" ? 1024 : unit === "m" ? 1024 * 1024 : 1;
  const digits = scale === 1 ? text : text.slice(0, -1);
  return Number(digits) * scale;
}

function ipText(ip: string | undefined): string {
  if (ip === undefined || ip === "") return "";
  const canonical = canonicalAddress(ip);
  if (canonical === undefined) {
    throw new TypeError(`ip ${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
  }
  return canonical;
}

/** Why a query token is refused, or `valid`; as {@link Verdict} of token.ts. */
export type QueryVerdict = "valid" | "malformed" | "bad-token" | "expired";

/**
 * Checks a CDN secure token for `path` (raw, as requested): against the whole path, then
 * against its directory (covering the files directly in it).
 *
 * @param ip - The client's canonical address for a bound token; "" for an unbound one.
 * @param hash - The MD5 to hash with (the gate's settings say which).
 */
export function verifyQueryToken(
  path: string,
  query: TokenQuery,
  secret: string,
  ip: string,
  now: number,
  hash: Md5Base64url,
): QueryVerdict {
  const { md5, expires } = query;
  if (md5 === undefined || expires === undefined || query.repeated !== undefined) {
    return "malformed";
  }
  if (!isTokenShape(md5) || !isExpires(expires)) return "malformed";
  const directory = path.slice(0, path.lastIndexOf("/") + 1);
  const whole = hash(`${expires}${path}${ip} ${secret}`);
  const folder = hash(`${expires}${directory}${ip} ${secret}`);
  // Both compared, whichever matches: the time taken does not tell which form was signed.
  const matches = Number(timingSafeEqual(whole, md5)) | Number(timingSafeEqual(folder, md5));
  if (matches === 0) return "bad-token";
  return Number(expires) < now ? "expired" : "valid";
}

/** Checks an MP4 advanced token for `uri` (raw, as requested). See {@link verifyQueryToken}. */
export function verifyMp4Token(
  uri: string,
  query: TokenQuery,
  secret: string,
  ip: string,
  now: number,
  hash: Md5Base64url,
): QueryVerdict {
  const { md5, expires, speed, buffer } = query;
  if (md5 === undefined || expires === undefined || query.repeated !== undefined) {
    return "malformed";
  }
  if (!isTokenShape(md5) || !isExpires(expires)) return "malformed";
  if (
    (speed !== undefined && !RATE_SHAPE.test(speed)) ||
    (buffer !== undefined && !RATE_SHAPE.test(buffer))
  ) {
    return "malformed";
  }
  const expected = hash(`${uri}_${secret}_${expires}_${speed ?? ""}_${buffer ?? ""}_${ip}`);
  if (!timingSafeEqual(expected, md5)) return "bad-token";
  return Number(expires) < now ? "expired" : "valid";
}
