/**
 * The header policy between client, gate and origin, one for every runtime: which request
 * headers the origin gets, what the gate adds, and which response headers come back. The token
 * signs client and video only, so no client header may re-route, re-method or impersonate the
 * request at the origin. The README's "Headers" table documents this file.
 * @module
 */
import { FORWARDED, nameTable } from "../core/forward-headers.js";
import { canonicalAddress } from "../core/ip.js";

// The forward policy's names live in the core, which validates FORWARD_HEADERS against them.
export { FORWARDED, neverForwarded } from "../core/forward-headers.js";

/** Response headers that describe the origin's connection, not the answer. */
const HOP_BY_HOP = nameTable([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * The request headers that say what answer is wanted, not who asks: the range, the
 * conditions and the coding. A shared cache's origin request keeps only these (the Worker's);
 * a manifest the gate rewrites is asked for without any of them (`manifestRequestHeaders`).
 */
export const ANSWER_SHAPING_HEADERS: readonly string[] = [
  "range",
  "if-range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "accept-encoding",
];

/**
 * Answer headers never passed on: each has a browser fetch or post to a URL of its own
 * (speculation rules, reporting endpoints, network error logging, a report-only content
 * security policy, which enforces nothing and only reports), which would be the origin's
 * address and take the viewer past the gate, or (`Alt-Svc`) go elsewhere for the gate's own
 * host: the origin's alternative services, not the gate's. A media answer needs none of them.
 */
export const NEVER_RETURNED: readonly string[] = [
  "speculation-rules",
  "reporting-endpoints",
  "report-to",
  "nel",
  "alt-svc",
  "content-security-policy-report-only",
];
const NEVER_RETURNED_TABLE = nameTable(NEVER_RETURNED);

/**
 * Whether a value is not forwarded: bytes that would end a header line early (HTTP parsers
 * refuse them in requests, so this is the last guard against header injection behind a lenient
 * one), and bytes past ASCII, which the origin leg would send re-encoded rather than as
 * received. A character at a time: njs hands over bytes that are not UTF-8 as a byte string,
 * which a pattern of code points does not match.
 */
function badValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 10 || code === 13 || code >= 0x80 || code !== code) return true;
  }
  return false;
}

/** Who the gate saw: the source of `X-Forwarded-For` and `X-Forwarded-Proto`. */
export interface ClientInfo {
  /** The client's address as the gate saw it (socket peer, or `CF-Connecting-IP` on Workers). */
  address: string | undefined;
  /** The scheme the client used to reach the gate. */
  proto: "http" | "https";
}

/**
 * The header names a `Connection` header lists (RFC 9110 §7.6.1): hop-by-hop for this message.
 *
 * @param connection - The `Connection` header value(s), joined with commas, or "".
 * @example
 * ```ts
 * connectionTokens("keep-alive, X-Hop"); // ["keep-alive", "x-hop"]
 * ```
 */
export function connectionTokens(connection: string): readonly string[] {
  if (connection === "" || connection.toLowerCase() === "keep-alive") return NO_TOKENS;
  return connection
    .toLowerCase()
    .split(",")
    .map((token) => token.trim());
}
const NO_TOKENS: readonly string[] = [];

/** All values of `name` in `pairs`, joined with ", " as RFC 9110 §5.3 allows. */
function joined(pairs: Iterable<readonly [string, string]>, name: string): string {
  let value = "";
  for (const [key, item] of pairs) {
    if (key.toLowerCase() === name) value = value === "" ? item : `${value}, ${item}`;
  }
  return value;
}

/**
 * The headers the origin gets for a client's request headers: those of the allow-list
 * ({@link FORWARDED}) and of `extra` (the operator's `FORWARD_HEADERS`) in the client's order and
 * casing, then `X-Forwarded-For` with the address the gate saw and `X-Forwarded-Proto`. Any
 * other header, any header the `Connection` header names, and any value with a byte that could
 * end a line or is past ASCII, stays behind.
 *
 * @param headers - The client's request headers as name/value pairs (a `Headers` object is
 *   such an iterable; on Node pair up `rawHeaders`).
 * @param client - See {@link ClientInfo}.
 * @param extra - `FORWARD_HEADERS`: further names, lower case, none of them {@link neverForwarded}.
 * @example
 * ```ts
 * fetch(url, { headers: originRequestHeaders(request.headers, { address: "203.0.113.7", proto: "https" }, []) });
 * ```
 */
export function originRequestHeaders(
  headers: Iterable<readonly [string, string]>,
  client: ClientInfo,
  extra: readonly string[],
): [string, string][] {
  const named = connectionTokens(joined(headers, "connection"));
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (!isForwardedName(lower, named, extra) || badValue(value)) continue;
    out.push([name, value]);
  }
  if (client.address !== undefined && client.address !== "") {
    out.push(["x-forwarded-for", client.address]);
  }
  out.push(["x-forwarded-proto", client.proto]);
  return out;
}

/**
 * Whether a client's request header (lower-case name) goes on to the origin: one of the
 * allow-list or of `extra`, and not named by the request's `Connection`.
 *
 * @param named - {@link connectionTokens} of the request.
 * @param extra - `FORWARD_HEADERS`, lower case.
 * @example
 * ```ts
 * isForwardedName("range", [], []); // true
 * isForwardedName("x-foo", [], []); // false
 * ```
 */
export function isForwardedName(
  name: string,
  named: readonly string[],
  extra: readonly string[],
): boolean {
  if (FORWARDED[name] !== true && extra.indexOf(name) === -1) return false;
  return named.indexOf(name) === -1;
}

/**
 * Whether an origin response header goes back to the client: everything but hop-by-hop headers,
 * those the origin's `Connection` header names and {@link NEVER_RETURNED}.
 *
 * @param name - Lower-case header name.
 * @param named - {@link connectionTokens} of the response.
 * @example
 * ```ts
 * isReturned("content-range", []); // true
 * ```
 */
export function isReturned(name: string, named: readonly string[]): boolean {
  return HOP_BY_HOP[name] !== true && NEVER_RETURNED_TABLE[name] !== true && !named.includes(name);
}

/**
 * Pairs `rawHeaders`-style flat lists (`[name, value, name, value, …]`, as node:http and undici
 * give them) into name/value pairs.
 *
 * @example
 * ```ts
 * headerPairs(["Range", "bytes=0-1"]); // [["Range", "bytes=0-1"]]
 * ```
 */
export function headerPairs(flat: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}

/**
 * The rules that keep the origin's address out of a `Location` (patterns nginx's `map` takes,
 * {@link plainLocationRules}; {@link locationRewriter} applies them; the first that matches wins): one on
 * the origin's host, whatever its scheme (http, https or none), port or user part, becomes
 * relative, its path without ORIGIN_URL's path (as `proxy_redirect default` strips it; also
 * from a path-absolute one); any other is kept. Case is matched letter by letter in the
 * pattern, for nginx and JavaScript read no flag alike.
 *
 * @param origin - ORIGIN_URL as `readSettings` returns it (no trailing slash).
 * @example
 * ```ts
 * locationRules("http://origin.test/base").length; // 9
 * ```
 */
export function locationRules(origin: string): [pattern: string, replacement: string][] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/]*)(.*)$/i.exec(origin);
  if (match === null) throw new TypeError("origin must be an absolute URL");
  const authority = match[1]!;
  const hostname = authority.startsWith("[")
    ? authority.slice(0, authority.indexOf("]") + 1)
    : authority.split(":")[0]!;
  const prefix = regexText(match[2]!);
  const onOrigin = `^(?:(?:[hH][tT][tT][pP][sS]?|[wW][sS][sS]?):)?[/\\\\][/\\\\](?:[^/\\\\?#]*@)?${anyCase(regexText(hostname))}(?::[0-9]*)?`;
  // A path that starts with two slashes (a tab or newline between them is dropped by browsers)
  // would read as another host once relative: `/.` in front keeps it a path on this one.
  const twice = "[\\t\\n\\r]*[/\\\\]";
  const rules: [string, string][] = [];
  if (prefix !== "") {
    rules.push(
      [`${onOrigin}${prefix}(/${twice}.*)$`, "/.$1"],
      [`${onOrigin}${prefix}(/.*)$`, "$1"],
      [`${onOrigin}${prefix}([?#].*)?$`, "/$1"],
    );
  }
  rules.push(
    [`${onOrigin}[/\\\\](${twice}.*)$`, "/./$1"],
    [`${onOrigin}[/\\\\](.*)$`, "/$1"],
    [`${onOrigin}([?#].*)?$`, "/$1"],
  );
  if (prefix !== "") {
    rules.push(
      [`^${prefix}(/${twice}.*)$`, "/.$1"],
      [`^${prefix}(/.*)$`, "$1"],
      [`^${prefix}([?#].*)?$`, "/$1"],
    );
  }
  return rules;
}

/**
 * The rules by which a config of patterns (nginx's `map`) may decide a `Location` alone, as
 * {@link locationRewriter} would: {@link locationRules} for a value without a backslash, a
 * control character or a trailing space (with them a browser reads it otherwise), then a relative reference that
 * names no host, no scheme and not ORIGIN_URL's path, kept (`$0`); anything else is the
 * rewriter's to read (`urlAuthority`). First match wins; case is matched as written.
 *
 * @example
 * ```ts
 * plainLocationRules("http://origin.test/base").length; // 10
 * ```
 */
export function plainLocationRules(origin: string): [pattern: string, replacement: string][] {
  // No backslash or control character, and no trailing space (a browser drops it).
  const plain = "(?=(?:[^\\\\\\x00-\\x1f]*[^\\\\\\x00-\\x20])?$)";
  const rules = locationRules(origin).map(
    ([pattern, replacement]) => [`^${plain}${pattern.slice(1)}`, replacement] as [string, string],
  );
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(.*)$/i.exec(origin)!;
  const prefix = match[1] === "" ? "" : `(?!${regexText(match[1]!)}(?:[/\\\\?#]|$))`;
  rules.push([
    `^(?![\\x00-\\x20])(?![/\\\\][/\\\\])${prefix}[^\\x00-\\x1f:/\\\\?#]*(?:[/?#][^\\x00-\\x1f\\\\]*)?$`,
    "$0",
  ]);
  return rules;
}

/**
 * A function giving a `Location` value as the client gets it, by {@link locationRules}: made
 * once per origin, applied to every answer.
 *
 * @example
 * ```ts
 * locationRewriter("http://origin.test/base")("http://origin.test/base/a.ts"); // "/a.ts"
 * ```
 */
export function locationRewriter(origin: string): (location: string) => string {
  const rules = locationRules(origin).map(
    ([pattern, replacement]) => [new RegExp(pattern), replacement] as const,
  );
  const literal = (location: string): string | null => {
    for (const [pattern, replacement] of rules) {
      if (pattern.test(location)) return location.replace(pattern, replacement);
    }
    return null;
  };
  const own = urlAuthority(origin);
  if (own === null) throw new TypeError("origin must be an absolute http(s) URL");
  // ORIGIN_URL up to its path, the spelling the rules take.
  const plain = origin.slice(0, origin.length - own.rest.length);
  return (location) => {
    // Every spelling a browser reads as the origin's host (WHATWG URL) is rewritten as the
    // plain one is, whatever the port, as the rules take any.
    const read = urlAuthority(location);
    // A host past ASCII may be the origin's in a spelling only the whole IDNA table reads
    // (superscripts, circled digits): dropped, never passed on.
    if (read !== null && read.host === "") return "";
    if (read !== null && read.host === own.host) {
      // No rule takes it (a rest with U+2028 or U+2029, which "." does not match): dropped, as
      // the origin's address must never be passed on.
      return literal(plain + read.rest) ?? "";
    }
    return literal(location) ?? location;
  };
}

/** What {@link urlAuthority} reads from an http(s) URL. */
export interface UrlAuthority {
  /**
   * Lower case, percent-decoded, one trailing dot dropped, an IPv4 address dotted; "" for a
   * host with characters past ASCII a browser maps (IDNA) and this reader does not.
   */
  host: string;
  /** The port, or the scheme's default when it is omitted or empty (0 without a scheme: the page's). */
  port: number;
  /** What follows the authority (path, query, fragment), tabs and newlines removed, `\\` in the path as `/`. */
  rest: string;
}

/**
 * The host and port of a URL as a browser reads it (WHATWG URL) when it names an http or https
 * authority: `http:`/`https:` (or `ws:`/`wss:`; any case) followed by any run of `/` and `\` (`http:host` too,
 * as a page of the other scheme reads it), or no scheme and two or more of them (as against
 * an http(s) page); null for anything else, a relative reference or a host a browser refuses.
 * An IPv6 literal is read in RFC 5952 form (an IPv4-mapped one as its IPv4 address). ASCII tabs
 * and newlines are dropped anywhere, the userinfo up to the last `@`, one trailing dot of the host; an IPv4 address in
 * any WHATWG form (1 to 4 parts, decimal, `0x` hex, `0` octal) is dotted. Pure scans, no `URL`
 * (njs 0.7.9 has none).
 *
 * @example
 * ```ts
 * urlAuthority("http:/%31%32%37.1.:80\\a"); // { host: "127.0.0.1", port: 80, rest: "\\a" }
 * ```
 */
export function urlAuthority(url: string): UrlAuthority | null {
  let text = "";
  let from = 0;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d) {
      text += url.slice(from, i);
      from = i + 1;
    }
  }
  text += url.slice(from);
  // Leading and trailing C0 controls and spaces, as the parser trims them.
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  text = text.slice(start, end);
  let at = 0;
  let port = 0;
  const colon = text.indexOf(":");
  const scheme = colon > 0 ? text.slice(0, colon).toLowerCase() : "";
  // WebSocket's schemes are special to WHATWG URL too: the same host parsing.
  if (scheme === "http" || scheme === "https" || scheme === "ws" || scheme === "wss") {
    port = scheme === "http" || scheme === "ws" ? 80 : 443;
    at = colon + 1;
  } else {
    // Another scheme (`ftp:`) starts with a letter, not the two slashes asked for below: null.
    port = -1;
  }
  const slashes = at;
  while (at < text.length && (text[at] === "/" || text[at] === "\\")) at++;
  if (port < 0) {
    if (at - slashes < 2) return null;
    port = 0;
  }
  let stop = at;
  while (stop < text.length && "/\\?#".indexOf(text[stop]!) < 0) stop++;
  let authority = text.slice(at, stop);
  authority = authority.slice(authority.lastIndexOf("@") + 1);
  let host = authority;
  const close = authority.lastIndexOf("]");
  const portAt = authority.indexOf(":", close + 1);
  if (portAt >= 0) {
    host = authority.slice(0, portAt);
    const digits = authority.slice(portAt + 1);
    if (digits !== "") {
      if (!/^[0-9]+$/.test(digits)) return null;
      port = Number(digits);
      if (port > 65535) return null;
    }
  }
  const read = readHost(host);
  if (read === null) return null;
  // A `\\` in the path is a `/` to the parser (special schemes); not in the query or fragment.
  let rest = text.slice(stop);
  let path = rest.length;
  for (let i = 0; i < path; i++) if (rest[i] === "?" || rest[i] === "#") path = i;
  if (rest.lastIndexOf("\\", path) >= 0) {
    rest = rest.slice(0, path).split("\\").join("/") + rest.slice(path);
  }
  return { host: read, port, rest };
}

/**
 * `text` read as UTF-8 when it holds bytes (every character below 0x100) of ASCII and two- or
 * three-byte UTF-8 forms (no overlong one); else `text` itself. A four-byte form (a character
 * past the BMP) is left as bytes: past ASCII either way, as readHost needs to know.
 */
function utf8Read(text: string): string {
  let out = "";
  for (let i = 0; i < text.length;) {
    const b = text.charCodeAt(i);
    if (b < 0x80) {
      out += text.charAt(i++);
      continue;
    }
    // A character above 0xff is no byte: `text` is no UTF-8 held as bytes.
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : 0;
    if (need === 0) return text;
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = text.charCodeAt(i + k);
      if (!(c >= 0x80 && c <= 0xbf)) return text;
      code = (code << 6) | (c & 0x3f);
    }
    if (need === 2 && code < 0x800) return text;
    out += String.fromCharCode(code);
    i += need + 1;
  }
  return out;
}

/**
 * A host as WHATWG URL reads it for http(s), one trailing dot dropped: percent-decoded, full-width
 * forms and ideographic full stops made ASCII, lower case, an IPv4 address dotted, an IPv6 one
 * in RFC 5952 form (IPv4-mapped as its IPv4 address); null when a browser refuses it; "" when
 * it keeps a character past ASCII (whose IDNA mapping is not made here: it could be any host).
 */
function readHost(host: string): string | null {
  if (host === "") return null;
  if (host[0] === "[") {
    // Every spelling of one IPv6 address is one host to a browser: compared in one form
    // (RFC 5952, as WHATWG serialises it; an IPv4-mapped one as its IPv4 address).
    const inner = host.slice(1, host.length - 1);
    const canonical = host[host.length - 1] === "]" ? canonicalAddress(inner) : undefined;
    if (canonical === undefined) return host.toLowerCase();
    return canonical.indexOf(":") >= 0 ? `[${canonical}]` : canonical;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(host);
  } catch {
    return null;
  }
  // Bytes past ASCII held one a character (node:http's latin1), read as the UTF-8 they are.
  decoded = utf8Read(decoded);
  let ascii = "";
  for (let i = 0; i < decoded.length; i++) {
    let c = decoded.charCodeAt(i);
    // U+FF0E is among the full-width forms.
    if (c === 0x3002 || c === 0xff61) c = 0x2e;
    else if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0;
    else if (c === 0xad || c === 0x200b || c === 0x2060 || c === 0xfeff) continue;
    if (c > 0x7e) return "";
    ascii += String.fromCharCode(c);
  }
  ascii = ascii.toLowerCase();
  if (/[\x00-\x20#%/:<>?@[\\\]^|]/.test(ascii)) return null;
  const ipv4 = readIpv4(ascii);
  // Dotted, or null: a number that is no address.
  if (ipv4 !== "") return ipv4;
  return ascii.charCodeAt(ascii.length - 1) === 0x2e ? ascii.slice(0, -1) : ascii;
}

/**
 * An IPv4 host in dotted form when the host ends in a number (WHATWG's rule), "" when it does
 * not (a name), null when it ends in a number that is no address (a browser refuses it).
 */
function readIpv4(host: string): string | null {
  const parts = host.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  const last = parts[parts.length - 1]!;
  if (!/^(?:[0-9]+|0[xX][0-9a-fA-F]*)$/.test(last)) return "";
  if (parts.length > 4) return null;
  const numbers: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    let n: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part.slice(1), 8);
    else if (/^(?:0|[1-9][0-9]*)$/.test(part)) n = Number(part);
    else return null;
    numbers.push(n);
  }
  const tail = numbers[numbers.length - 1]!;
  if (tail >= Math.pow(256, 5 - numbers.length)) return null;
  const dotted: number[] = [];
  for (let i = 0; i < numbers.length - 1; i++) {
    if (numbers[i]! > 255) return null;
    dotted.push(numbers[i]!);
  }
  for (let k = 4 - numbers.length; k >= 0; k--)
    dotted.push(Math.floor(tail / Math.pow(256, k)) % 256);
  return dotted.join(".");
}

/**
 * A response header's value as the client gets it: a `Location` or `Content-Location`, the URL
 * of a `Refresh` (after its `url=`, spaces allowed around `=`), and each `<URI>` and `anchor`
 * of a `Link` (servers and packagers name a resource by the Host they were asked
 * with), by `relocate` ({@link locationRewriter}); any other header as sent.
 *
 * @param name - Lower-case header name.
 * @example
 * ```ts
 * relocated("refresh", "5; url=http://origin.test/a.ts", locationRewriter("http://origin.test")); // "5; url=/a.ts"
 * ```
 */
export function relocated(
  name: string,
  value: string,
  relocate: (location: string) => string,
): string {
  if (name === "location" || name === "content-location") return relocate(value);
  if (name === "link") return relocatedLink(value, relocate);
  if (name !== "refresh") return value;
  // The URL a browser follows (the HTML standard's steps); then, for what they read otherwise,
  // the URL after a later `url=`, so no spelling keeps the origin's address in sight.
  const span = refreshUrlSpan(value);
  if (span !== undefined) {
    const [start, end] = span;
    const url = value.slice(start, end);
    // Chromium reads a quoted URL to the last quote, the standard to the first: a value that
    // names the origin read either way is dropped.
    const quote = value.charAt(start - 1);
    if (start > 0 && (quote === "'" || quote === '"')) {
      const last = value.lastIndexOf(quote);
      const longer = last > end ? value.slice(start, last) : url;
      if (longer !== url && relocate(longer) !== longer) return "";
    }
    const moved = relocate(url);
    // Dropped (""), the whole header goes: `0; url=` alone reloads the page forever.
    if (moved === "") return "";
    if (moved !== url) return value.slice(0, start) + moved + value.slice(end);
    // An absolute URL elsewhere is what a browser follows: a `url=` in its query is its own.
    if (urlAuthority(url) !== null) return value;
  }
  const at = refreshUrlAt(value);
  if (at < 0) return value;
  const moved = relocate(value.slice(at));
  return moved === "" ? "" : value.slice(0, at) + moved;
}

/**
 * Where the URL of a `Refresh` value starts and ends as a browser reads it (the HTML
 * standard's "shared declarative refresh steps"): a delay of digits and dots, then `;`, `,` or
 * whitespace, an optional `url=` (any case, whitespace around `=`) and an optional quote, which
 * ends the URL where it recurs. Undefined with no delay or no URL.
 */
function refreshUrlSpan(value: string): [number, number] | undefined {
  let i = skipWhitespace(value, 0);
  const delay = i;
  while (i < value.length && isDigitOrDot(value.charCodeAt(i))) i++;
  if (i === delay || i >= value.length) return undefined;
  const after = value.charCodeAt(i);
  if (after !== 0x3b && after !== 0x2c && !isWhitespace(after)) return undefined;
  i = skipWhitespace(value, i);
  if (value.charCodeAt(i) === 0x3b || value.charCodeAt(i) === 0x2c) i++;
  i = skipWhitespace(value, i);
  let start = i;
  if (value.slice(i, i + 3).toLowerCase() === "url") {
    const equals = skipWhitespace(value, i + 3);
    if (value.charCodeAt(equals) === 0x3d) start = skipWhitespace(value, equals + 1);
  }
  let end = value.length;
  const quote = value.charAt(start);
  if (quote === "'" || quote === '"') {
    start++;
    const close = value.indexOf(quote, start);
    if (close >= 0) end = close;
  }
  return start < end ? [start, end] : undefined;
}

function isDigitOrDot(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || code === 0x2e;
}

/** ASCII whitespace as the HTML standard has it: tab, newline, form feed, return, space. */
function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

function skipWhitespace(value: string, i: number): number {
  while (i < value.length && isWhitespace(value.charCodeAt(i))) i++;
  return i;
}

/**
 * Where a `Refresh` value's URL starts: after the first `url`, any case, then `=` with spaces
 * or tabs either side as browsers allow them; -1 when there is none. indexOf scans (njs).
 */
function refreshUrlAt(value: string): number {
  const lower = value.toLowerCase();
  for (let at = lower.indexOf("url"); at >= 0; at = lower.indexOf("url", at + 3)) {
    const equals = skipBlanks(value, at + 3);
    if (value.charCodeAt(equals) !== 0x3d) continue;
    return skipBlanks(value, equals + 1);
  }
  return -1;
}

/** The index of the first character at or after `i` that is not a space or a tab. */
function skipBlanks(value: string, i: number): number {
  while (i < value.length && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
  return i;
}

/**
 * A `Link` value (RFC 8288) with each `<URI>` relocated: a `<` outside a quoted parameter opens
 * one, the next `>` closes it; one that does not close is left as it is. One pass, parts joined
 * once (njs).
 */
function relocatedLink(value: string, relocate: (location: string) => string): string {
  const parts: string[] = [];
  let copied = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x3c) {
      const close = value.indexOf(">", i + 1);
      if (close < 0) break;
      const moved = relocate(value.slice(i + 1, close));
      // A reference the rewriter drops takes the whole header with it.
      if (moved === "" && close > i + 1) return "";
      parts.push(value.slice(copied, i + 1), moved);
      copied = close;
      i = close;
    } else if (c === 0x3b) {
      // An `anchor` parameter is a URI too (RFC 8288 §3.2), quoted or not.
      let at = skipBlanks(value, i + 1);
      // `imagesrcset` is a list of URIs a browser preloads from (a srcset): not rewritten, so
      // the whole header goes rather than show the viewer the origin (red team).
      if (value.slice(at, at + 11).toLowerCase() === "imagesrcset") return "";
      if (value.slice(at, at + 6).toLowerCase() !== "anchor") continue;
      at = skipBlanks(value, at + 6);
      if (value.charCodeAt(at) !== 0x3d) continue;
      at = skipBlanks(value, at + 1);
      let end = at;
      if (value.charCodeAt(at) === 0x22) {
        at++;
        end = at;
        while (end < value.length && value.charCodeAt(end) !== 0x22) {
          end += value.charCodeAt(end) === 0x5c ? 2 : 1;
        }
        if (end >= value.length) break;
      } else {
        while (end < value.length && value[end] !== ";" && value[end] !== ",") end++;
      }
      const anchor = relocate(value.slice(at, end));
      if (anchor === "" && end > at) return "";
      parts.push(value.slice(copied, at), anchor);
      copied = end;
      // Past a closing quote; before a `;` or `,`, which the loop reads next.
      i = value.charCodeAt(end) === 0x22 ? end : end - 1;
    }
  }
  parts.push(value.slice(copied));
  return parts.join("");
}

/** Text matched literally by a pattern. */
function regexText(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A pattern's letters matched in either case. */
function anyCase(pattern: string): string {
  return pattern.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
}
