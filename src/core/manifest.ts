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

/** Tags whose `URI="…"` attribute names a resource the player fetches. */
const URI_TAGS = /^#EXT-X-(?:MAP|KEY|MEDIA|I-FRAME-STREAM-INF|PART|PRELOAD-HINT|SESSION-KEY):/;

/**
 * An HLS playlist with `params` (`md5=…&expires=…`) appended to every relative URI: URI lines
 * and the `URI="…"` attributes of `EXT-X-MAP`, `EXT-X-KEY`, `EXT-X-MEDIA`,
 * `EXT-X-I-FRAME-STREAM-INF`, `EXT-X-PART`, `EXT-X-PRELOAD-HINT` and `EXT-X-SESSION-KEY`.
 * Absolute URLs (another host) are left alone; line endings are kept.
 *
 * @example
 * ```ts
 * propagateHls("#EXTM3U\nseg-1.ts\n", "md5=abc&expires=1"); // "#EXTM3U\nseg-1.ts?md5=abc&expires=1\n"
 * ```
 */
export function propagateHls(text: string, params: string): string {
  return text
    .split("\n")
    .map((line) => {
      const cr = line.endsWith("\r") ? "\r" : "";
      const body = cr === "" ? line : line.slice(0, -1);
      const trimmed = body.trim();
      if (trimmed === "") return line;
      if (trimmed.startsWith("#")) {
        if (!URI_TAGS.test(trimmed)) return line;
        return (
          body.replace(
            /URI="([^"]*)"/,
            (_, uri: string) => `URI="${withParams(uri, params, "&")}"`,
          ) + cr
        );
      }
      return body.replace(trimmed, withParams(trimmed, params, "&")) + cr;
    })
    .join("\n");
}

/**
 * A DASH manifest with `params` appended to every relative URL in `media`, `initialization`
 * and `sourceURL` attributes and `BaseURL` elements (as XML, `&` written `&amp;`).
 *
 * @example
 * ```ts
 * propagateDash('<SegmentTemplate media="seg-$Number$.m4s"/>', "md5=abc&expires=1");
 * // '<SegmentTemplate media="seg-$Number$.m4s?md5=abc&amp;expires=1"/>'
 * ```
 */
export function propagateDash(text: string, params: string): string {
  return text
    .replace(
      /(\s(?:media|initialization|sourceURL)=")([^"]*)(")/g,
      (_, open: string, url: string, close: string) =>
        open + withParams(url, params, "&amp;") + close,
    )
    .replace(
      /(<BaseURL(?:\s[^>]*)?>)([^<]*)(<\/BaseURL>)/g,
      (_, open: string, url: string, close: string) =>
        open + withParams(url, params, "&amp;") + close,
    );
}

/** `uri` with `params` appended, before any fragment; unchanged when it is absolute or empty. */
function withParams(uri: string, params: string, amp: string): string {
  const trimmed = uri.trim();
  if (trimmed === "" || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(trimmed) || trimmed.startsWith("//")) {
    return uri;
  }
  const hash = uri.indexOf("#");
  const head = hash < 0 ? uri : uri.slice(0, hash);
  const tail = hash < 0 ? "" : uri.slice(hash);
  const joined = params.replaceAll("&", amp);
  return `${head}${head.includes("?") ? amp : "?"}${joined}${tail}`;
}
