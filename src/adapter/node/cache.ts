/**
 * The Node server's shared cache (`CACHE=on`): origin answers kept in memory by the origin path
 * the grant names (never the token), so thousands of viewers with thousands of tokens cost the
 * origin one request per object per freshness lifetime. What may be kept and for how long is
 * `core/freshness.ts` (RFC 9111 for a shared cache); this file holds the objects (least
 * recently used first out), answers `GET`, `HEAD` and single `Range` requests from them,
 * revalidates stale ones with `ETag`/`Last-Modified`, and lets one origin request fill an
 * object however many viewers miss it at once. Every byte it holds counts against
 * `CACHE_MAX_BYTES`: bodies, keys, headers, objects being read, and its pass marks.
 *
 * Against one valid link used to empty the cache or multiply origin traffic: the key holds only
 * the query parameters `CACHE_KEY_QUERY` names (`core/cache-key.ts`); a fill streams to its
 * viewers as it arrives and reads the origin at most {@link FILL_AHEAD} past what its fastest
 * viewer's connection took (stopped when no viewer is left); and an object is let in only if it
 * was asked for more often lately than the objects it would evict (TinyLFU, `frequency.ts`).
 * @module
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { cacheKey, DEFAULT_CACHE_KEY_QUERY, type CacheKeyQuery } from "../../core/cache-key.js";
import { noneMatch, storable } from "../../core/freshness.js";
import { manifestKind, propagateManifest } from "../../core/manifest.js";
import type { ClientInfo } from "../../http/headers.js";
import { manifestPlan } from "../../http/manifest-headers.js";
import { singleRange } from "../../http/range.js";
import type { CorsOrigins } from "../../http/cors.js";
import {
  headerOf,
  headerValues,
  markManifest,
  refuse,
  removeHeader,
  withCors,
  type OriginLeg,
  type ProxyOutcome,
  type WholeAnswer,
} from "./origin.js";
import { frequencySketch } from "./frequency.js";

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
  /** Which query parameters make the key (`CACHE_KEY_QUERY`); the origin gets the whole query. */
  keyQuery?: CacheKeyQuery;
  /** Clock in unix seconds (tests). */
  now?: () => number;
}

/**
 * How far a fill reads the origin ahead of the fastest of its viewers: a viewer that reads
 * nothing holds the origin to this much (plus the sockets' own buffers), where it held none
 * back before.
 */
export const FILL_AHEAD = 256 * 1024;

/** The largest object kept: an eighth of the cache, at most 16 MiB; larger ones stream through. */
export function maxObjectBytes(maxBytes: number): number {
  return Math.min(16 * 1024 * 1024, Math.max(1, Math.floor(maxBytes / 8)));
}

/** How many of the least recently used objects a new one is weighed against (Ristretto samples 5). */
const ADMISSION_SAMPLE = 16;
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
  /** The origin path and query of the grant; the key is made from it (`CACHE_KEY_QUERY`). */
  target: string;
  client: ClientInfo;
  outcome: ProxyOutcome;
  /** A CDN token to carry into a manifest served from the cache. */
  propagate?: string;
  /** `CORS_ORIGINS`, whose headers go on the answer (`withCors`). */
  cors?: CorsOrigins;
  /** See {@link CacheOptions.clientTimeoutMs}; set by the cache. */
  clientTimeoutMs?: number;
  /** The origin leg's log of a request (a manifest passed on unchanged); set by the cache. */
  note?: OriginLeg["note"];
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
   * or HEAD, a `HEAD` or `Range` that misses, or an object that may not be kept. A `Cookie` or
   * `Authorization` changes nothing: the origin never gets either (the header policy), so its
   * answer cannot depend on them, and a bypass would only let one link multiply origin traffic. Then `X-Cache: MISS` is the
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
  const keyQuery = options.keyQuery ?? DEFAULT_CACHE_KEY_QUERY;
  /** Insertion order is recency: a hit moves its object to the end. */
  const objects = new Map<string, Entry>();
  /** Objects being read: one origin request each, however many wait; and who waits. */
  const filling = new Map<string, FillState>();
  /**
   * How often each key was asked for lately, hits and misses alike: an object is let in only
   * past objects asked for less often (four byte counters a row slot, a slot a 16 KiB of
   * cache, at least 1,024 and at most 65,536 slots).
   */
  const frequency = frequencySketch(
    Math.min(1 << 16, Math.max(1024, Math.floor(options.maxBytes / (16 * 1024)))),
  );
  /**
   * Pass marks have a budget of their own (an eighth of the cache, at least 64 KiB, within
   * `maxBytes`), so a flood of them (404s under distinct queries) can neither crowd out the
   * objects nor grow unbounded.
   */
  const passBudget = Math.min(
    Math.floor(options.maxBytes / 2),
    Math.max(64 * 1024, Math.floor(options.maxBytes / 8)),
  );
  // The sketch's counters count too.
  const objectBudget = options.maxBytes - passBudget - frequency.bytes;
  /** Objects and objects being read. */
  let bytes = 0;
  /** Fills whose origin head has not come yet (their length, and so their room, unknown). */
  let unheaded = 0;
  let hits = 0;
  let misses = 0;

  const forget = (key: string) => {
    const entry = objects.get(key);
    if (entry === undefined) return;
    objects.delete(key);
    bytes -= entry.cost;
  };
  /**
   * Makes room for `cost` more bytes for `key`: of the {@link ADMISSION_SAMPLE} least recently
   * used objects, those asked for less often than `key` go, oldest first (TinyLFU's admission:
   * a key asked for once cannot push out a popular object; a popular one among the oldest is
   * passed over, not a wall). False, and nothing evicted, when that frees too little.
   */
  const room = (key: string, cost: number): boolean => {
    if (bytes + cost <= objectBudget) return true;
    const wanted = frequency.estimate(key);
    const victims: string[] = [];
    let freed = 0;
    let looked = 0;
    for (const [oldest, entry] of objects) {
      if (bytes - freed + cost <= objectBudget || looked++ >= ADMISSION_SAMPLE) break;
      if (oldest === key || frequency.estimate(oldest) >= wanted) continue;
      victims.push(oldest);
      freed += entry.cost;
    }
    if (bytes - freed + cost > objectBudget) return false;
    for (const victim of victims) forget(victim);
    return true;
  };
  /**
   * Whether a fill for `key` may be started: room for the largest object besides fills whose
   * length is not known yet, without evicting, or `key` asked for more often than one of the
   * objects that would go first. Else the request goes to the origin as asked, once: a fill found no
   * room for only when the answer came would be asked for a second time by its viewers.
   */
  const admissible = (key: string): boolean => {
    if (bytes + (unheaded + 1) * limit <= objectBudget) return true;
    const wanted = frequency.estimate(key);
    let looked = 0;
    for (const [oldest] of objects) {
      if (looked++ >= ADMISSION_SAMPLE) break;
      if (oldest !== key && frequency.estimate(oldest) < wanted) return true;
    }
    return false;
  };
  const keep = (key: string, entry: Entry) => {
    forget(key);
    if (!room(key, entry.cost)) return;
    objects.set(key, entry);
    bytes += entry.cost;
  };
  /** Bytes of an object being read, taken from the same total as the objects. */
  const budgetFor = (key: string) => ({
    take: (n: number) => {
      if (!room(key, n)) return false;
      bytes += n;
      return true;
    },
    give: (n: number) => {
      bytes -= n;
    },
  });

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

  /** One origin request for `key` (asking for `target`): the whole answer, kept when it may be. */
  const fill = (key: string, target: string, stale: Entry | undefined): FillState => {
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
    let settleHead = () => {};
    unheaded++;
    let isHeaded = false;
    const headed = () => {
      if (isHeaded) return;
      isHeaded = true;
      unheaded--;
      settleHead();
    };
    const state: FillState = {
      done: undefined as unknown as Promise<Fill>,
      headed: new Promise<void>((resolve) => (settleHead = resolve)),
      waiting: 0,
      whole: 0,
      stop,
    };
    /** A viewer took more: the fill may read on. */
    const advance = () => {
      const stream = state.stream;
      if (stream?.resume !== undefined && stream.size < stream.front + FILL_AHEAD) {
        const resume = stream.resume;
        stream.resume = undefined;
        resume();
      }
    };
    const wake = (stream: FillStream) => {
      for (const viewer of stream.wake.splice(0)) viewer();
    };
    state.done = origin
      .fetchWhole(target, headers, limit, {
        signal: stop.signal,
        budget: budgetFor(key),
        deadlineMs,
        onHead: (status, message, head) => {
          // A whole 200 that may be kept is streamed to its viewers as it arrives; anything
          // else (a 304, an answer not to be kept, one that varies) is waited for whole, and so
          // is one of unstated length, which may prove too big halfway (its viewers then ask
          // the origin themselves, where a streamed viewer would be cut).
          const kept =
            status === 200 &&
            headerOf(head, "vary") === undefined &&
            headerOf(head, "content-length") !== undefined &&
            storable(
              status,
              (name) => headerValues(head, name).join(", ") || undefined,
              now(),
              options.heuristicCapSeconds,
            ).store;
          if (kept) {
            const shown = [...head];
            const originAge = Math.max(0, Number(headerOf(shown, "age") ?? 0) || 0);
            removeHeader(shown, "age");
            state.stream = {
              head: shown,
              message,
              originAge,
              chunks: [],
              size: 0,
              front: 0,
              ended: false,
              failed: false,
              wake: [],
              advance,
            };
          }
          headed();
          return kept;
        },
        onChunk: (chunk) => {
          const stream = state.stream;
          if (stream === undefined) return;
          stream.chunks.push(chunk);
          stream.size += chunk.length;
          wake(stream);
        },
        pace: (size) => {
          const stream = state.stream;
          // Viewers who need the whole object (a manifest to rewrite, a range) are not kept
          // waiting for those who read slowly.
          if (stream === undefined || state.whole > 0 || size < stream.front + FILL_AHEAD) {
            return undefined;
          }
          return new Promise<void>((resolve) => (stream.resume = resolve));
        },
      })
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
      .finally(() => {
        filling.delete(key);
        headed();
        state.stream?.resume?.();
      });
    void state.done.then((result) => {
      const stream = state.stream;
      if (stream === undefined) return;
      // Whole, or cut: a viewer streamed a cut object is cut too, never shown it complete.
      const whole =
        result.kind === "kept" || (result.kind === "not-kept" && result.answer !== undefined);
      stream.ended = whole;
      stream.failed = !whole;
      wake(stream);
    });
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
    request.note = origin.note;
    const { incoming, target } = request;
    const method = incoming.method;
    if (method !== "GET" && method !== "HEAD") return false;
    const key = cacheKey(target, keyQuery);
    // No key: a request the key cannot name is passed through, neither served nor kept.
    if (key === undefined || key.length > MAX_KEY_LENGTH) {
      misses++;
      return false;
    }
    frequency.add(key);
    const passUntil = passes.get(key);
    if (passUntil !== undefined) {
      if (now() < passUntil) {
        misses++;
        return false;
      }
      dropPass(key);
    }
    let entry = objects.get(key);
    if (entry !== undefined && now() - entry.storedAt < entry.ttl) {
      objects.delete(key);
      objects.set(key, entry);
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
      if (stale !== undefined) forget(key);
      // A HEAD or a range that misses goes to the origin as asked; a whole GET fills.
      if (method === "HEAD" || incoming.headers.range !== undefined) return false;
    }
    misses++;
    const leader = !filling.has(key);
    if (leader && !revalidates && !admissible(key)) return false;
    const state = fill(key, target, revalidates ? stale : undefined);
    // A fill no one waits for any more is stopped: viewers who leave cost the origin nothing.
    state.waiting++;
    let counted = true;
    let whole = false;
    const leave = () => {
      if (!counted) return;
      counted = false;
      if (whole) state.whole--;
      if (--state.waiting === 0) {
        state.stop.abort();
        state.stream?.resume?.();
      }
    };
    request.outgoing.once("close", leave);
    await state.headed;
    const stream = state.stream;
    if (stream !== undefined && !request.outgoing.destroyed && streams(request, stream)) {
      streamTo(request, stream, revalidates ? "HIT" : "MISS");
      return true;
    }
    whole = true;
    state.whole++;
    // Those who wait for the whole let the fill read on at full speed.
    state.stream?.resume?.();
    const result = await state.done;
    request.outgoing.off("close", leave);
    if (counted) {
      counted = false;
      state.whole--;
      state.waiting--;
    }
    if (request.outgoing.destroyed) return true;
    if (result.kind === "not-kept") {
      // The answer that may not be kept is its asker's alone; the others ask for themselves.
      // An answer that varies by request headers was asked for in no viewer's words: the
      // asker asks again in its own.
      if (!leader || result.answer === undefined || headerOf(result.answer.head, "vary")) {
        return false;
      }
      const { status, message, head, body } = result.answer;
      request.outcome.upstreamStatus = status;
      const entry: Entry = { head, body, message, storedAt: now(), ttl: 0, originAge: 0, cost: 0 };
      answer(request, entry, "MISS", now(), status, false);
      return true;
    }
    if (result.kind === "error") {
      refuse(request.incoming, request.outgoing, result.reason, request.outcome, request.cors);
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
 * What a fill came to: an object kept; an answer not to be kept (only the request that asked
 * for it may have it: it may carry a cookie or be a 404); dropped; or an origin failure.
 */
type Fill =
  | { kind: "kept"; entry: Entry }
  | { kind: "not-kept"; answer?: Extract<WholeAnswer, { kind: "answer" }> }
  | Extract<WholeAnswer, { kind: "error" }>;

/** An object being read, as its viewers see it. */
interface FillState {
  done: Promise<Fill>;
  /** Settled once the origin's head is in (or the fill is over). */
  headed: Promise<void>;
  /** Viewers of the fill, streamed or waiting for the whole. */
  waiting: number;
  /** Viewers waiting for the whole object. */
  whole: number;
  stop: AbortController;
  /** The answer as it arrives, when it is one to stream (a whole 200 that may be kept). */
  stream?: FillStream;
}

/** A fill's answer as it arrives, for the viewers it streams to. */
interface FillStream {
  /** The origin's head, its `Age` taken out (`originAge`). */
  head: string[];
  message: string;
  originAge: number;
  chunks: Buffer[];
  size: number;
  /** The most bytes any viewer's connection has taken. */
  front: number;
  ended: boolean;
  failed: boolean;
  /** Viewers that have sent all there is, waiting for more. */
  wake: (() => void)[];
  /** Set while the fill waits for a viewer to take more. */
  resume?: () => void;
  /** Told when {@link front} moved. */
  advance(): void;
}

/**
 * Whether a viewer is sent a fill's answer as it arrives: a whole GET, not a manifest with a
 * token to carry into it (rewritten whole).
 */
function streams(request: CachedRequest, stream: FillStream): boolean {
  const { incoming } = request;
  if (incoming.method !== "GET" || incoming.headers.range !== undefined) return false;
  if (request.propagate === undefined) return true;
  const path = request.target.split("?")[0]!;
  return manifestKind(path, headerOf(stream.head, "content-type")) === undefined;
}

/** Sends a kept object's 304 or 416, whose `head` the caller made. */
function bodiless(request: CachedRequest, status: 304 | 416, head: string[]): void {
  const { incoming, outgoing, outcome } = request;
  outgoing.writeHead(status, STATUS_CODES[status]!, withCors(head, request.cors, incoming));
  outgoing.end();
  outcome.bytes = 0;
}

/**
 * Sends a fill's answer to one viewer as it arrives, a chunk at a time as its connection takes
 * them; a viewer that has taken the most moves the fill on. A fill that fails cuts it.
 */
function streamTo(request: CachedRequest, stream: FillStream, xCache: "HIT" | "MISS"): void {
  const { incoming, outgoing, outcome } = request;
  const head = [...stream.head];
  head.push("age", String(stream.originAge), "x-cache", xCache);
  if (noneMatch(incoming.headers["if-none-match"], headerOf(head, "etag"))) {
    removeHeader(head, "content-length");
    return bodiless(request, 304, head);
  }
  outgoing.writeHead(200, stream.message, withCors(head, request.cors, request.incoming));
  outcome.bytes = 0;
  let index = 0;
  let taken = 0;
  const pump = (): void => {
    if (outgoing.destroyed) return;
    if (stream.failed) return void outgoing.destroy();
    while (index < stream.chunks.length) {
      const chunk = stream.chunks[index++]!;
      const ok = outgoing.write(chunk);
      taken += chunk.length;
      outcome.bytes = taken;
      if (taken > stream.front) {
        stream.front = taken;
        stream.advance();
      }
      if (!ok) return void outgoing.once("drain", pump);
    }
    if (stream.ended) return void outgoing.end();
    stream.wake.push(pump);
  };
  pump();
  cutWhenStalled(outgoing, outcome, request.clientTimeoutMs ?? 0);
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
  // A kept body is as the origin sent it: the plan's coding check is the origin leg's.
  const plan =
    request.propagate === undefined
      ? undefined
      : manifestPlan(status, path, headerOf(head, "content-type"), undefined);
  if (plan !== undefined && "kind" in plan) {
    const result = propagateManifest(body, plan.kind, request.propagate!);
    if ("text" in result) {
      body = Buffer.from(result.text);
      markManifest(head);
    } else {
      request.note?.("manifest-unchanged", `${result.unchanged}: passed on without the token`);
    }
  } else if (status === 200) {
    const etag = headerOf(head, "etag");
    if (noneMatch(incoming.headers["if-none-match"], etag)) {
      removeHeader(head, "content-length");
      return bodiless(request, 304, head);
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
      return bodiless(request, 416, head);
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
  outgoing.writeHead(status, message, withCors(head, request.cors, request.incoming));
  outgoing.end(empty ? undefined : body);
  outcome.bytes = empty ? 0 : body.length;
  cutWhenStalled(outgoing, outcome, request.clientTimeoutMs ?? 0);
}

/**
 * Cuts an answer's connection when its client takes no bytes it was given for `ms` (nginx's
 * send_timeout):
 * the body it pins, an object perhaps evicted since, goes with it.
 */
function cutWhenStalled(outgoing: ServerResponse, outcome: ProxyOutcome, ms: number): void {
  if (ms <= 0 || outgoing.writableFinished) return;
  const socket = outgoing.socket;
  if (socket === null) return;
  let last = socket.bytesWritten;
  const timer = setInterval(() => {
    // A viewer of a fill with nothing left to send waits for the origin, not the other way.
    if (socket.bytesWritten > last || outgoing.writableLength === 0) {
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
  const range = singleRange(header);
  if (range === undefined) return undefined;
  if (range.first === undefined) {
    const suffix = range.last!;
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = range.first;
  if (start >= size) return "unsatisfiable";
  const end = range.last === undefined ? size - 1 : Math.min(range.last, size - 1);
  return { start, end };
}
