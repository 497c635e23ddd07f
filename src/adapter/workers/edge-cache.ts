/**
 * The shared cache on Workers (`CACHE=on`): Cloudflare's Cache API, keyed by the origin URL the
 * grant names (token and expires removed), so every viewer's token opens the same object. What
 * is kept, and how long, is `core/freshness.ts`, as on the Node server; the stored copy says so
 * in its own `Cache-Control` and gives the origin's back when served. `Range` is answered by the
 * Cache API from the whole object.
 * @module
 */
import { noneMatch, storable } from "../../core/freshness.js";
import type { EdgeCache } from "../../http/app.js";
import { singleRange } from "../../http/range.js";

/** Where the origin's own `Cache-Control` waits while the stored copy carries the gate's TTL. */
const ORIGIN_CACHE_CONTROL = "tokengate-origin-cache-control";
/** Where the origin's own `Age` waits: the time kept is added to it on a hit. */
const ORIGIN_AGE = "tokengate-origin-age";
/** When the copy was kept (unix seconds), for the `Age` of a hit. */
const STORED_AT = "tokengate-stored-at";

/**
 * Bytes an isolate may hold while viewers read answers being copied for the cache (an
 * isolate has 128 MB); an answer that does not fit streams through uncopied.
 */
export const EDGE_GATHER_BYTES = 32 * 1024 * 1024;

/**
 * How long a copy may hold its share of that room: a viewer who never reads would hold it as
 * long as its connection stays open (the Worker has no CLIENT_TIMEOUT_MS), and a few such
 * viewers would keep every other answer out of the cache. Past it the viewer still gets the
 * answer; no copy is kept. The Node server's cache fills within the same 30 s.
 */
export const EDGE_GATHER_MS = 30_000;

/** The room for copies being gathered, shared by the requests of one app. */
export interface GatherBudget {
  take(bytes: number): boolean;
  give(bytes: number): void;
  /** How long one copy may hold its share. */
  readonly deadlineMs: number;
}

/** A budget of {@link EDGE_GATHER_BYTES}, each copy's share held {@link EDGE_GATHER_MS} at most. */
export function gatherBudget(limit = EDGE_GATHER_BYTES, deadlineMs = EDGE_GATHER_MS): GatherBudget {
  let held = 0;
  return {
    deadlineMs,
    take(bytes) {
      if (held + bytes > limit) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held -= bytes;
    },
  };
}
/** Objects larger than this are not kept: the copy for the cache would be held while a slow client reads. */
export const EDGE_MAX_OBJECT_BYTES = 16 * 1024 * 1024;

/**
 * The Worker's shared cache for `createApp`: the Cache API's default cache, looked up per
 * request as before, with one gathering budget for the app's requests.
 */
export function edgeCache(budget: GatherBudget = gatherBudget()): EdgeCache {
  return {
    shares: (request) => defaultCache() !== undefined && sharedCacheable(request),
    match: (key, request) => fromCache(defaultCache()!, key, request),
    keep: (key, request, response, heuristicCapSeconds, waitUntil) =>
      intoCache(defaultCache()!, key, request, response, heuristicCapSeconds, waitUntil, budget),
  };
}

/** The Cache API's default cache, where the runtime has one (Workers, Miniflare). */
export function defaultCache(): Cache | undefined {
  return (globalThis as { caches?: { default?: Cache } }).caches?.default;
}

/**
 * Whether a request may be answered from, and fill, a shared cache: GET or HEAD. A `Cookie` or
 * `Authorization` changes nothing: the origin never gets either (the header policy), so its
 * answer cannot depend on them, and a bypass would only let one link multiply origin traffic.
 */
export function sharedCacheable(request: Request): boolean {
  return request.method === "GET" || request.method === "HEAD";
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
  // If-Range: a range of the kept version only, which only the cache could tell; the whole
  // object is always a right answer. A Range the caches ignore (singleRange) is not asked for.
  const asked = request.headers.get("range");
  const range = request.headers.has("if-range") || singleRange(asked) === undefined ? null : asked;
  const lookup = new Request(key, { headers: range === null ? {} : { range } });
  const hit = await cache.match(lookup);
  if (hit === undefined) return undefined;
  const headers = new Headers(hit.headers);
  const own = headers.get(ORIGIN_CACHE_CONTROL);
  headers.delete(ORIGIN_CACHE_CONTROL);
  if (own === null) headers.delete("cache-control");
  else headers.set("cache-control", own);
  const originAge = Number(headers.get(ORIGIN_AGE) ?? 0) || 0;
  const storedAt = Number(headers.get(STORED_AT) ?? NaN);
  headers.delete(ORIGIN_AGE);
  headers.delete(STORED_AT);
  // The origin's age plus the time kept (the runtime's own Age, where it sets one, is the same
  // time kept, so it is not added again).
  const kept = Number.isFinite(storedAt)
    ? Math.max(0, Math.floor(Date.now() / 1000) - storedAt)
    : 0;
  headers.set("age", String(originAge + kept));
  headers.set("x-cache", "HIT");
  // The viewer holds this version: 304, as the Node server's cache and nginx answer, before
  // any Range (RFC 9110 §13.2.2).
  if (
    (hit.status === 200 || hit.status === 206) &&
    noneMatch(request.headers.get("if-none-match") ?? undefined, headers.get("etag") ?? undefined)
  ) {
    hit.body?.cancel().catch(() => {});
    headers.delete("content-length");
    headers.delete("content-range");
    return new Response(null, { status: 304, headers });
  }
  const body = request.method === "HEAD" ? null : hit.body;
  if (body === null) hit.body?.cancel().catch(() => {});
  return new Response(body, { status: hit.status, statusText: hit.statusText, headers });
}

/**
 * The origin's answer marked `X-Cache: MISS`, and, when it may be kept (a whole 200 to a GET
 * without `Range`, storable, with a length of at most {@link EDGE_MAX_OBJECT_BYTES}), a copy
 * put into the cache once the viewer has read all of it: the body passes through a stream of
 * that length (workerd's `FixedLengthStream`, so the answer keeps its `Content-Length` and a
 * cut stays a cut), its bytes gathered on the way. A viewer who leaves ends the transfer, and
 * nothing is put. `waitUntil` keeps the put alive after the answer is sent.
 */
export function intoCache(
  cache: Cache,
  key: string,
  request: Request,
  response: Response,
  heuristicCapSeconds: number,
  waitUntil: (work: Promise<unknown>) => void,
  budget: GatherBudget,
): Response {
  const headers = new Headers(response.headers);
  headers.set("x-cache", "MISS");
  const init = { status: response.status, statusText: response.statusText, headers };
  const Fixed = (globalThis as { FixedLengthStream?: new (length: number) => TransformStream })
    .FixedLengthStream;
  // workerd's fetch has undone a Content-Encoding but states the encoded length: such an answer
  // is not kept (its length cannot be held to), and passes as the runtime gives it.
  const encoding = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (
    request.method !== "GET" ||
    request.headers.has("range") ||
    response.body === null ||
    encoding !== "identity"
  ) {
    return new Response(response.body, init);
  }
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (Fixed === undefined || !(length <= EDGE_MAX_OBJECT_BYTES)) {
    return new Response(response.body, init);
  }
  const verdict = storable(
    response.status,
    (name) => response.headers.get(name) ?? undefined,
    Math.floor(Date.now() / 1000),
    heuristicCapSeconds,
  );
  if (!verdict.store || !budget.take(length)) return new Response(response.body, init);
  let chunks: Uint8Array[] = [];
  let size = 0;
  // The share is given back once: at the end of the transfer, or at the deadline, after which
  // nothing more is gathered and nothing is kept.
  let holding = true;
  const release = () => {
    if (!holding) return;
    holding = false;
    chunks = [];
    budget.give(length);
  };
  const deadline = setTimeout(release, budget.deadlineMs);
  const gather = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (holding) {
        chunks.push(chunk);
        size += chunk.byteLength;
      }
      controller.enqueue(chunk);
    },
  });
  const fixed = new Fixed(length);
  const stored = new Headers(response.headers);
  const own = stored.get("cache-control");
  if (own !== null) stored.set(ORIGIN_CACHE_CONTROL, own);
  // The origin's Age is in the lifetime already; kept aside, it is added back when served.
  const age = stored.get("age");
  stored.delete("age");
  if (age !== null) stored.set(ORIGIN_AGE, age);
  stored.set("cache-control", `public, max-age=${verdict.ttlSeconds}`);
  stored.delete("set-cookie");
  stored.set(STORED_AT, String(Math.floor(Date.now() / 1000)));
  const whole = response.body
    .pipeThrough(gather)
    .pipeTo(fixed.writable)
    .then(() => {
      clearTimeout(deadline);
      const complete = holding && size === length;
      const kept = chunks;
      release();
      if (!complete) return;
      const body = new Uint8Array(size);
      let offset = 0;
      for (const chunk of kept) {
        body.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return cache.put(new Request(key), new Response(body, { status: 200, headers: stored }));
    })
    .catch(() => {
      clearTimeout(deadline);
      release();
    });
  waitUntil(whole);
  return new Response(fixed.readable, init);
}
