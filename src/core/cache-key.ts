/**
 * The shared cache's key (`CACHE_KEY_QUERY`): which query parameters of a granted request make
 * the identity of what a cache keeps. One rule for the Node cache, the Worker's Cache API and
 * nginx's `proxy_cache_key` (which the njs module sets from this function). The origin is still
 * asked with the request's whole query: the key only says which requests share one kept answer.
 * Runs under njs 0.7.9: indexOf scans, no Set, Map or URL.
 * @module
 */
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
 * The cache key of a granted request's origin target (path and query, token removed).
 *
 * @example
 * ```ts
 * cacheKey("/v/seg.ts?junk=1&q=hd", "none"); // "/v/seg.ts"
 * cacheKey("/v/seg.ts?junk=1&q=hd", ["q"]); // "/v/seg.ts?q=hd"
 * ```
 */
export function cacheKey(target: string, rule: CacheKeyQuery): string {
  if (rule === "all") return target;
  const question = target.indexOf("?");
  if (question < 0) return target;
  const path = target.slice(0, question);
  if (rule === "none") return path;
  const pairs = target.slice(question + 1).split("&");
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
