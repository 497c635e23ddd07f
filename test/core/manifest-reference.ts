/**
 * The manifest rewrite as it was before every pass was made linear (global patterns, a line
 * rebuilt attribute by attribute): the reference `test/core/manifest.test.ts` holds the linear
 * rewrite to, byte for byte, on generated manifests. Not used by the gate.
 */

/** Manifests larger than this pass unchanged (the gate would otherwise hold them whole). */
export const MANIFEST_MAX_BYTES = 1024 * 1024;

/** Which manifest a response is, by its path or its `Content-Type`, or undefined. */
export function manifestKind(
  path: string,
  contentType: string | undefined,
): "hls" | "dash" | undefined {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (HLS_TYPES.includes(type) || /\.m3u8$/i.test(path)) return "hls";
  if (type === "application/dash+xml" || /\.mpd$/i.test(path)) return "dash";
  return undefined;
}

const HLS_TYPES: readonly string[] = Object.freeze([
  "application/vnd.apple.mpegurl",
  "application/x-mpegurl",
  "audio/mpegurl",
  "audio/x-mpegurl",
]);

/**
 * A manifest's bytes as text, or undefined when they are not UTF-8 (rewritten, the bytes that
 * are not would turn into U+FFFD). A byte-order mark is kept, as it came.
 *
 * @example
 * ```ts
 * manifestText(new TextEncoder().encode("#EXTM3U\n")); // "#EXTM3U\n"
 * ```
 */
export function manifestText(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A rewrite's result: the manifest with the token carried on, or why it is passed on
 * unchanged (a player then fetches what it names without the token).
 */
export type Propagation = { text: string } | { unchanged: string };

/**
 * A manifest's bytes with `params` carried into it: read as UTF-8 (bytes that are not pass
 * unchanged), then rewritten as HLS or DASH.
 *
 * @example
 * ```ts
 * propagateManifest(bytes, "hls", "md5=abc&expires=1"); // { text: "…" } or { unchanged: "why" }
 * ```
 */
export function propagateManifest(
  bytes: Uint8Array,
  kind: "hls" | "dash",
  params: string,
): Propagation {
  const text = manifestText(bytes);
  if (text === undefined) return { unchanged: "not UTF-8" };
  return kind === "hls" ? propagateHls(text, params) : propagateDash(text, params);
}

/** A rewritten manifest may be this large at most, so a bounded input stays a bounded output. */
export const MANIFEST_MAX_OUTPUT_BYTES = 4 * MANIFEST_MAX_BYTES;

/** Tags whose URI attributes name a resource the player fetches, and those attributes. */
const URI_TAGS =
  /^#EXT-X-(?:MAP|KEY|MEDIA|I-FRAME-STREAM-INF|PART|PRELOAD-HINT|SESSION-KEY|SESSION-DATA|RENDITION-REPORT|CONTENT-STEERING):/;
const URI_ATTRIBUTES: readonly string[] = Object.freeze(["URI", "SERVER-URI"]);
/** One `NAME=value` of an HLS attribute list, from where the last one ended. */
const ATTRIBUTE = /([A-Z0-9-]+)=("[^"\r\n]*"|[^,\r\n]*)/y;

/**
 * An HLS playlist with `params` (`md5=…&expires=…`) appended to every URI that resolves to the
 * gate's own host: URI lines and the `URI="…"` attributes of `EXT-X-MAP`, `EXT-X-KEY`,
 * `EXT-X-MEDIA`, `EXT-X-I-FRAME-STREAM-INF`, `EXT-X-PART`, `EXT-X-PRELOAD-HINT`,
 * `EXT-X-SESSION-KEY`, `EXT-X-SESSION-DATA`, `EXT-X-RENDITION-REPORT` (and `SERVER-URI` of
 * `EXT-X-CONTENT-STEERING`). A URI that reaches another host as a player resolves it, or one
 * with a variable (`{$name}`, which the player fills in), is left alone; line endings are kept.
 *
 * @example
 * ```ts
 * propagateHls("#EXTM3U\nseg-1.ts\n", "md5=abc&expires=1"); // { text: "#EXTM3U\nseg-1.ts?md5=abc&expires=1\n" }
 * ```
 */
export function propagateHls(text: string, params: string): Propagation {
  // Players end a line at a lone CR (and some at U+0085, U+2028, U+2029) where this reads on:
  // a tag line could hide a URI line the player fetches with the token.
  if (/\r(?!\n)|[\u0085\u2028\u2029]/.test(text)) {
    return { unchanged: "a line ends in a way players read differently (a lone CR, U+2028…)" };
  }
  if (/#ext-x-content-steering/i.test(text)) {
    return { unchanged: "content steering may re-host its URIs (EXT-X-CONTENT-STEERING)" };
  }
  const out: string[] = [];
  let size = 0;
  for (const line of text.split("\n")) {
    const cr = line.endsWith("\r") ? "\r" : "";
    const body = cr === "" ? line : line.slice(0, -1);
    let rewritten = line;
    const first = body.charCodeAt(0);
    const last = body.charCodeAt(body.length - 1);
    if (printable(first) && first !== 0x23 && printable(last)) {
      // A URI line with nothing to trim, as nearly every one is: no copies made to find that
      // out (njs, inside nginx, frees nothing until the request ends).
      rewritten = withParams(body, params) + cr;
      size += rewritten.length + 1;
      if (size > MANIFEST_MAX_OUTPUT_BYTES) return tooBig();
      out.push(rewritten);
      continue;
    }
    const trimmed = body.trim();
    if (trimmed.startsWith("#")) {
      if (trimmed.startsWith("#EXT-X-") && URI_TAGS.test(trimmed)) {
        rewritten = withUriAttributes(body, params) + cr;
      }
    } else if (trimmed !== "") {
      const start = body.indexOf(trimmed);
      rewritten =
        body.slice(0, start) +
        withParams(trimmed, params) +
        body.slice(start + trimmed.length) +
        cr;
    }
    size += rewritten.length + 1;
    if (size > MANIFEST_MAX_OUTPUT_BYTES) return tooBig();
    out.push(rewritten);
  }
  return { text: out.join("\n") };
}

/** A tag line with the token on its URI attributes, read as an attribute list. */
function withUriAttributes(line: string, params: string): string {
  let at = line.indexOf(":") + 1;
  let result = line.slice(0, at);
  while (at < line.length) {
    ATTRIBUTE.lastIndex = at;
    const match = ATTRIBUTE.exec(line);
    if (match === null) return result + line.slice(at);
    const [whole, name, value] = match as unknown as [string, string, string];
    if (URI_ATTRIBUTES.includes(name) && value.startsWith('"')) {
      result += `${name}="${withParams(value.slice(1, -1), params)}"`;
    } else {
      result += whole;
    }
    at += whole.length;
    // The comma between attributes, or whatever does not parse, kept as it is.
    const next = line.indexOf(",", at);
    const end = next < 0 ? line.length : next + 1;
    result += line.slice(at, end);
    at = end;
  }
  return result;
}

/**
 * A DASH manifest with `params` appended (as XML, `&` written `&amp;`) to every relative URL in
 * `media`, `initialization` and `sourceURL` attributes and `BaseURL` elements. A manifest with
 * a `BaseURL` that reaches another host is passed on unchanged: the relative URLs beneath it
 * resolve to that host, which must not get the token. A URL holding an XML character
 * reference other than `&amp;` is left alone (what it says is not what it reads as).
 *
 * @example
 * ```ts
 * propagateDash('<SegmentTemplate media="seg-$Number$.m4s"/>', "md5=abc&expires=1");
 * // { text: '<SegmentTemplate media="seg-$Number$.m4s?md5=abc&amp;expires=1"/>' }
 * ```
 */
export function propagateDash(text: string, params: string): Propagation {
  if (/contentsteering|servicelocation/i.test(text)) {
    return { unchanged: "content steering may re-host its URLs (ContentSteering)" };
  }
  // Comments, CDATA sections and processing instructions blanked out (same length, so places
  // agree): what they hold is neither read as markup nor rewritten.
  const masked = maskXml(text);
  if (masked === undefined) return { unchanged: "an unterminated comment, CDATA or instruction" };
  // A template filled in from an attribute the player reads ($RepresentationID$ from an `id`):
  // only ids that cannot make a URL reach another host.
  if (/\$RepresentationID(?:%[^$]*)?\$/.test(masked)) {
    const ID = /\sid\s*=\s*("([^"]*)"|'([^']*)')/g;
    for (let id = ID.exec(masked); id !== null; id = ID.exec(masked)) {
      if (!/^[A-Za-z0-9._-]*$/.test(id[2] ?? id[3] ?? "")) {
        return { unchanged: "a Representation id could lead a template to another host" };
      }
    }
  }
  const edits: [start: number, end: number, replacement: string][] = [];
  /** Where each `BaseURL` this reads as an element's name stands: every other one is suspect. */
  const named: Record<number, true> = Object.create(null);
  // BaseURL elements, with any namespace prefix. Each is found once, its start tag read with its
  // quotes, so no input makes this rescan the text.
  const BASE_URL = /<((?:[A-Za-z_][\w.-]*:)?)BaseURL(?=[\s/>])/g;
  for (let match = BASE_URL.exec(masked); match !== null; match = BASE_URL.exec(masked)) {
    const close = startTagEnd(masked, match.index + match[0].length);
    if (close === undefined) return { unchanged: "a BaseURL start tag does not end" };
    named[match.index + 1 + match[1]!.length] = true;
    if (masked[close - 1] === "/") {
      BASE_URL.lastIndex = close + 1;
      continue; // <BaseURL/>: the manifest's own folder
    }
    const endTag = `</${match[1]}BaseURL`;
    const end = masked.indexOf(endTag, close + 1);
    if (end < 0) return { unchanged: "a BaseURL element does not end" };
    const content = text.slice(close + 1, end);
    // Markup, a comment or CDATA inside: what a parser reads there is not what this reads.
    if (content.includes("<") || masked.slice(close + 1, end) !== content) {
      return { unchanged: "a BaseURL holds markup, a comment or CDATA" };
    }
    const decoded = xmlText(content);
    if (decoded === undefined || !reachesGate(decoded.trim())) {
      return { unchanged: "a BaseURL reaches another host (or cannot be read)" };
    }
    edits.push([close + 1, end, appendParams(content, params, "&amp;")]);
    named[end + 2 + match[1]!.length] = true;
    BASE_URL.lastIndex = end + endTag.length;
  }
  // A BaseURL anywhere else (in a comment or instruction another parser ends sooner, with a
  // prefix or a name end this does not read): what a player makes of it cannot be known here.
  const ANY_BASE_URL = /baseurl/gi;
  for (let other = ANY_BASE_URL.exec(text); other !== null; other = ANY_BASE_URL.exec(text)) {
    if (named[other.index] !== true) {
      return { unchanged: "a BaseURL this cannot read as a player would" };
    }
  }
  for (const attribute of dashUrlAttributes(masked)) {
    const decoded = xmlText(attribute.url);
    if (decoded === undefined || !reachesGate(decoded.trim())) continue;
    const start = attribute.at;
    edits.push([start, start + attribute.url.length, appendParams(attribute.url, params, "&amp;")]);
  }
  // Each pass finds its edits in order; only BaseURLs and attributes together need sorting.
  let sorted = true;
  for (let i = 1; i < edits.length && sorted; i++) sorted = edits[i - 1]![0] <= edits[i]![0];
  if (!sorted) edits.sort((a, b) => a[0] - b[0]);
  const pieces: string[] = [];
  let at = 0;
  let size = 0;
  for (const [start, end, replacement] of edits) {
    pieces.push(text.slice(at, start), replacement);
    size += start - at + replacement.length;
    if (size > MANIFEST_MAX_OUTPUT_BYTES) return tooBig();
    at = end;
  }
  pieces.push(text.slice(at));
  if (size + text.length - at > MANIFEST_MAX_OUTPUT_BYTES) return tooBig();
  return { text: pieces.join("") };
}

/** Where a start tag whose name ends at `from` ends (its `>`), quotes honoured; undefined if never. */
function startTagEnd(text: string, from: number): number | undefined {
  const stop = /["'>]/g;
  stop.lastIndex = from;
  for (let match = stop.exec(text); match !== null; match = stop.exec(text)) {
    if (match[0] === ">") return match.index;
    const quoteEnd = text.indexOf(match[0], match.index + 1);
    if (quoteEnd < 0) return undefined;
    stop.lastIndex = quoteEnd + 1;
  }
  return undefined;
}

/** The names of the DASH attributes that hold URLs, each with its `=`. */
const DASH_URL_NAMES: readonly string[] = ["media=", "initialization=", "sourceURL="];

/**
 * Every `media`, `initialization` and `sourceURL` attribute of a DASH manifest, in order: where
 * its value starts and the value, as `/(\s(?:media|initialization|sourceURL)=)("([^"]*)"|'([^']*)')/g`
 * finds them (a test holds the two equal). Found with `indexOf`, not that pattern: njs, inside
 * nginx, runs a global pattern over a long text in time that grows with the square of it.
 */
export function dashUrlAttributes(text: string): { at: number; url: string }[] {
  const found: { at: number; url: string }[] = [];
  // The next place of each name at or after `from + 1`, kept until passed.
  const next = DASH_URL_NAMES.map(() => -2);
  let from = 0;
  for (;;) {
    let name = -1;
    for (let i = 0; i < DASH_URL_NAMES.length; i++) {
      if (next[i]! !== -1 && next[i]! < from + 1)
        next[i] = text.indexOf(DASH_URL_NAMES[i]!, from + 1);
      if (next[i]! >= 0 && (name < 0 || next[i]! < next[name]!)) name = i;
    }
    if (name < 0) return found;
    const position = next[name]!;
    const quoteAt = position + DASH_URL_NAMES[name]!.length;
    const quote = text.charAt(quoteAt);
    const close = quote === '"' || quote === "'" ? text.indexOf(quote, quoteAt + 1) : -1;
    if (!WHITESPACE.test(text.charAt(position - 1)) || close < 0) {
      from = position;
      continue;
    }
    found.push({ at: quoteAt + 1, url: text.slice(quoteAt + 1, close) });
    from = close + 1;
  }
}

/** One character JavaScript's `\s` matches. */
const WHITESPACE = /^\s$/;

/**
 * `text` with comments, CDATA sections and processing instructions turned into spaces, or
 * undefined when one does not end. One pass.
 */
function maskXml(text: string): string | undefined {
  const OPEN = /<!--|<!\[CDATA\[|<\?/g;
  const pieces: string[] = [];
  let at = 0;
  for (let match = OPEN.exec(text); match !== null; match = OPEN.exec(text)) {
    const closer = match[0] === "<!--" ? "-->" : match[0] === "<?" ? "?>" : "]]>";
    const end = text.indexOf(closer, match.index + match[0].length);
    if (end < 0) return undefined;
    const stop = end + closer.length;
    pieces.push(text.slice(at, match.index), " ".repeat(stop - match.index));
    at = stop;
    OPEN.lastIndex = stop;
  }
  if (at === 0) return text; // nothing to mask: the text itself, not a copy
  pieces.push(text.slice(at));
  return pieces.join("");
}

function tooBig(): Propagation {
  return { unchanged: `rewritten, it would be over ${MANIFEST_MAX_OUTPUT_BYTES} bytes` };
}

/**
 * Whether `uri`, resolved against the manifest as a player resolves it (the WHATWG URL parser
 * browsers, hls.js and dash.js use: `\` for `/`, tabs and newlines dropped), stays on the gate's
 * host. A scheme, `//host`, `/\host` and the like do not; nor does a `{$variable}`.
 * Read without `URL`, which njs lacks: with no scheme, a reference leaves the base's host only
 * by starting (after the parser's stripping) with two slashes, either way round.
 * `test/core/manifest.test.ts` holds this to `new URL(uri, base)` on generated references.
 */
export function reachesGate(uri: string): boolean {
  if (uri.includes("{$")) return false;
  // No tab, CR, LF or colon, and neither a slash, backslash, control nor space first: a path
  // relative to the manifest's, which no parser takes off the host (the checks below agree).
  const first = uri.charCodeAt(0);
  if (
    first > 0x20 &&
    first !== 0x2f &&
    first !== 0x5c &&
    uri.indexOf(":") < 0 &&
    uri.indexOf("\t") < 0 &&
    uri.indexOf("\n") < 0 &&
    uri.indexOf("\r") < 0
  ) {
    return true;
  }
  const stripped = uri.replace(/[\t\n\r]/g, "");
  // Any colon before the first `/`, `?` or `#` reads as a scheme to some player (hls.js's
  // url-toolkit takes `1:` as one, dash.js `a_b:`), which then resolves it off the gate's host.
  if (/^[^/?#]*:/.test(stripped)) return false;
  // The WHATWG parser strips leading C0 controls and spaces, then reads `//`, `\\`, `/\` or
  // `\/` as the start of another host.
  return !/^[\x00-\x20]*[/\\]{2}/.test(stripped);
}

/** XML text with its five named entities read, or undefined when it holds another reference. */
function xmlText(raw: string): string | undefined {
  if (!raw.includes("&")) return raw;
  let bad = false;
  const text = raw.replace(/&(amp|lt|gt|quot|apos);|&/g, (whole, name?: string) => {
    if (name === undefined) bad = true;
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[name ?? "amp"] ?? whole;
  });
  return bad ? undefined : text;
}

/** An HLS `uri` with `params` appended, or unchanged when it does not reach the gate's host. */
function withParams(uri: string, params: string): string {
  return reachesGate(uri.trim()) ? appendParams(uri, params, "&") : uri;
}

/** Printable ASCII, which `trim()` never strips. */
function printable(code: number): boolean {
  return code > 0x20 && code < 0x7f;
}

/**
 * `uri` with `params` appended (before any fragment, `&` written as `amp`), or unchanged when
 * it is empty. The caller has decided that the URI reaches the gate's host.
 */
function appendParams(uri: string, params: string, amp: string): string {
  const joined = amp === "&" ? params : params.split("&").join(amp);
  // Nothing to trim and no fragment: one concatenation (the common case).
  if (
    printable(uri.charCodeAt(0)) &&
    printable(uri.charCodeAt(uri.length - 1)) &&
    uri.indexOf("#") < 0
  ) {
    return `${uri}${uri.indexOf("?") < 0 ? "?" : amp}${joined}`;
  }
  const trimmed = uri.trim();
  if (trimmed === "") return uri;
  // Around the URL, the whitespace it came with (an element's text may be indented).
  const lead = uri.slice(0, uri.length - uri.trimStart().length);
  const trail = uri.slice(uri.trimEnd().length);
  const hash = trimmed.indexOf("#");
  const head = hash < 0 ? trimmed : trimmed.slice(0, hash);
  const tail = hash < 0 ? "" : trimmed.slice(hash);
  return `${lead}${head}${head.includes("?") ? amp : "?"}${joined}${tail}${trail}`;
}

/** The BaseURL element names `/<((?:[A-Za-z_][\w.-]*:)?)BaseURL(?=[\s/>])/g` finds: [where, prefix]. */
export function baseUrlNames(text: string): [number, string][] {
  const pattern = /<((?:[A-Za-z_][\w.-]*:)?)BaseURL(?=[\s/>])/g;
  return [...text.matchAll(pattern)].map((m) => [m.index, m[1]!]);
}

/** The same, read by repeated calls of a scanner shaped like the code's `nextBaseUrl`. */
export function scannedBaseUrlNames(
  text: string,
  next: (
    text: string,
    from: number,
  ) => { start: number; prefix: string; nameEnd: number } | undefined,
): [number, string][] {
  const found: [number, string][] = [];
  for (let from = 0; ;) {
    const match = next(text, from);
    if (match === undefined) return found;
    found.push([match.start, match.prefix]);
    from = match.nameEnd;
  }
}
