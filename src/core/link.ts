/**
 * Protected-link URLs: `/<kind>/<client_id>_<video_id>/<token>/<expires>/<file…>[?query]`.
 * Parsing works on the raw request path, before any percent-decoding, so what is checked is
 * exactly what the origin will be asked for. Pure: no Hono, no Node, no Workers APIs.
 * @module
 */
/** The largest `expires` a link may carry: int64 max, as Gcore's Go snippet formats it. */
export const MAX_EXPIRES = 9223372036854775807n;
const MAX_EXPIRES_TEXT = "9223372036854775807";

/** A token is unpadded base64url of a 16-byte digest. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}$/;
/** Unix seconds as the gate accepts them: no sign, no leading zero, at most 19 digits. */
const EXPIRES_SHAPE = /^[1-9][0-9]{0,18}$/;

/** The parts of a protected link, each exactly as written in the URL (still percent-encoded). */
export interface Link {
  /** First segment: `videos`, `cmaf`, … */
  kind: string;
  /** Before the first `_` of the second segment. */
  clientId: string;
  /** After the first `_` of the second segment; may contain `_`. */
  videoId: string;
  token: string;
  expires: string;
  /** Everything after the expires segment, without its leading `/`; never empty. */
  file: string;
}

/** Why a path is not a usable link. */
export type LinkProblem =
  /** `//`, `\`, `%2f`, `%5c`, `%00`, a control or non-ASCII byte, a `.`/`..` segment (also `..;x`). */
  | "unsafe-path"
  /** Not `/<kind>/<client>_<video>/<token>/<expires>/<file…>`, or a bad token/expires shape. */
  | "malformed";

export type ParsedLink =
  { ok: true; link: Link } | { ok: false; problem: LinkProblem; detail: string };

/**
 * Splits a request target (`/path?query`, or an absolute URL) into its raw path and query,
 * without decoding either. The query excludes the `?`; a fragment, if any, is dropped.
 *
 * @example
 * ```ts
 * splitTarget("https://cdn.example.com/videos/a_b/t/1/x.ts?part=4"); // { path: "/videos/a_b/t/1/x.ts", query: "part=4" }
 * ```
 */
export function splitTarget(target: string): { path: string; query: string } {
  let start = 0;
  if (target.charCodeAt(0) !== 0x2f) {
    // Absolute URL: the path starts at the first "/", "?" or "#" after the authority.
    const scheme = target.indexOf("://");
    start = scheme < 0 ? 0 : scheme + 3;
    while (start < target.length && !"/?#".includes(target[start]!)) start++;
  }
  let end = target.indexOf("#", start);
  if (end < 0) end = target.length;
  const question = target.indexOf("?", start);
  if (question >= 0 && question < end) {
    return { path: target.slice(start, question) || "/", query: target.slice(question + 1, end) };
  }
  return { path: target.slice(start, end) || "/", query: "" };
}

/**
 * Why `path` could reach outside its folder or confuse the origin, or `undefined` when it is
 * safe. Checked on the raw path: `//`, `\`, an encoded `/` `\` NUL or control byte, any byte
 * outside printable ASCII, a broken `%` escape, escaped bytes that are not valid UTF-8 (overlong
 * forms like `%c0%ae`), and `.`/`..` segments, also spelled `%2e`, also with a `;…` suffix
 * (`..;`, `.%3bx`), and a segment that is empty before its `;`.
 *
 * @example
 * ```ts
 * unsafePathDetail("/videos/1_a/t/1/%2e%2e/x"); // "dot segment"
 * unsafePathDetail("/videos/1_a/t/1/720/seg-1.ts"); // undefined
 * ```
 */
export function unsafePathDetail(path: string): string | undefined {
  // Most paths hold nothing to decode: one native match clears them, where the scan below
  // costs a step per character (njs, inside nginx, interprets every one).
  // Such a path can still have `//` or a `.`/`..` segment, which needs a `/.` or a leading `.`.
  if (
    PLAIN_PATH.test(path) &&
    path.indexOf("//") < 0 &&
    path.indexOf("/.") < 0 &&
    path.charCodeAt(0) !== 0x2e
  ) {
    return undefined;
  }
  return scanPath(path);
}

/** Only characters a path holds as they are: no `%`, `;`, `\`, control, space or non-ASCII. */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/;

/**
 * {@link unsafePathDetail} character by character: the whole rule, and the first problem's
 * detail. Exported for the test that holds the shortcut above to it.
 */
export function scanPath(path: string): string | undefined {
  const length = path.length;
  // Per segment: how many dots it has, and whether it has anything else, counted up to its
  // first ";" only: Tomcat, Jetty and Spring drop ";params" before they resolve dot segments,
  // so to them "..;x" is "..".
  let dots = 0;
  let other = false;
  let params = false;
  // Percent-escaped bytes >= 0x80 must spell valid UTF-8: an overlong form such as %c0%ae
  // ("." to an old or careless decoder) would otherwise slip a dot segment past this check.
  let pending = 0; // continuation bytes still expected
  let low = 0x80; // allowed range of the next continuation byte
  let high = 0xbf;
  let codePoint = 0; // the escaped character being read
  for (let i = 0; i <= length; i++) {
    const c = i < length ? path.charCodeAt(i) : 0x2f;
    if (c === 0x25) {
      const byte = hexByte(path, i + 1);
      if (byte < 0) return "broken percent escape";
      i += 2;
      if (pending > 0) {
        if (byte < low || byte > high) return "encoded bytes are not UTF-8";
        pending--;
        low = 0x80;
        high = 0xbf;
        codePoint = (codePoint << 6) | (byte & 0x3f);
        if (pending === 0 && normalisesToSpecial(codePoint)) {
          return "encoded character an origin may normalise to . / \\ ; % ? or #";
        }
        continue;
      }
      if (byte === 0x2f || byte === 0x5c) return "encoded slash or backslash";
      if (byte < 0x20 || byte === 0x7f) return "encoded control byte";
      if (byte >= 0x80) {
        pending = utf8Lead(byte);
        if (pending === 0) return "encoded bytes are not UTF-8";
        codePoint = byte & (0x3f >> pending);
        // Bounds for the second byte that rule out overlong forms and surrogates (RFC 3629 §4).
        low = byte === 0xe0 ? 0xa0 : byte === 0xf0 ? 0x90 : 0x80;
        high = byte === 0xed ? 0x9f : byte === 0xf4 ? 0x8f : 0xbf;
        if (!params) other = true;
      } else if (params) {
        // after ";": not part of the name the origin resolves
      } else if (byte === 0x2e) {
        dots++;
      } else if (byte === 0x3b) {
        params = true;
      } else {
        other = true;
      }
      continue;
    }
    if (pending > 0) return "encoded bytes are not UTF-8";
    if (c === 0x2f) {
      if (!other && (dots === 1 || dots === 2))
        return params ? "dot segment before ;" : "dot segment";
      if (params && !other && dots === 0) return "empty segment before ;";
      if (i > 0 && i < length && path.charCodeAt(i - 1) === 0x2f) return "empty segment (//)";
      dots = 0;
      other = false;
      params = false;
    } else if (c === 0x5c) {
      return "backslash";
    } else if (c <= 0x20 || c >= 0x7f) {
      return "control, space or non-ASCII byte";
    } else if (params) {
      // after ";": not part of the name the origin resolves
    } else if (c === 0x3b) {
      params = true;
    } else if (c === 0x2e) {
      dots++;
    } else {
      other = true;
    }
  }
  return undefined;
}

/**
 * The characters past ASCII whose Unicode compatibility normalisation (NFKC), which some
 * origins apply after decoding, holds `.` `/` `\` `;` `%` `?` or `#`: fullwidth `．`, the two dot
 * leader `‥` and `︰` become dots, `℀` becomes `a/c`, `％` a percent sign, `;` (U+037E) a
 * semicolon. A table, not a call to `normalize`, so every runtime refuses the same (njs has no
 * `normalize`, and engines ship different Unicode versions); `test/core/link.test.ts` holds it
 * to `normalize("NFKC")` for every code point on each Node the suite runs on.
 * Sorted pairs of first and last code point.
 */
const NORMALISES_TO_SPECIAL: readonly number[] = [
  0x37e, 0x37e, 0x2024, 0x2026, 0x2047, 0x2049, 0x2100, 0x2101, 0x2105, 0x2106, 0x2488, 0x249b,
  0x33c2, 0x33c2, 0x33c7, 0x33c7, 0x33d8, 0x33d8, 0xfe14, 0xfe14, 0xfe16, 0xfe16, 0xfe19, 0xfe19,
  0xfe30, 0xfe30, 0xfe52, 0xfe52, 0xfe54, 0xfe54, 0xfe56, 0xfe56, 0xfe5f, 0xfe5f, 0xfe68, 0xfe68,
  0xfe6a, 0xfe6a, 0xff03, 0xff03, 0xff05, 0xff05, 0xff0e, 0xff0f, 0xff1b, 0xff1b, 0xff1f, 0xff1f,
  0xff3c, 0xff3c, 0x1f100, 0x1f100,
];

/** Whether an escaped character becomes `. / \ ; % ? #` under NFKC (see the table above). */
function normalisesToSpecial(codePoint: number): boolean {
  for (let i = 0; i < NORMALISES_TO_SPECIAL.length; i += 2) {
    if (codePoint < NORMALISES_TO_SPECIAL[i]!) return false;
    if (codePoint <= NORMALISES_TO_SPECIAL[i + 1]!) return true;
  }
  return false;
}

/** Continuation bytes a UTF-8 lead byte announces, or 0 when it cannot lead (RFC 3629). */
function utf8Lead(byte: number): number {
  if (byte >= 0xc2 && byte <= 0xdf) return 1;
  if (byte >= 0xe0 && byte <= 0xef) return 2;
  if (byte >= 0xf0 && byte <= 0xf4) return 3;
  return 0;
}

/** The byte of the two hex digits at `path[i]`, or a negative number. */
function hexByte(path: string, i: number): number {
  // A non-digit's -1 has every bit set, so the result is negative whichever digit it is.
  return (hexDigit(path.charCodeAt(i)) << 4) | hexDigit(path.charCodeAt(i + 1));
}

/** The value of a hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Whether `text` is an expires segment the gate accepts: `[1-9][0-9]{0,18}`, at most int64 max.
 *
 * @example
 * ```ts
 * isExpires("1861919999"); // true
 * isExpires("01861919999"); // false: leading zero
 * ```
 */
export function isExpires(text: string): boolean {
  if (!EXPIRES_SHAPE.test(text)) return false;
  // Same-length decimal strings compare like their numbers.
  return text.length < 19 || text <= MAX_EXPIRES_TEXT;
}

/**
 * Whether `text` has the shape of a token: exactly 22 characters of `[A-Za-z0-9_-]`.
 *
 * @example
 * ```ts
 * isTokenShape("v_dyZ60YkifNIDjqZTVFDg"); // true
 * ```
 */
export function isTokenShape(text: string): boolean {
  return TOKEN_SHAPE.test(text);
}

/**
 * Why `clientId_videoId`, as written in a link, would make a link the gate refuses, or
 * `undefined`: a `/`, `?`, `#` or `\`, anything {@link unsafePathDetail} refuses in a segment
 * (`%2f`, `%00`, a broken escape, overlong UTF-8, a dot segment, an empty one before `;`), a `;`,
 * or an escape of a character that may stand in a segment as it is (`%5F`, `%61`, `%3B`): an
 * origin that decodes once, or drops `;params`, would read such an id as another video's.
 *
 * @example
 * ```ts
 * idProblem("2675_abc"); // undefined
 * idProblem("2675_a?b"); // "has /, ?, # or \\"
 * idProblem("26%5F75_abc"); // "escapes a character that may stand as it is (%5F)"
 * ```
 */
export function idProblem(segment: string): string | undefined {
  if (/[/?#\\]/.test(segment)) return "has /, ?, # or \\";
  if (segment.includes(";")) return "has ; (origins that drop ;params would read another id)";
  const escaped = aliasEscape(segment);
  if (escaped !== undefined) return `escapes a character that may stand as it is (${escaped})`;
  return unsafePathDetail(`/${segment}/`);
}

/**
 * Characters RFC 3986 lets a path segment hold as they are (unreserved, sub-delims, `:`, `@`):
 * an escape of one, decoded, makes the id read as another one.
 */
const AS_IS = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;
/** The first escape in `segment` of a character it could hold as it is, e.g. `%5F`. */
function aliasEscape(segment: string): string | undefined {
  for (let i = segment.indexOf("%"); i >= 0; i = segment.indexOf("%", i + 1)) {
    // AS_IS holds ASCII only: an escaped byte from 0x80 up, read as a character, matches none.
    const code = parseInt(segment.slice(i + 1, i + 3), 16);
    if (AS_IS.test(String.fromCharCode(code))) return segment.slice(i, i + 3);
  }
  return undefined;
}

/**
 * Parses a raw request path (no query) as a protected link. It checks shape only (safe path,
 * five parts, token and expires syntax); the token itself is checked by `verifyToken`.
 *
 * @example
 * ```ts
 * const parsed = parseLink("/videos/2675_abc/v_dyZ60YkifNIDjqZTVFDg/1861919999/720/seg-1.ts");
 * if (parsed.ok) parsed.link.file; // "720/seg-1.ts"
 * ```
 */
export function parseLink(path: string): ParsedLink {
  const unsafe = unsafePathDetail(path);
  if (unsafe !== undefined) return { ok: false, problem: "unsafe-path", detail: unsafe };
  if (path.charCodeAt(0) !== 0x2f) return malformed("path does not start with /");
  const kindEnd = path.indexOf("/", 1);
  if (kindEnd < 0) return malformed("no client_video segment");
  if (kindEnd === path.length - 1) return malformed("no client_video segment");
  const idEnd = path.indexOf("/", kindEnd + 1);
  if (idEnd < 0) return malformed("no token segment");
  const tokenEnd = path.indexOf("/", idEnd + 1);
  if (tokenEnd < 0) return malformed("no expires segment");
  const expiresEnd = path.indexOf("/", tokenEnd + 1);
  if (expiresEnd < 0 || expiresEnd === path.length - 1) return malformed("no file after expires");
  const underscore = path.indexOf("_", kindEnd + 1);
  if (underscore < 0 || underscore > idEnd) {
    return malformed("second segment is not client_video");
  }
  if (underscore === kindEnd + 1) return malformed("client id is empty");
  if (underscore === idEnd - 1) return malformed("video id is empty");
  const alias = idProblem(path.slice(kindEnd + 1, idEnd));
  if (alias !== undefined) return malformed(`client_video ${alias}`);
  const token = path.slice(idEnd + 1, tokenEnd);
  if (!isTokenShape(token)) return malformed("token is not 22 characters of [A-Za-z0-9_-]");
  const expires = path.slice(tokenEnd + 1, expiresEnd);
  if (!isExpires(expires)) return malformed("expires is not a number of unix seconds");
  return {
    ok: true,
    link: {
      kind: path.slice(1, kindEnd),
      clientId: path.slice(kindEnd + 1, underscore),
      videoId: path.slice(underscore + 1, idEnd),
      token,
      expires,
      file: path.slice(expiresEnd + 1),
    },
  };
}

function malformed(detail: string): ParsedLink {
  return { ok: false, problem: "malformed", detail };
}

/**
 * The path the origin is asked for: the link without its token and expires segments.
 *
 * @example
 * ```ts
 * originPath({ kind: "videos", clientId: "2675", videoId: "abc", token, expires, file: "720/seg-1.ts" });
 * // "/videos/2675_abc/720/seg-1.ts"
 * ```
 */
export function originPath(link: Link): string {
  return `/${link.kind}/${link.clientId}_${link.videoId}/${link.file}`;
}

/**
 * The path of a protected link from its parts (no escaping: pass parts as they should appear).
 *
 * @example
 * ```ts
 * buildLinkPath({ kind: "videos", clientId: "2675", videoId: "abc", token, expires: "1861919999", file: "master.m3u8" });
 * // "/videos/2675_abc/<token>/1861919999/master.m3u8"
 * ```
 */
export function buildLinkPath(link: Link): string {
  return `/${link.kind}/${link.clientId}_${link.videoId}/${link.token}/${link.expires}/${link.file}`;
}

/**
 * The gate's URL a signed link is prefixed with, checked (absolute http(s), no query or
 * fragment) and without trailing slashes; "" for none. The library's signLink and every form
 * the CLI signs share it.
 *
 * @throws TypeError for a base that is not such a URL.
 */
export function linkBase(baseUrl: string | undefined): string {
  if (baseUrl === undefined || baseUrl === "") return "";
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(
      `baseUrl must be an absolute URL such as https://cdn.example.com, got "${baseUrl}"`,
    );
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
    throw new TypeError(`baseUrl must be http(s) without query or fragment, got "${baseUrl}"`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
