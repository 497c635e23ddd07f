/**
 * The headers of a manifest the gate rewrites (a CDN token carried into an HLS playlist or a
 * DASH manifest, `src/core/manifest.ts`), one rule for every runtime: what its origin request
 * leaves out, and the `Cache-Control` its rewritten answer carries. Pure, and within what the
 * nginx module's njs runs.
 * @module
 */
import { manifestKind } from "../core/manifest.js";
import type { HeaderEdit } from "./cors.js";
import { ANSWER_SHAPING_HEADERS } from "./headers.js";

/** Lower-case names as a lookup table without a prototype (njs has no `Set`). */
function nameTable(names: readonly string[]): Readonly<Record<string, true>> {
  const table: Record<string, true> = Object.create(null);
  for (let i = 0; i < names.length; i++) table[names[i]!] = true;
  return table;
}

/**
 * What the gate does with an answer to a grant that carries a CDN token on: `undefined`, pass
 * it on as it is (not a 200, or no manifest by path or `Content-Type`); `unchanged`, a
 * manifest it cannot rewrite, passed on as it is with that logged; else read the body of
 * `kind` whole (at most `MANIFEST_MAX_BYTES`, beyond which it passes on unchanged, logged),
 * rewrite it, and mark its headers ({@link manifestHeaderEdit}). `contentEncoding` undefined:
 * the runtime has undone any coding itself (workerd's fetch), or keeps the body as it came.
 *
 * @example
 * ```ts
 * manifestPlan(200, "/videos/v-1/index.m3u8", "application/vnd.apple.mpegurl", "gzip");
 * // { unchanged: "Content-Encoding gzip: passed on without the token" }
 * ```
 */
export function manifestPlan(
  status: number,
  path: string,
  contentType: string | undefined,
  contentEncoding: string | undefined,
): { kind: "hls" | "dash" } | { unchanged: string } | undefined {
  if (status !== 200) return undefined;
  const kind = manifestKind(path, contentType);
  if (kind === undefined) return undefined;
  const coding = (contentEncoding ?? "identity").trim().toLowerCase();
  // Asked for without compression (manifestRequestHeaders), yet sent compressed: no text.
  if (coding !== "identity")
    return { unchanged: `Content-Encoding ${coding}: passed on without the token` };
  return { kind };
}

/**
 * The headers of a manifest the gate rewrites (or will, once it has the body): its length
 * changes, so `Content-Length` goes (the runtime states the new one when it knows it); a strong
 * `ETag` becomes weak (the bytes are not the origin's); it carries one viewer's token, so its
 * `Cache-Control` is made private and the shared caches' own headers go. `names` are the
 * answer's header names as held; `etag` and `cacheControl` its values (lines joined).
 *
 * @example
 * ```ts
 * manifestHeaderEdit(["ETag", "CDN-Cache-Control"], '"v1"', "public, max-age=60");
 * // { drop: ["content-length", "CDN-Cache-Control"], set: [["etag", 'W/"v1"'], ["cache-control", "private, max-age=60"]] }
 * ```
 */
export function manifestHeaderEdit(
  names: readonly string[],
  etag: string | undefined,
  cacheControl: string | undefined,
): HeaderEdit {
  const drop = ["content-length"];
  for (let i = 0; i < names.length; i++) if (isSharedCacheHeader(names[i]!)) drop.push(names[i]!);
  const set: [string, string][] = [];
  if (etag !== undefined && etag.indexOf("W/") !== 0) set.push(["etag", `W/${etag}`]);
  set.push(["cache-control", privateCacheControl(cacheControl)]);
  return { drop, set };
}

/**
 * Whether the gate will rewrite the answer to this request, so must ask for it whole: a grant
 * that carries a CDN token on (`propagate` not empty) for a path named like a manifest. (A
 * manifest known only by its `Content-Type` is known too late to ask differently.)
 *
 * @example
 * ```ts
 * rewritesManifest("md5=abc&expires=1", "/videos/v-1/index.m3u8"); // true
 * ```
 */
export function rewritesManifest(propagate: string | undefined, path: string): boolean {
  return propagate !== undefined && propagate !== "" && manifestKind(path, undefined) !== undefined;
}

/**
 * Request headers a rewritten manifest is never asked with. The gate needs the whole text to
 * rewrite, so no `Range`/`If-Range` (ffmpeg asks for every playlist with `Range: bytes=0-`; a
 * 206 part cannot be rewritten and the segments would go without the token). No condition
 * either: a 304 would leave the viewer on a copy it holds, which carries the token of an
 * earlier grant (another `expires`, perhaps expired), and a 412 on nothing the viewer was
 * given; the gate cannot tell, so it asks for the text every time. No `Accept-Encoding`: it is
 * asked for as `identity`, compressed bytes not being text.
 */
const NOT_ASKED = nameTable(ANSWER_SHAPING_HEADERS);

/**
 * The origin request's headers for a manifest the gate rewrites (see {@link rewritesManifest}):
 * `pairs` (as the header policy of `headers.ts` passes them) without `Range`, `If-Range`, the
 * conditionals and `Accept-Encoding`, then `Accept-Encoding: identity`.
 *
 * @example
 * ```ts
 * manifestRequestHeaders([["Range", "bytes=0-"], ["User-Agent", "ffmpeg"]]);
 * // [["User-Agent", "ffmpeg"], ["accept-encoding", "identity"]]
 * ```
 */
export function manifestRequestHeaders(
  pairs: readonly (readonly [string, string])[],
): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    if (NOT_ASKED[pair[0].toLowerCase()] !== true) out.push([pair[0], pair[1]]);
  }
  out.push(["accept-encoding", "identity"]);
  return out;
}

/**
 * Directives a rewritten manifest does not keep: it carries one viewer's token, so it is no
 * shared cache's to keep (`public`, and `s-maxage` and `proxy-revalidate`, which only shared
 * caches read); the origin's own `private` (perhaps naming fields) gives way to a plain one.
 */
const SHARED_ONLY = nameTable(["public", "private", "s-maxage", "proxy-revalidate"]);

/**
 * The `Cache-Control` of a rewritten manifest, from the origin's (`undefined` when it sent
 * none): `private` first, then the origin's directives but `public`, `s-maxage` and
 * `proxy-revalidate`, so the viewer's own cache keeps the lifetime and no shared cache in front
 * (one that ignores the query, say) hands viewer A's token to viewer B. Commas inside a quoted
 * value (`no-cache="a, b"`) stay in it.
 *
 * @example
 * ```ts
 * privateCacheControl("public, max-age=60, s-maxage=600"); // "private, max-age=60"
 * privateCacheControl(undefined); // "private"
 * ```
 */
export function privateCacheControl(origin: string | undefined): string {
  const kept: string[] = ["private"];
  const text = origin ?? "";
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2c;
    if (c === 0x22) quoted = !quoted;
    else if (c === 0x5c && quoted) i++;
    else if (c === 0x2c && (!quoted || i === text.length)) {
      const directive = text.slice(start, i).trim();
      start = i + 1;
      if (directive === "") continue;
      const equals = directive.indexOf("=");
      const name = (equals === -1 ? directive : directive.slice(0, equals)).trim().toLowerCase();
      if (SHARED_ONLY[name] !== true) kept.push(directive);
    }
  }
  return kept.join(", ");
}

/**
 * Response headers that give shared caches alone a lifetime, each read *instead of*
 * `Cache-Control` by the caches it names: `CDN-Cache-Control` (RFC 9213),
 * `Cloudflare-`, `Vercel-` and `Netlify-CDN-Cache-Control`, `Surrogate-Control` (Fastly, Varnish, Akamai),
 * `X-Accel-Expires` (an nginx proxy_cache in front) and `Edge-Control` (Akamai). A rewritten
 * manifest carries one viewer's token, so it goes without them: `private` alone would not stop
 * such a cache keeping it for the next viewer.
 */
export const SHARED_CACHE_HEADERS: readonly string[] = [
  "cdn-cache-control",
  "cloudflare-cdn-cache-control",
  "vercel-cdn-cache-control",
  "netlify-cdn-cache-control",
  "surrogate-control",
  "x-accel-expires",
  "edge-control",
];

/**
 * Whether a response header (any case) is one of {@link SHARED_CACHE_HEADERS}, or any other
 * `*-CDN-Cache-Control`: the form CDNs name their own targeted `CDN-Cache-Control` by.
 *
 * @example
 * ```ts
 * isSharedCacheHeader("Acme-CDN-Cache-Control"); // true
 * ```
 */
export function isSharedCacheHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (SHARED_CACHE_HEADERS.indexOf(lower) >= 0) return true;
  const suffix = "-cdn-cache-control";
  return lower.length > suffix.length && lower.slice(-suffix.length) === suffix;
}
