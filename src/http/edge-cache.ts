/**
 * The shared cache on Workers (`CACHE=on`): Cloudflare's Cache API, keyed by the origin URL the
 * grant names (token and expires removed), so every viewer's token opens the same object. What
 * is kept, and how long, is `core/freshness.ts`, as on the Node server; the stored copy says so
 * in its own `Cache-Control` and gives the origin's back when served. `Range` is answered by the
 * Cache API from the whole object.
 * @module
 */
import { storable } from "../core/freshness.js";

/** Where the origin's own `Cache-Control` waits while the stored copy carries the gate's TTL. */
const ORIGIN_CACHE_CONTROL = "tokengate-origin-cache-control";
/** Objects larger than this are not kept: the copy for the cache would be held while a slow client reads. */
export const EDGE_MAX_OBJECT_BYTES = 16 * 1024 * 1024;

/** The Cache API's default cache, where the runtime has one (Workers, Miniflare). */
export function defaultCache(): Cache | undefined {
  return (globalThis as { caches?: { default?: Cache } }).caches?.default;
}

/**
 * Whether a request may be answered from, and fill, a shared cache: GET or HEAD without
 * `Cookie` or `Authorization`.
 */
export function sharedCacheable(request: Request): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  return !request.headers.has("cookie") && !request.headers.has("authorization");
}

/**
 * The kept answer for `key`, with the request's `Range` applied by the cache, or undefined.
 *
 * @example
 * ```ts
 * const hit = await fromCache(caches.default, "https://origin.example/v/seg-1.ts", request);
 * ```
 */
export async function fromCache(
  cache: Cache,
  key: string,
  request: Request,
): Promise<Response | undefined> {
  const range = request.headers.get("range");
  const lookup = new Request(key, { headers: range === null ? {} : { range } });
  const hit = await cache.match(lookup);
  if (hit === undefined) return undefined;
  const headers = new Headers(hit.headers);
  const own = headers.get(ORIGIN_CACHE_CONTROL);
  headers.delete(ORIGIN_CACHE_CONTROL);
  if (own === null) headers.delete("cache-control");
  else headers.set("cache-control", own);
  headers.set("x-cache", "HIT");
  const body = request.method === "HEAD" ? null : hit.body;
  if (body === null) hit.body?.cancel().catch(() => {});
  return new Response(body, { status: hit.status, statusText: hit.statusText, headers });
}

/**
 * The origin's answer marked `X-Cache: MISS`, a copy of it put into the cache when it may be
 * kept (a whole 200 to a GET without `Range`, storable, at most {@link EDGE_MAX_OBJECT_BYTES});
 * `waitUntil` keeps the put alive after the answer is sent.
 */
export function intoCache(
  cache: Cache,
  key: string,
  request: Request,
  response: Response,
  heuristicCapSeconds: number,
  waitUntil: (work: Promise<unknown>) => void,
): Response {
  const headers = new Headers(response.headers);
  headers.set("x-cache", "MISS");
  const sent = () =>
    new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  if (request.method !== "GET" || request.headers.has("range") || response.body === null)
    return sent();
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (!(length <= EDGE_MAX_OBJECT_BYTES)) return sent();
  const verdict = storable(
    response.status,
    (name) => response.headers.get(name) ?? undefined,
    Math.floor(Date.now() / 1000),
    heuristicCapSeconds,
  );
  if (!verdict.store) return sent();
  const [forClient, forCache] = response.body.tee();
  const stored = new Headers(response.headers);
  const own = stored.get("cache-control");
  if (own !== null) stored.set(ORIGIN_CACHE_CONTROL, own);
  stored.set("cache-control", `public, max-age=${verdict.ttlSeconds}`);
  stored.delete("set-cookie");
  waitUntil(
    cache
      .put(new Request(key), new Response(forCache, { status: 200, headers: stored }))
      .catch(() => {}),
  );
  return new Response(forClient, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
