/**
 * The Node server's shared cache (`CACHE=on`): origin answers kept in memory by the origin path
 * the grant names (never the token), so thousands of viewers with thousands of tokens cost the
 * origin one request per object per freshness lifetime. What may be kept and for how long is
 * `core/freshness.ts` (RFC 9111 for a shared cache); this file holds the objects (least
 * recently used first out), answers `GET`, `HEAD` and single `Range` requests from them,
 * revalidates stale ones with `ETag`/`Last-Modified`, and lets one origin request fill an
 * object however many viewers miss it at once. Every byte it holds counts against
 * `CACHE_MAX_BYTES`: bodies, keys, headers, objects being read, and its pass marks.
 * @module
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { storable } from "../../core/freshness.js";
import { manifestKind, propagateManifest } from "../../core/manifest.js";
import type { ClientInfo } from "../../http/headers.js";
import { rejection } from "../../http/refusal.js";
import {
  headerOf,
  headerValues,
  markPrivate,
  removeHeader,
  weakenEtag,
  withGateHeaders,
  type OriginLeg,
  type ProxyOutcome,
  type WholeAnswer,
} from "./origin.js";

/** Options of {@link createCache}. */
export interface CacheOptions {
  /** Most bytes held at once; the least recently used objects go first. */
  maxBytes: number;
  /** The most a `Last-Modified` heuristic may give an object (`CACHE_DEFAULT_TTL_S`). */
  heuristicCapSeconds: number;
  /**
   * Time an object may take to arrive whole (`ORIGIN_TIMEOUT_MS`; 0 = 30 s); a slower one is
   * streamed to those waiting for it instead, and passed through for a while.
   */
  fillDeadlineMs?: number;
  /**
   * Time a client may take no bytes of an answer from the cache (`CLIENT_TIMEOUT_MS`; 0 =
   * none); then its connection is cut, and the bytes it held go.
   */
  clientTimeoutMs?: number;
  /** Clock in unix seconds (tests). */
  now?: () => number;
}

/** The largest object kept: an eighth of the cache, at most 16 MiB; larger ones stream through. */
export function maxObjectBytes(maxBytes: number): number {
  return Math.min(16 * 1024 * 1024, Math.max(1, Math.floor(maxBytes / 8)));
}

/** Keys longer than this (a path with a long query) are never kept, nor marked. */
const MAX_KEY_LENGTH = 1024;
/** How long an object too big to keep, too slow to read whole, or not storable, streams through. */
const TOO_BIG_PASS_SECONDS = 300;
const NOT_KEPT_PASS_SECONDS = 30;
/** Most pass marks held at once (each at most {@link MAX_KEY_LENGTH}). */
const MAX_PASSES = 10_000;
/**
 * What one object costs besides its body, key and headers: the entry, the map's slot, the
 * arrays and strings around it (measured with heap snapshots at about a kilobyte).
 */
const ENTRY_OVERHEAD = 1024;

interface Entry {
  head: string[];
  body: Buffer;
  message: string;
  storedAt: number;
  ttl: number;
  /** The origin's own `Age` when it arrived, which the answer's `Age` adds to. */
  originAge: number;
  /** What the entry counts against `maxBytes`. */
  cost: number;
}

/** What {@link ResponseCache.serve} was asked to answer. */
export interface CachedRequest {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
  /** The origin path and query of the grant: the cache key. */
  target: string;
  client: ClientInfo;
  outcome: ProxyOutcome;
  /** A CDN token to carry into a manifest served from the cache. */
  propagate?: string;
  /** The gate's own headers (CORS) for the answer. */
  headers?: readonly [string, string][];
  /** See {@link CacheOptions.clientTimeoutMs}; set by the cache. */
  clientTimeoutMs?: number;
}

/** Cache figures, for the metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
  bytes: number;
  objects: number;
}

export interface ResponseCache {
  /**
   * Answers a granted request from the cache (filling or revalidating it first when needed) and
   * returns true, or returns false when the request must take the origin leg as usual: not GET
   * or HEAD, a `Cookie` or `Authorization` (never answered from a shared cache), a `HEAD` or
   * `Range` that misses, or an object that may not be kept. Then `X-Cache: MISS` is the
   * caller's to send.
   */
  serve(request: CachedRequest): Promise<boolean>;
  stats(): CacheStats;
}

/**
 * Builds the cache for one server process.
 *
 * @example
 * ```ts
 * const cache = createCache(leg, { maxBytes: 256 * 2 ** 20, heuristicCapSeconds: 60 });
 * if (!(await cache.serve({ incoming, outgoing, target, client, outcome }))) leg.forward(…);
 * ```
 */
export function createCache(origin: OriginLeg, options: CacheOptions): ResponseCache {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const limit = maxObjectBytes(options.maxBytes);
  const deadlineMs = options.fillDeadlineMs || 30_000;
  /** Insertion order is recency: a hit moves its object to the end. */
  const objects = new Map<string, Entry>();
  /** Objects being read: one origin request each, however many wait; and who waits. */
  const filling = new Map<
    string,
    { done: Promise<Fill>; waiting: number; stop: AbortController }
  >();
  /**
   * Pass marks have a budget of their own (an eighth of the cache, at least 64 KiB, within
   * `maxBytes`), so a flood of them (404s under distinct queries) can neither crowd out the
   * objects nor grow unbounded.
   */
  const passBudget = Math.min(
    Math.floor(options.maxBytes / 2),
    Math.max(64 * 1024, Math.floor(options.maxBytes / 8)),
  );
  const objectBudget = options.maxBytes - passBudget;
  /** Objects and objects being read. */
  let bytes = 0;
  let hits = 0;
  let misses = 0;

  const forget = (key: string) => {
    const entry = objects.get(key);
    if (entry === undefined) return;
    objects.delete(key);
    bytes -= entry.cost;
  };
  /** Makes room for `cost` more bytes, oldest objects first; false when even that is not enough. */
  const room = (cost: number): boolean => {
    for (const [oldest] of objects) {
      if (bytes + cost <= objectBudget) break;
      forget(oldest);
    }
    return bytes + cost <= objectBudget;
  };
  const keep = (key: string, entry: Entry) => {
    forget(key);
    if (!room(entry.cost)) return;
    objects.set(key, entry);
    bytes += entry.cost;
  };
  /** Bytes of objects being read, taken from the same total as the objects. */
  const budget = {
    take: (n: number) => {
      if (!room(n)) return false;
      bytes += n;
      return true;
    },
    give: (n: number) => {
      bytes -= n;
    },
  };

  /**
   * Objects found not to be kept, asked for straight from the origin for a while instead of
   * being read whole each time ("hit for pass"): key → until when.
   */
  const passes = new Map<string, number>();
  let passBytes = 0;
  const dropPass = (key: string) => {
    if (passes.delete(key)) passBytes -= key.length * 2 + ENTRY_OVERHEAD / 4;
  };
  const pass = (key: string, seconds: number) => {
    dropPass(key);
    const cost = key.length * 2 + ENTRY_OVERHEAD / 4;
    for (const [oldest, until] of passes) {
      if (passes.size < MAX_PASSES && passBytes + cost <= passBudget && until > now()) break;
      dropPass(oldest);
    }
    passes.set(key, now() + seconds);
    passBytes += cost;
  };

  /**
   * What a fill came to: an object kept; an answer not to be kept (only the request that asked
   * for it may have it: it may carry a cookie or be a 404); dropped; or an origin failure.
   */
  type Fill =
    | { kind: "kept"; entry: Entry }
    | { kind: "not-kept"; answer?: Extract<WholeAnswer, { kind: "answer" }> }
    | Extract<WholeAnswer, { kind: "error" }>;

  /** One origin request for `key`: the whole answer, kept when it may be. */
  const fill = (key: string, stale: Entry | undefined) => {
    const running = filling.get(key);
    if (running !== undefined) return running;
    const headers: [string, string][] = [
      // A shared answer is asked for in no viewer's words: uncompressed (the gate rewrites
      // manifests and serves ranges from the bytes), with the validators of what it holds.
      ["accept-encoding", "identity"],
      ["x-forwarded-proto", "http"],
    ];
    const etag = stale && headerOf(stale.head, "etag");
    const modified = stale && headerOf(stale.head, "last-modified");
    if (etag !== undefined) headers.push(["if-none-match", etag]);
    if (modified !== undefined) headers.push(["if-modified-since", modified]);
    const stop = new AbortController();
    const done = origin
      .fetchWhole(key, headers, limit, { signal: stop.signal, budget, deadlineMs })
      .then((answer): Fill => {
        if (answer.kind === "error") return answer;
        if (answer.kind === "dropped") {
          if (answer.why === "too-big" || answer.why === "too-slow") {
            forget(key);
            pass(key, TOO_BIG_PASS_SECONDS);
          }
          return { kind: "not-kept" };
        }
        if (answer.status === 304 && stale !== undefined) {
          // Still good: the stored body with the headers the 304 refreshes (RFC 9111 §4.3.4).
          const head = [...stale.head];
          const fresh = answer.head;
          for (let i = 0; i < fresh.length; i += 2) {
            const name = fresh[i]!.toLowerCase();
            if (name !== "content-length" && name !== "transfer-encoding") removeHeader(head, name);
          }
          for (let i = 0; i < fresh.length; i += 2) {
            const name = fresh[i]!.toLowerCase();
            if (name !== "content-length" && name !== "transfer-encoding") {
              head.push(fresh[i]!, fresh[i + 1]!);
            }
          }
          return keepAnswer(key, 200, stale.message, head, stale.body);
        }
        const kept = keepAnswer(key, answer.status, answer.message, answer.head, answer.body);
        if (kept.kind === "kept") return kept;
        pass(key, NOT_KEPT_PASS_SECONDS);
        return { kind: "not-kept", answer };
      })
      .finally(() => filling.delete(key));
    const state = { done, waiting: 0, stop };
    filling.set(key, state);
    return state;
  };

  const keepAnswer = (
    key: string,
    status: number,
    message: string,
    head: string[],
    body: Buffer,
  ): Fill => {
    const verdict = storable(
      status,
      // Several lines of a header read as one list (RFC 9110 §5.3).
      (name) => headerValues(head, name).join(", ") || undefined,
      now(),
      options.heuristicCapSeconds,
    );
    if (!verdict.store) {
      forget(key);
      return { kind: "not-kept" };
    }
    const originAge = Math.max(0, Number(headerOf(head, "age") ?? 0) || 0);
    removeHeader(head, "age");
    const headBytes = head.reduce((sum, part) => sum + part.length, 0);
    const cost = body.length + key.length * 2 + headBytes + ENTRY_OVERHEAD;
    const entry: Entry = {
      head,
      body,
      message,
      storedAt: now(),
      ttl: verdict.ttlSeconds,
      originAge,
      cost,
    };
    keep(key, entry);
    return { kind: "kept", entry };
  };

  async function serve(request: CachedRequest): Promise<boolean> {
    request.clientTimeoutMs = options.clientTimeoutMs;
    const { incoming, target } = request;
    const method = incoming.method;
    if (method !== "GET" && method !== "HEAD") return false;
    if (incoming.headers.cookie !== undefined || incoming.headers.authorization !== undefined) {
      return false;
    }
    if (target.length > MAX_KEY_LENGTH) {
      misses++;
      return false;
    }
    const passUntil = passes.get(target);
    if (passUntil !== undefined) {
      if (now() < passUntil) {
        misses++;
        return false;
      }
      dropPass(target);
    }
    let entry = objects.get(target);
    if (entry !== undefined && now() - entry.storedAt < entry.ttl) {
      objects.delete(target);
      objects.set(target, entry);
      hits++;
      answer(request, entry, "HIT", now());
      return true;
    }
    const stale = entry;
    const revalidates =
      stale !== undefined &&
      (headerOf(stale.head, "etag") !== undefined ||
        headerOf(stale.head, "last-modified") !== undefined);
    if (!revalidates) {
      if (stale !== undefined) forget(target);
      // A HEAD or a range that misses goes to the origin as asked; a whole GET fills.
      if (method === "HEAD" || incoming.headers.range !== undefined) return false;
    }
    misses++;
    const leader = !filling.has(target);
    const state = fill(target, revalidates ? stale : undefined);
    // A fill no one waits for any more is stopped: viewers who leave cost the origin nothing.
    state.waiting++;
    let counted = true;
    const leave = () => {
      if (!counted) return;
      counted = false;
      if (--state.waiting === 0) state.stop.abort();
    };
    request.outgoing.once("close", leave);
    const result = await state.done;
    request.outgoing.off("close", leave);
    counted = false;
    if (request.outgoing.destroyed) return true;
    if (result.kind === "not-kept") {
      // The answer that may not be kept is its asker's alone; the others ask for themselves.
      // An answer that varies by request headers was asked for in no viewer's words: the
      // asker asks again in its own.
      if (!leader || result.answer === undefined || headerOf(result.answer.head, "vary")) {
        return false;
      }
      const { status, message, head, body } = result.answer;
      const entry: Entry = { head, body, message, storedAt: now(), ttl: 0, originAge: 0, cost: 0 };
      answer(request, entry, "MISS", now(), status, false);
      return true;
    }
    if (result.kind === "error") {
      request.outcome.reason = result.reason;
      const refusal = rejection(result.reason);
      const head = withGateHeaders(Object.entries(refusal.headers).flat(), request.headers);
      request.outgoing.writeHead(refusal.status, STATUS_CODES[refusal.status]!, head);
      request.outgoing.end(method === "HEAD" ? undefined : refusal.body);
      request.outcome.bytes = method === "HEAD" ? 0 : refusal.body.length;
      return true;
    }
    entry = result.entry;
    answer(request, entry, revalidates ? "HIT" : "MISS", now());
    return true;
  }

  return {
    serve,
    stats: () => ({ hits, misses, bytes: bytes + passBytes, objects: objects.size }),
  };
}

/**
 * Sends a kept object (or, with `status` and not `kept`, an answer not kept, to its asker, as
 * it came: no `Age` of the cache's): whole, a single
 * byte range (206, or 416 when it cannot be met), a manifest with the viewer's token carried
 * on, or 304 for a matching `If-None-Match`.
 */
function answer(
  request: CachedRequest,
  entry: Entry,
  xCache: "HIT" | "MISS",
  now: number,
  status = 200,
  kept = true,
): void {
  const { incoming, outgoing, outcome } = request;
  if (outgoing.destroyed) return;
  const head = [...entry.head];
  if (kept) {
    // Time in this cache on top of the time the origin said the object had already spent.
    head.push("age", String(entry.originAge + Math.max(0, now - entry.storedAt)));
  }
  head.push("x-cache", xCache);
  let body = entry.body;
  let message = status === 200 ? entry.message : (STATUS_CODES[status] ?? "");
  const path = request.target.split("?")[0]!;
  const kind =
    request.propagate === undefined || status !== 200
      ? undefined
      : manifestKind(path, headerOf(head, "content-type"));
  if (kind !== undefined) {
    const result = propagateManifest(body, kind, request.propagate!);
    if ("text" in result) {
      body = Buffer.from(result.text);
      weakenEtag(head);
      markPrivate(head);
    }
  } else if (status === 200) {
    const etag = headerOf(head, "etag");
    const match = incoming.headers["if-none-match"];
    const matches =
      etag !== undefined &&
      match !== undefined &&
      match.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*");
    if (matches) {
      removeHeader(head, "content-length");
      outgoing.writeHead(304, STATUS_CODES[304]!, withGateHeaders(head, request.headers));
      outgoing.end();
      outcome.bytes = 0;
      return;
    }
    // If-Range: a range of this version only; a client holding another gets the whole.
    const ifRange = incoming.headers["if-range"] as string | undefined;
    const rangeHolds =
      ifRange === undefined ||
      (etag !== undefined && !etag.startsWith("W/") && ifRange.trim() === etag);
    const range = rangeHolds ? byteRange(incoming.headers.range, body.length) : undefined;
    if (range === "unsatisfiable") {
      removeHeader(head, "content-length");
      head.push("content-range", `bytes */${body.length}`, "content-length", "0");
      outgoing.writeHead(416, STATUS_CODES[416]!, withGateHeaders(head, request.headers));
      outgoing.end();
      outcome.bytes = 0;
      return;
    }
    if (range !== undefined) {
      status = 206;
      message = STATUS_CODES[206]!;
      head.push("content-range", `bytes ${range.start}-${range.end}/${body.length}`);
      body = body.subarray(range.start, range.end + 1);
    }
  }
  const empty = incoming.method === "HEAD" || status === 204 || status === 304;
  removeHeader(head, "content-length");
  if (status !== 204 && status !== 304) head.push("content-length", String(body.length));
  outgoing.writeHead(status, message, withGateHeaders(head, request.headers));
  outgoing.end(empty ? undefined : body);
  outcome.bytes = empty ? 0 : body.length;
  cutWhenStalled(outgoing, outcome, request.clientTimeoutMs ?? 0);
}

/**
 * Cuts an answer's connection when its client takes no bytes for `ms` (nginx's send_timeout):
 * the body it pins, an object perhaps evicted since, goes with it.
 */
function cutWhenStalled(outgoing: ServerResponse, outcome: ProxyOutcome, ms: number): void {
  if (ms <= 0 || outgoing.writableFinished) return;
  const socket = outgoing.socket;
  if (socket === null) return;
  let last = socket.bytesWritten;
  const timer = setInterval(() => {
    if (socket.bytesWritten > last) {
      last = socket.bytesWritten;
      return;
    }
    clearInterval(timer);
    outcome.reason = "client-timeout";
    outgoing.destroy();
  }, ms);
  timer.unref();
  const stop = () => clearInterval(timer);
  outgoing.once("finish", stop);
  outgoing.once("close", stop);
}

/**
 * One `bytes=` range of a body of `size` bytes (RFC 9110 §14.1.2): first and last byte, or
 * `unsatisfiable`, or undefined to send the whole body (no range, several ranges, another
 * unit or a spelling not understood, all of which a server may answer with the whole).
 */
function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first, last] = match as unknown as [string, string, string];
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return undefined;
  return { start, end };
}
