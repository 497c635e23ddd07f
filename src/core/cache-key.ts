/**
 * The shared cache's key (`CACHE_KEY_QUERY`): which query parameters of a granted request make
 * the identity of what a cache keeps. One rule for the Node cache, the Worker's Cache API and
 * nginx's `proxy_cache_key` (which the njs module sets from this function). The origin is still
 * asked with the request's whole query: the key only says which requests share one kept answer.
 * Runs under njs 0.7.9: indexOf scans, no Set, Map or URL.
 * @module
 */
import { looseSpelling, readsAs } from "./query-token.js";

/** `all`: the whole query; `none`: the path alone; a list: only those parameters, in its order. */
export type CacheKeyQuery = "all" | "none" | readonly string[];

/**
 * `CACHE_KEY_QUERY` unset: the path alone. Media files are named by their path; a query on a
 * segment is a player's cache-buster or session mark, and keying on it let one valid link fill
 * the cache with copies of one object (CloudFront's CachingOptimized policy keys no query
 * either). An origin that serves other bytes for another query needs `all` or a list.
 */
export const DEFAULT_CACHE_KEY_QUERY: CacheKeyQuery = "none";

/**
 * The cache key of a granted request's origin target (path and query, token removed), or
 * undefined when the request must not share a kept answer at all (see {@link listedKey}).
 *
 * @example
 * ```ts
 * cacheKey("/v/seg.ts?junk=1&q=hd", "none"); // "/v/seg.ts"
 * cacheKey("/v/seg.ts?junk=1&q=hd", ["q"]); // "/v/seg.ts?q=hd"
 * cacheKey("/v/seg.ts?Q=sd&q=hd", ["q"]); // undefined
 * ```
 */
export function cacheKey(target: string, rule: CacheKeyQuery): string | undefined {
  const question = target.indexOf("?");
  const path = keyPath(question < 0 ? target : target.slice(0, question));
  if (question < 0 || rule === "none") return path;
  if (rule === "all") return path + target.slice(question);
  return listedKey(path, target.slice(question + 1).split("&"), rule);
}

/**
 * A path in one spelling for every way a URL may write it (RFC 3986 §6.2.2): an escaped
 * unreserved character (letter, digit, `-._~`) unescaped, every other escape's hex upper
 * case. The origin decodes them all to one file; as written, `%63ache.ts` and `c%61che.ts`
 * were objects of their own, a way past the cache (and, on nginx, to evict it).
 */
function keyPath(path: string): string {
  if (path.indexOf("%") < 0) return path;
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charAt(i);
    const digits = c === "%" ? path.slice(i + 1, i + 3) : "";
    if (!/^[0-9A-Fa-f]{2}$/.test(digits)) {
      out += c;
      continue;
    }
    const byte = String.fromCharCode(parseInt(digits, 16));
    out += /^[A-Za-z0-9._~-]$/.test(byte) ? byte : `%${digits.toUpperCase()}`;
    i += 2;
  }
  return out;
}

/**
 * A list's key: the listed parameters, spelled exactly, in the list's order. The origin reads
 * the whole query and decodes names, so a key parameter it could read twice (given twice, or
 * also spelled otherwise: `q%75ality`, `Quality`, `quality[]`, `a=1;quality=`, `&amp;quality=`,
 * by the md5/expires look-alike rule of `core/query-token.ts`) makes its answer one the key
 * does not name: undefined, the request passes through uncached (never kept, never served from
 * the cache). Passing, not refusing: a player that repeats a parameter still plays, and the
 * origin leg it takes is any uncached request's, within the same per-client limits.
 */
function listedKey(
  path: string,
  pairs: readonly string[],
  rule: readonly string[],
): string | undefined {
  const loose: string[] = [];
  for (let n = 0; n < rule.length; n++) {
    const spelled = looseSpelling(rule[n]!);
    if (spelled !== "") loose.push(spelled);
  }
  const seen: string[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const equals = pair.indexOf("=");
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const exact = rule.indexOf(name) >= 0;
    if (exact) {
      if (seen.indexOf(name) >= 0) return undefined;
      seen.push(name);
    }
    // Each `;` piece as an origin splitting on it reads one; the first is the pair itself.
    const pieces = pair.split(";");
    for (let k = 0; k < pieces.length; k++) {
      const piece = pieces[k]!;
      const at = piece.indexOf("=");
      const pieceName = at < 0 ? piece : piece.slice(0, at);
      if (k === 0 && exact && pieceName === name) continue;
      // The piece whole, its value too: an origin that decodes the query before splitting it
      // reads `x=1%26quality%3D…` as a `quality` (readsAs decodes, splits, cuts at `=`).
      if (loose.length > 0 && readsAs(piece, loose) !== undefined) return undefined;
    }
  }
  const kept: string[] = [];
  // In the list's order, so two spellings of one query that only order differs in share a key.
  for (let n = 0; n < rule.length; n++) {
    const name = rule[n]!;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!;
      const equals = pair.indexOf("=");
      if ((equals < 0 ? pair : pair.slice(0, equals)) === name) kept.push(pair);
    }
  }
  return kept.length === 0 ? path : `${path}?${kept.join("&")}`;
}
