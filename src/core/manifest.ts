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
  if (HLS_TYPES.has(type) || /\.m3u8$/i.test(path)) return "hls";
  if (type === "application/dash+xml" || /\.mpd$/i.test(path)) return "dash";
  return undefined;
}

const HLS_TYPES = new Set([
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

/** A rewritten manifest may be this large at most, so a bounded input stays a bounded output. */
export const MANIFEST_MAX_OUTPUT_BYTES = 4 * MANIFEST_MAX_BYTES;

/** Tags whose URI attributes name a resource the player fetches, and those attributes. */
const URI_TAGS =
  /^#EXT-X-(?:MAP|KEY|MEDIA|I-FRAME-STREAM-INF|PART|PRELOAD-HINT|SESSION-KEY|SESSION-DATA|RENDITION-REPORT|CONTENT-STEERING):/;
const URI_ATTRIBUTES = new Set(["URI", "SERVER-URI"]);
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
 * @param path - The playlist's own path, which relative URIs resolve against.
 * @example
 * ```ts
 * propagateHls("#EXTM3U\nseg-1.ts\n", "md5=abc&expires=1", "/v/a.m3u8"); // { text: "#EXTM3U\nseg-1.ts?md5=abc&expires=1\n" }
 * ```
 */
export function propagateHls(text: string, params: string, path: string): Propagation {
  const base = baseOf(path);
  const out: string[] = [];
  let size = 0;
  for (const line of text.split("\n")) {
    const cr = line.endsWith("\r") ? "\r" : "";
    const body = cr === "" ? line : line.slice(0, -1);
    const trimmed = body.trim();
    let rewritten = line;
    if (trimmed.startsWith("#")) {
      if (URI_TAGS.test(trimmed)) rewritten = withUriAttributes(body, params, base) + cr;
    } else if (trimmed !== "") {
      const start = body.indexOf(trimmed);
      rewritten =
        body.slice(0, start) +
        withParams(trimmed, params, "&", base) +
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
function withUriAttributes(line: string, params: string, base: string): string {
  let at = line.indexOf(":") + 1;
  let result = line.slice(0, at);
  while (at < line.length) {
    ATTRIBUTE.lastIndex = at;
    const match = ATTRIBUTE.exec(line);
    if (match === null) return result + line.slice(at);
    const [whole, name, value] = match as unknown as [string, string, string];
    if (URI_ATTRIBUTES.has(name) && value.startsWith('"')) {
      result += `${name}="${withParams(value.slice(1, -1), params, "&", base)}"`;
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

/** What a DASH manifest's URL attributes look like: either quote. */
const DASH_ATTRIBUTE = /(\s(?:media|initialization|sourceURL)=)("([^"]*)"|'([^']*)')/g;

/**
 * A DASH manifest with `params` appended (as XML, `&` written `&amp;`) to every relative URL in
 * `media`, `initialization` and `sourceURL` attributes and `BaseURL` elements. A manifest with
 * a `BaseURL` that reaches another host is passed on unchanged: the relative URLs beneath it
 * resolve to that host, which must not get the token. A URL holding an XML character
 * reference other than `&amp;` is left alone (what it says is not what it reads as).
 *
 * @param path - The manifest's own path, which relative URLs resolve against.
 * @example
 * ```ts
 * propagateDash('<SegmentTemplate media="seg-$Number$.m4s"/>', "md5=abc&expires=1", "/v/m.mpd");
 * // { text: '<SegmentTemplate media="seg-$Number$.m4s?md5=abc&amp;expires=1"/>' }
 * ```
 */
export function propagateDash(text: string, params: string, path: string): Propagation {
  const base = baseOf(path);
  // BaseURL elements, found with indexOf so that no pattern rescans the text (a manifest of
  // unclosed `<BaseURL ` must cost one pass).
  const pieces: string[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf("<BaseURL", at);
    if (open < 0) break;
    const after = text.charCodeAt(open + 8);
    const close = text.indexOf(">", open);
    if (close < 0) break;
    if (after !== 0x3e && after !== 0x20 && after !== 0x09 && after !== 0x0a && after !== 0x0d) {
      pieces.push(text.slice(at, close + 1));
      at = close + 1;
      continue;
    }
    const end = text.indexOf("</BaseURL>", close);
    if (end < 0) break;
    const url = text.slice(close + 1, end);
    const decoded = xmlText(url);
    if (decoded === undefined || !reachesGate(decoded, base)) {
      return { unchanged: "a BaseURL reaches another host (or cannot be read)" };
    }
    pieces.push(text.slice(at, close + 1), withParams(url, params, "&amp;", base));
    at = end;
  }
  pieces.push(text.slice(at));
  const rewritten = pieces
    .join("")
    .replace(DASH_ATTRIBUTE, (whole, open: string, _, double?: string, single?: string) => {
      const url = double ?? single ?? "";
      const quote = double === undefined ? "'" : '"';
      const decoded = xmlText(url);
      if (decoded === undefined || !reachesGate(decoded, base)) return whole;
      return `${open}${quote}${withParams(url, params, "&amp;", base)}${quote}`;
    });
  if (rewritten.length > MANIFEST_MAX_OUTPUT_BYTES) return tooBig();
  return { text: rewritten };
}

function tooBig(): Propagation {
  return { unchanged: `rewritten, it would be over ${MANIFEST_MAX_OUTPUT_BYTES} bytes` };
}

/** An unreachable base of the gate's own, for resolving URIs as a player does. */
const GATE_ORIGIN = "http://tokengate.invalid";
function baseOf(path: string): string {
  return GATE_ORIGIN + (path.startsWith("/") ? path : `/${path}`);
}

/**
 * Whether `uri`, resolved against the manifest as a player resolves it (the WHATWG URL parser
 * browsers, hls.js and dash.js use: `\` for `/`, tabs and newlines dropped), stays on the gate's
 * host. A scheme, `//host`, `/\host` and the like do not; nor does a `{$variable}`.
 */
function reachesGate(uri: string, base: string): boolean {
  if (uri.includes("{$")) return false;
  if (/^[\x00-\x20]*[A-Za-z][A-Za-z0-9+.\-\t\n\r]*:/.test(uri)) return false;
  try {
    return new URL(uri, base).origin === GATE_ORIGIN;
  } catch {
    return false;
  }
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

/**
 * `uri` with `params` appended (before any fragment), or unchanged when it is empty or does not
 * reach the gate's host.
 */
function withParams(uri: string, params: string, amp: string, base: string): string {
  const trimmed = uri.trim();
  if (trimmed === "" || !reachesGate(amp === "&" ? trimmed : (xmlText(trimmed) ?? ""), base)) {
    return uri;
  }
  const hash = uri.indexOf("#");
  const head = hash < 0 ? uri : uri.slice(0, hash);
  const tail = hash < 0 ? "" : uri.slice(hash);
  const joined = params.replaceAll("&", amp);
  return `${head}${head.includes("?") ? amp : "?"}${joined}${tail}`;
}
