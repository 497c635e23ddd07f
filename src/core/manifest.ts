/**
 * Query-token propagation into manifests (Gcore's "query string forwarding"): a player that
 * fetched an HLS playlist or a DASH manifest with `?md5=…&expires=…` (a directory token) asks
 * for the segments with no token at all, so the gate appends the same parameters to every
 * relative URI in the manifest it passes on. Pure: no runtime APIs.
 * @module
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
 * unchanged), then rewritten as HLS or DASH. Over {@link MANIFEST_MAX_BYTES} it passes
 * unchanged, whoever holds it (a runtime reading it, a cache keeping it).
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
  if (bytes.length > MANIFEST_MAX_BYTES) {
    return { unchanged: `${bytes.length} bytes, over ${MANIFEST_MAX_BYTES}` };
  }
  const text = manifestText(bytes);
  if (text === undefined) return { unchanged: "not UTF-8" };
  return kind === "hls" ? propagateHls(text, params) : propagateDash(text, params);
}

/** A rewritten manifest may be this large at most, so a bounded input stays a bounded output. */
export const MANIFEST_MAX_OUTPUT_BYTES = 4 * MANIFEST_MAX_BYTES;

/**
 * The tags whose `URI` (or `SERVER-URI`) attributes name a resource the player fetches (after
 * `#EXT-X-`, by their first letter, each with its `:`).
 */
const URI_TAGS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  M: ["MAP:", "MEDIA:"],
  K: ["KEY:"],
  I: ["I-FRAME-STREAM-INF:"],
  P: ["PART:", "PRELOAD-HINT:"],
  S: ["SESSION-KEY:", "SESSION-DATA:"],
  R: ["RENDITION-REPORT:"],
  C: ["CONTENT-STEERING:"],
});

/** Whether `text` names, at `at` (after `#EXT-X-`), a tag whose URI attributes are fetched. */
function uriTag(text: string, at: number): boolean {
  const letter = text.charAt(at);
  if (!Object.prototype.hasOwnProperty.call(URI_TAGS, letter)) return false;
  const names = URI_TAGS[letter]!;
  for (let i = 0; i < names.length; i++) if (text.startsWith(names[i]!, at)) return true;
  return false;
}

/** Empty lines, skipped this many at a time. */
const EMPTY_LINES = "\n".repeat(64);

/**
 * A manifest's rewrite as it is made: the pieces of the output in order (stretches of the
 * input between edits, and the edits), joined once at the end. Every pass here is linear and
 * builds nothing by repeated concatenation: njs, inside nginx, frees nothing before a request
 * ends and copies a string at each `+=`, so a line rewritten attribute by attribute cost the
 * square of its length in memory.
 */
interface Output {
  text: string;
  pieces: string[];
  /** Where the input not yet in `pieces` starts. */
  copied: number;
  /** The output's length so far, with the input not yet copied counted as it is. */
  size: number;
  /** The most `size` may reach before the rewrite is given up as too big. */
  limit: number;
}

/** `output` with the input's `[from, to)` replaced by `replacement`. */
function edit(output: Output, from: number, to: number, replacement: string): void {
  if (from > output.copied) output.pieces.push(output.text.slice(output.copied, from));
  output.pieces.push(replacement);
  output.size += replacement.length - (to - from);
  output.copied = to;
}

/** The output as one string. */
function finish(output: Output): string {
  if (output.copied === 0 && output.pieces.length === 0) return output.text;
  output.pieces.push(output.text.slice(output.copied));
  return output.pieces.join("");
}

/**
 * What goes into a URI to carry the token: `params` after a `?` (or `amp` when the URI has a
 * query), once made, for every URI.
 */
interface Carried {
  query: string;
  more: string;
}

function carried(params: string, amp: string): Carried {
  const joined = amp === "&" ? params : params.split("&").join(amp);
  return { query: `?${joined}`, more: `${amp}${joined}` };
}

/**
 * An HLS playlist with `params` (`md5=…&expires=…`) appended to every URI that resolves to the
 * gate's own host: URI lines and the `URI="…"` attributes of `EXT-X-MAP`, `EXT-X-KEY`,
 * `EXT-X-MEDIA`, `EXT-X-I-FRAME-STREAM-INF`, `EXT-X-PART`, `EXT-X-PRELOAD-HINT`,
 * `EXT-X-SESSION-KEY`, `EXT-X-SESSION-DATA`, `EXT-X-RENDITION-REPORT` (and `SERVER-URI` of
 * `EXT-X-CONTENT-STEERING`). A URI that reaches another host as a player resolves it, or one
 * with a variable (`{$name}`, which the player fills in), is left alone; line endings are kept.
 * One pass, lines found with `indexOf`, the output joined once.
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
  if (steered(text, ["#ext-x-content-steering"])) {
    return { unchanged: "content steering may re-host its URIs (EXT-X-CONTENT-STEERING)" };
  }
  const with_ = carried(params, "&");
  // Counted as the lines were, each with its line feed (the last one's too).
  const limit = MANIFEST_MAX_OUTPUT_BYTES - 1;
  const output: Output = { text, pieces: [], copied: 0, size: text.length, limit };
  for (let start = 0; start <= text.length;) {
    const first = text.charCodeAt(start);
    if (first === 0x0a) {
      start += text.startsWith(EMPTY_LINES, start) ? EMPTY_LINES.length : 1;
      continue;
    }
    let next = text.indexOf("\n", start);
    if (next < 0) next = text.length;
    let end = next;
    if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
    if (end === start) {
      // Empty.
    } else if (first === 0x23) {
      // A tag or a comment: only the tags that name a fetched resource are read further.
      if (text.startsWith("#EXT-X-", start) && uriTag(text, start + 7)) {
        uriAttributes(output, start, text.slice(start, end), with_);
      }
    } else if (printable(first)) {
      // A URI line (with nothing to trim before it, as nearly every one).
      uriEdit(output, start, text.slice(start, end), with_);
    } else {
      let k = start;
      while (k < end && asciiSpace(text.charCodeAt(k))) k++;
      if (k < end) {
        const body = text.slice(start, end);
        const trimmed = body.trim();
        if (trimmed.charCodeAt(0) === 0x23) {
          if (trimmed.startsWith("#EXT-X-") && uriTag(trimmed, 7)) {
            uriAttributes(output, start, body, with_);
          }
        } else if (trimmed !== "") {
          uriEdit(output, start, body, with_);
        }
      }
    }
    if (output.size > limit) return tooBig();
    start = next + 1;
  }
  return { text: finish(output) };
}

/**
 * The token carried into the URI `uri`, found in the input at `at` (whitespace around it kept),
 * when it reaches the gate's host.
 */
function uriEdit(output: Output, at: number, uri: string, with_: Carried): void {
  const place = placeIn(uri, true);
  if (place >= 0) edit(output, at + place, at + place, separated(uri, place, with_));
}

/**
 * Where in `uri` the token goes: the end of the trimmed URL, or its `#`; -1 when it is blank
 * or (with `check`) does not reach the gate's host.
 */
function placeIn(uri: string, check: boolean): number {
  const plain = printable(uri.charCodeAt(0)) && printable(uri.charCodeAt(uri.length - 1));
  const trimmed = plain ? uri : uri.trim();
  if (trimmed === "" || (check && !reachesGate(trimmed))) return -1;
  // Only leading whitespace goes before it: the trimmed URL's first character is none.
  const lead = plain ? 0 : uri.indexOf(trimmed);
  const hash = trimmed.indexOf("#");
  return lead + (hash < 0 ? trimmed.length : hash);
}

/** What goes in at `place`: the token after a `?`, or after `&` when a query comes before. */
function separated(uri: string, place: number, with_: Carried): string {
  const query = uri.indexOf("?");
  return query >= 0 && query < place ? with_.more : with_.query;
}

/**
 * `uri` with the token appended (see {@link placeIn}), whitespace around it kept, or unchanged
 * when it is blank. The caller has decided that the URI reaches the gate's host.
 */
function appendParams(uri: string, with_: Carried): string {
  const place = placeIn(uri, false);
  if (place < 0) return uri;
  const insert = separated(uri, place, with_);
  // Nothing after it (the common case): one concatenation.
  if (place === uri.length) return uri + insert;
  return uri.slice(0, place) + insert + uri.slice(place);
}

/**
 * A tag line (`line`, found in the input at `at`, without its line end) with the token on its
 * URI attributes, read as an attribute list: `NAME=` (`[A-Z0-9-]+`), then a quoted string, or
 * else whatever runs to the next comma; the comma after it, or whatever does not parse, kept.
 */
function uriAttributes(output: Output, at: number, line: string, with_: Carried): void {
  let place = line.indexOf(":") + 1;
  while (place < line.length) {
    let nameEnd = place;
    for (let code = line.charCodeAt(nameEnd); ; code = line.charCodeAt(++nameEnd)) {
      // `[A-Z0-9-]`
      if (!((code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2d)) {
        break;
      }
    }
    if (nameEnd === place || line.charCodeAt(nameEnd) !== 0x3d) return;
    const valueStart = nameEnd + 1;
    let valueEnd = -1;
    if (line.charCodeAt(valueStart) === 0x22) {
      const close = line.indexOf('"', valueStart + 1);
      if (close >= 0) valueEnd = close + 1;
    }
    if (valueEnd < 0) {
      const comma = line.indexOf(",", valueStart);
      valueEnd = comma < 0 ? line.length : comma;
    }
    const length = nameEnd - place;
    if (
      line.charCodeAt(valueStart) === 0x22 &&
      ((length === 3 && line.startsWith("URI", place)) ||
        (length === 10 && line.startsWith("SERVER-URI", place)))
    ) {
      // The quotes' inside; a value with no closing quote loses its last character here, as
      // the attribute list was read before (`"abc` up to a comma reads as the URI `ab`).
      const inner = valueEnd - valueStart >= 2 ? line.slice(valueStart + 1, valueEnd - 1) : "";
      const uriAt = at + valueStart + 1;
      if (line.charCodeAt(valueEnd - 1) !== 0x22 || valueEnd - valueStart < 2) {
        // Not a quoted string: rewritten as one.
        const rewritten = placeIn(inner, true) < 0 ? inner : appendParams(inner, with_);
        edit(output, uriAt, at + valueEnd, `${rewritten}"`);
      } else {
        uriEdit(output, uriAt, inner, with_);
      }
      // Too big already: the caller gives up (a line of nothing but URIs).
      if (output.size > output.limit) return;
    }
    // The comma between attributes, or whatever does not parse, kept as it is.
    const comma = line.indexOf(",", valueEnd);
    place = comma < 0 ? line.length : comma + 1;
  }
}

/** A space, tab, vertical tab or form feed (CR and LF end lines before this looks). */
function asciiSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/**
 * A DASH manifest with `params` appended (as XML, `&` written `&amp;`) to every relative URL in
 * `media`, `initialization` and `sourceURL` attributes and `BaseURL` elements. A manifest with
 * a `BaseURL` that reaches another host is passed on unchanged: the relative URLs beneath it
 * resolve to that host, which must not get the token. A URL holding an XML character
 * reference other than `&amp;` is left alone (what it says is not what it reads as).
 * Every pass is linear, with `indexOf` rather than global patterns (njs runs those in time
 * that grows with the square of the text).
 *
 * @example
 * ```ts
 * propagateDash('<SegmentTemplate media="seg-$Number$.m4s"/>', "md5=abc&expires=1");
 * // { text: '<SegmentTemplate media="seg-$Number$.m4s?md5=abc&amp;expires=1"/>' }
 * ```
 */
export function propagateDash(text: string, params: string): Propagation {
  if (steered(text, ["contentsteering", "servicelocation"])) {
    return { unchanged: "content steering may re-host its URLs (ContentSteering)" };
  }
  // Comments, CDATA sections and processing instructions blanked out (same length, so places
  // agree): what they hold is neither read as markup nor rewritten.
  const masked = maskXml(text);
  if (masked === undefined) return { unchanged: "an unterminated comment, CDATA or instruction" };
  // A template filled in from an attribute the player reads ($RepresentationID$ from an `id`):
  // only ids that cannot make a URL reach another host.
  if (/\$RepresentationID(?:%[^$]*)?\$/.test(masked) && !plainIds(masked)) {
    return { unchanged: "a Representation id could lead a template to another host" };
  }
  // Nothing masked (as in most manifests): no part of the text to compare with its masked copy.
  const clean = masked === text;
  const with_ = carried(params, "&amp;");
  // Edits as [start, end) and replacement, BaseURLs' and attributes' apart, each in order.
  const baseStart: number[] = [];
  const baseEnd: number[] = [];
  const baseWith: string[] = [];
  /** Where each `BaseURL` this reads as an element's name stands, in order: every other one is suspect. */
  const named: number[] = [];
  const find = {
    name: finder(masked, "BaseURL"),
    double: finder(masked, '"'),
    single: finder(masked, "'"),
    close: finder(masked, ">"),
  };
  // BaseURL elements, with any namespace prefix. Each is found once, its start tag read with its
  // quotes, so no input makes this rescan the text.
  for (let from = 0; ;) {
    const match = nextBaseUrl(masked, from, find.name);
    if (match === undefined) break;
    const close = startTagEnd(match.nameEnd, find);
    if (close === undefined) return { unchanged: "a BaseURL start tag does not end" };
    named.push(match.start + 1 + match.prefix.length);
    if (masked.charCodeAt(close - 1) === 0x2f) {
      from = close + 1;
      continue; // <BaseURL/>: the manifest's own folder
    }
    const endTag = match.prefix === "" ? "</BaseURL" : `</${match.prefix}BaseURL`;
    const end = masked.indexOf(endTag, close + 1);
    if (end < 0) return { unchanged: "a BaseURL element does not end" };
    const content = text.slice(close + 1, end);
    // Markup, a comment or CDATA inside: what a parser reads there is not what this reads.
    if (content.indexOf("<") >= 0 || (!clean && masked.slice(close + 1, end) !== content)) {
      return { unchanged: "a BaseURL holds markup, a comment or CDATA" };
    }
    const decoded = xmlText(content);
    if (decoded === undefined || !reachesGate(decoded.trim())) {
      return { unchanged: "a BaseURL reaches another host (or cannot be read)" };
    }
    baseStart.push(close + 1);
    baseEnd.push(end);
    baseWith.push(appendParams(content, with_));
    named.push(end + 2 + match.prefix.length);
    from = end + endTag.length;
  }
  // A BaseURL anywhere else (in a comment or instruction another parser ends sooner, with a
  // prefix or a name end this does not read): what a player makes of it cannot be known here.
  if (!onlyNamed(text, named)) {
    return { unchanged: "a BaseURL this cannot read as a player would" };
  }
  const attributes = dashUrlAttributes(masked);
  const pieces: string[] = [];
  let at = 0;
  let size = 0;
  // The two lists of edits, merged in order of their starts (a BaseURL's first on a tie).
  for (let b = 0, a = 0; b < baseStart.length || a < attributes.length;) {
    let start: number;
    let end: number;
    let replacement: string;
    const attribute = attributes[a];
    if (b < baseStart.length && (attribute === undefined || baseStart[b]! <= attribute.at)) {
      start = baseStart[b]!;
      end = baseEnd[b]!;
      replacement = baseWith[b]!;
      b++;
    } else {
      a++;
      const decoded = xmlText(attribute!.url);
      if (decoded === undefined || !reachesGate(decoded.trim())) continue;
      start = attribute!.at;
      end = start + attribute!.url.length;
      replacement = appendParams(attribute!.url, with_);
    }
    pieces.push(text.slice(at, start), replacement);
    size += start - at + replacement.length;
    if (size > MANIFEST_MAX_OUTPUT_BYTES) return tooBig();
    at = end;
  }
  if (pieces.length === 0) return { text };
  pieces.push(text.slice(at));
  if (size + text.length - at > MANIFEST_MAX_OUTPUT_BYTES) return tooBig();
  return { text: pieces.join("") };
}

/**
 * The first place of `needle` in `text` at or after the place asked, for places asked in
 * increasing order: no part of the text is searched twice, however many times it is asked.
 */
function finder(text: string, needle: string): (from: number) => number {
  let asked = 0;
  let found = -2;
  return (from) => {
    if (found === -2 || from < asked || (found >= 0 && found < from)) {
      found = text.indexOf(needle, from);
      asked = from;
    }
    return found;
  };
}

/**
 * The next `BaseURL` element name at or after `from`, as `/<((?:[A-Za-z_][\w.-]*:)?)BaseURL(?=[\s/>])/g`
 * finds it (a test holds the two equal): where its `<` stands, its prefix, where its name ends.
 */
export function nextBaseUrl(
  text: string,
  from: number,
  find: (from: number) => number = finder(text, "BaseURL"),
): { start: number; prefix: string; nameEnd: number } | undefined {
  for (let search = from + 1; ;) {
    const name = find(search);
    if (name < 0) return undefined;
    search = name + 1;
    const after = text.charAt(name + 7);
    if (after !== "/" && after !== ">" && !space(text, name + 7)) continue;
    let start = -1;
    const before = text.charCodeAt(name - 1);
    if (before === 0x3c) {
      start = name - 1;
    } else if (before === 0x3a) {
      // A prefix: `[A-Za-z_][\w.-]*` after a `<`. Read backwards to the first character that
      // cannot be in one (no two prefixes share characters, so none is read twice).
      let k = name - 2;
      while (k >= 0 && prefixChar(text.charCodeAt(k))) k--;
      const head = text.charCodeAt(k + 1);
      const letter = (head >= 0x41 && head <= 0x5a) || (head >= 0x61 && head <= 0x7a);
      if (k >= 0 && k + 1 < name - 1 && text.charCodeAt(k) === 0x3c && (letter || head === 0x5f)) {
        start = k;
      }
    }
    if (start < from) continue;
    return { start, prefix: text.slice(start + 1, name), nameEnd: name + 7 };
  }
}

/** `[\w.-]`: a letter, digit, `_`, `.` or `-`. */
function prefixChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x5f ||
    code === 0x2e ||
    code === 0x2d
  );
}

/**
 * Whether the text names content steering anywhere, in any case, comments included (`needles`
 * in lower case): a steering server, on any host, answers with pathway clones that move every
 * variant or BaseURL to a host it names (hls.js and dash.js follow them), so the URIs the gate
 * would stamp with the token could be fetched from anywhere. Such a manifest passes unchanged,
 * as one whose BaseURL leaves the host does. One `indexOf` per needle: linear under njs.
 */
function steered(text: string, needles: readonly string[]): boolean {
  const lower = text.toLowerCase();
  for (let i = 0; i < needles.length; i++) if (lower.indexOf(needles[i]!) >= 0) return true;
  return false;
}

/**
 * Whether every `baseurl`, in any case, stands where `named` (in order) says a BaseURL was read.
 */
function onlyNamed(text: string, named: readonly number[]): boolean {
  const lower = text.toLowerCase();
  // A letter lowercased into two (U+0130) would move every place after it: those found one by
  // one instead, from each `b` or `B`.
  const exact = lower.length === text.length;
  const small = exact ? finder(lower, "baseurl") : finder(text, "b");
  const big = exact ? small : finder(text, "B");
  let k = 0;
  for (let from = 0; ;) {
    let at = small(from);
    if (!exact) {
      const other = big(from);
      if (at < 0 || (other >= 0 && other < at)) at = other;
    }
    if (at < 0) return true;
    if (exact || text.slice(at, at + 7).toLowerCase() === "baseurl") {
      while (k < named.length && named[k]! < at) k++;
      if (named[k] !== at) return false;
      from = at + 7;
    } else {
      from = at + 1;
    }
  }
}

/**
 * Whether every `id` attribute (`/\sid\s*=\s*("([^"]*)"|'([^']*)')/g`, read with `indexOf`)
 * holds only `[A-Za-z0-9._-]`.
 */
export function plainIds(text: string): boolean {
  const ids = finder(text, "id");
  const quotes: Record<string, (from: number) => number> = {
    '"': finder(text, '"'),
    "'": finder(text, "'"),
  };
  for (let search = 1; ;) {
    const id = ids(search);
    if (id < 0) return true;
    search = id + 1;
    if (!space(text, id - 1)) continue;
    let k = id + 2;
    while (space(text, k)) k++;
    if (text.charAt(k) !== "=") continue;
    k++;
    while (space(text, k)) k++;
    const quote = text.charAt(k);
    if (quote !== '"' && quote !== "'") continue;
    const close = quotes[quote]!(k + 1);
    if (close < 0) continue;
    // `[A-Za-z0-9._-]*`, read by code.
    for (let c = k + 1; c < close; c++) if (!prefixChar(text.charCodeAt(c))) return false;
    search = close + 2;
  }
}

/** Where a start tag whose name ends at `from` ends (its `>`), quotes honoured; undefined if never. */
function startTagEnd(
  from: number,
  find: {
    double: (from: number) => number;
    single: (from: number) => number;
    close: (from: number) => number;
  },
): number | undefined {
  for (let at = from; ;) {
    const close = find.close(at);
    const double = find.double(at);
    const single = find.single(at);
    let quote = -1;
    if (double >= 0 && (single < 0 || double < single)) quote = double;
    else if (single >= 0) quote = single;
    if (quote < 0 || (close >= 0 && close < quote)) return close < 0 ? undefined : close;
    const quoteEnd = (quote === double ? find.double : find.single)(quote + 1);
    if (quoteEnd < 0) return undefined;
    at = quoteEnd + 1;
  }
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
    if (!space(text, position - 1) || close < 0) {
      from = position;
      continue;
    }
    found.push({ at: quoteAt + 1, url: text.slice(quoteAt + 1, close) });
    from = close + 1;
  }
}

/**
 * Whether the character at `at` is one JavaScript's `\s` matches (read by its code: a pattern
 * is a call that njs allocates for, per character).
 */
export function space(text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/**
 * `text` with comments, CDATA sections and processing instructions turned into spaces, or
 * undefined when one does not end. One pass.
 */
function maskXml(text: string): string | undefined {
  const opens = ["<!--", "<![CDATA[", "<?"];
  const closers = ["-->", "]]>", "?>"];
  const find = [finder(text, opens[0]!), finder(text, opens[1]!), finder(text, opens[2]!)];
  const pieces: string[] = [];
  let at = 0;
  for (;;) {
    let which = -1;
    let open = -1;
    for (let i = 0; i < 3; i++) {
      const place = find[i]!(at);
      if (place >= 0 && (open < 0 || place < open)) {
        open = place;
        which = i;
      }
    }
    if (which < 0) break;
    const end = text.indexOf(closers[which]!, open + opens[which]!.length);
    if (end < 0) return undefined;
    const stop = end + closers[which]!.length;
    pieces.push(text.slice(at, open), " ".repeat(stop - open));
    at = stop;
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
  // Read without patterns, each a call that njs allocates for and keeps until the request ends.
  // Any colon before the first `/`, `?` or `#` reads as a scheme to some player (hls.js's
  // url-toolkit takes `1:` as one, dash.js `a_b:`), which then resolves it off the gate's host.
  // (Tabs and line feeds, which the parser drops, change neither order.)
  const colon = uri.indexOf(":");
  if (colon >= 0 && before(uri, colon, "/") && before(uri, colon, "?") && before(uri, colon, "#")) {
    return false;
  }
  // The WHATWG parser drops tabs and line feeds, strips leading C0 controls and spaces, then
  // reads `//`, `\\`, `/\` or `\/` as the start of another host.
  let at = 0;
  while (uri.charCodeAt(at) <= 0x20) at++;
  if (!slash(uri.charCodeAt(at))) return true;
  at++;
  for (let code = uri.charCodeAt(at); code === 0x09 || code === 0x0a || code === 0x0d;) {
    code = uri.charCodeAt(++at);
  }
  return !slash(uri.charCodeAt(at));
}

/** Whether `text` has no `char` before `place`. */
function before(text: string, place: number, char: string): boolean {
  const found = text.indexOf(char);
  return found < 0 || found > place;
}

function slash(code: number): boolean {
  return code === 0x2f || code === 0x5c;
}

/** XML text with its five named entities read, or undefined when it holds another reference. */
function xmlText(raw: string): string | undefined {
  let amp = raw.indexOf("&");
  if (amp < 0) return raw;
  const pieces: string[] = [];
  let at = 0;
  for (; amp >= 0; amp = raw.indexOf("&", at)) {
    let i = 0;
    while (i < ENTITIES.length && !raw.startsWith(ENTITIES[i]!, amp + 1)) i++;
    if (i === ENTITIES.length) return undefined;
    pieces.push(raw.slice(at, amp), ENTITY_TEXT[i]!);
    at = amp + 1 + ENTITIES[i]!.length;
  }
  pieces.push(raw.slice(at));
  return pieces.join("");
}

const ENTITIES: readonly string[] = ["amp;", "lt;", "gt;", "quot;", "apos;"];
const ENTITY_TEXT: readonly string[] = ["&", "<", ">", '"', "'"];

/** Printable ASCII, which `trim()` never strips. */
function printable(code: number): boolean {
  return code > 0x20 && code < 0x7f;
}
