/**
 * The Node server's way to the origin: an undici `Pool` (llhttp, the parser node:http uses)
 * with bodies streamed to the client under back-pressure. Not `fetch`: on Node it can crash
 * the process when a slow reader is still draining a body whose origin connection closed
 * (nodejs/undici#5360). GET and HEAD take this one path.
 * @module
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { Pool, type Dispatcher } from "undici";
import {
  connectionTokens,
  headerPairs,
  isReturned,
  locationRewriter,
  originRequestHeaders,
  relocated,
  type ClientInfo,
} from "../../http/headers.js";
import type { Rate } from "../../core/decide.js";
import { MANIFEST_MAX_BYTES, manifestKind, propagateManifest } from "../../core/manifest.js";
import {
  manifestRequestHeaders,
  privateCacheControl,
  SHARED_CACHE_HEADERS,
  rewritesManifest,
} from "../../http/manifest-headers.js";
import { errorLine } from "../../http/app.js";
import { REASON_HEADER, varyWith } from "../../http/cors.js";
import { rejection, type Reason } from "../../http/refusal.js";

/** What happened to one proxied request, for the access log. */
export interface ProxyOutcome {
  /** Body bytes sent to the client. */
  bytes: number;
  /** Set when the gate, not the origin, chose the status or cut the answer. */
  reason?: Reason | "client-timeout";
}

/** Options of {@link createOriginLeg}. */
export interface OriginLegOptions {
  /** Origin base URL without a trailing slash (as `readSettings` returns it). */
  origin: string;
  /**
   * Time from the request to the origin's response headers (then 504), and the longest quiet
   * between two body reads while the client keeps up (then the answer is cut); 0 means none.
   */
  timeoutMs: number;
  /**
   * Time a client may take no bytes while the gate has some for it (nginx's `send_timeout`);
   * then its connection is cut and its origin request ended. 0 means none.
   */
  clientTimeoutMs: number;
  /** Most connections open to the origin at once; further requests wait for one. */
  connections: number;
  /** `FORWARD_HEADERS`: request headers passed on besides the header policy's allow-list. */
  forwardHeaders?: readonly string[];
  /**
   * Reuse origin connections (default). Off, each request has a connection of its own: for an
   * origin that may send bytes after a response, which no HTTP/1.1 client can tell from the
   * next answer once the connection is reused.
   */
  keepAlive?: boolean;
  /** CA certificates to trust for an https origin instead of Node's (private CAs, tests). */
  ca?: string | Buffer;
  /** Told about origin failures, as one line without a stack. */
  onError?: (reason: Reason | "manifest-unchanged", message: string) => void;
  /** Told how long each origin request took to its response headers, in seconds. */
  onAnswer?: (seconds: number) => void;
}

/** What one forwarded request carries besides its target. */
export interface ForwardOptions {
  /** An MP4 link's pace (nginx's `limit_rate` / `limit_rate_after`). */
  rate?: Rate;
  /** A CDN token's `md5=…&expires=…`, carried onto a manifest's relative URIs. */
  propagate?: string;
  /**
   * The gate's CORS headers (with `CORS_ORIGINS` set), on whatever it answers, the origin's or
   * its own 502/503/504: the origin's `Access-Control-*` headers are dropped, same-named ones
   * replaced, `Vary` added to.
   */
  headers?: readonly [string, string][];
}

/** A configured way to the origin. */
export interface OriginLeg {
  /**
   * Sends the client's GET or HEAD for `target` (path and query) to the origin and streams
   * the answer to `outgoing`, keeping `outcome` up to date. Never throws: a failure before the
   * origin's headers becomes 502/504, a failure after them a cut connection, which the client
   * sees as a short answer, never a complete one.
   */
  forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    client: ClientInfo,
    outcome: ProxyOutcome,
    extra?: ForwardOptions,
  ): void;
  /**
   * Fetches `target` whole for the cache: a GET with the given headers, its body read into
   * memory up to `limit` bytes. `too-big` when the body is longer (the transfer is stopped);
   * `error` with the gate's reason when the origin fails or is too slow.
   */
  fetchWhole(
    target: string,
    headers: [string, string][],
    limit: number,
    control?: WholeControl,
  ): Promise<WholeAnswer>;
  /** Connections open to the origin now. */
  connections(): number;
  /** Closes the origin connections. */
  close(): Promise<void>;
}

/** What {@link OriginLeg.fetchWhole} got. */
export type WholeAnswer =
  | { kind: "answer"; status: number; message: string; head: string[]; body: Buffer }
  /**
   * Not read whole: longer than the limit, no room left in the budget, not done by the
   * deadline, or no one waiting for it any more.
   */
  | { kind: "dropped"; why: "too-big" | "no-room" | "too-slow" | "abandoned" }
  | { kind: "error"; reason: Reason; message: string };

/** What bounds one {@link OriginLeg.fetchWhole}. */
export interface WholeControl {
  /** Aborted when no one waits for the answer any more: the transfer is stopped. */
  signal?: AbortSignal;
  /** Memory shared by every read in flight: bytes are taken as they are held, given back after. */
  budget?: { take(bytes: number): boolean; give(bytes: number): void };
  /** The whole answer within this many milliseconds, or it is dropped. */
  deadlineMs?: number;
  /**
   * Told the head before the body is read (once it fits the limit and the budget); true when
   * the body is streamed to viewers as it arrives, which lifts the deadline (viewers, not a
   * clock, pace it then).
   */
  onHead?(status: number, message: string, head: string[]): boolean;
  /** Told each chunk of the body as it is read. */
  onChunk?(chunk: Buffer): void;
  /** Asked after each chunk: a promise to wait for before reading on, or undefined. */
  pace?(size: number): Promise<void> | undefined;
}

/**
 * Answers a request with the gate's refusal for `reason` (a 503 with `Retry-After`, say)
 * instead of asking the origin; with CORS on (`gateHeaders`), its `Tokengate-Reason` too.
 */
export function refuse(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  reason: Reason,
  outcome: ProxyOutcome,
  gateHeaders: readonly [string, string][] | undefined,
): void {
  outcome.reason = reason;
  const answer = rejection(reason);
  const extra = gateHeaders === undefined ? undefined : [...gateHeaders];
  extra?.push([REASON_HEADER, reason]);
  outgoing.writeHead(
    answer.status,
    STATUS_CODES[answer.status]!,
    withGateHeaders(Object.entries(answer.headers).flat(), extra),
  );
  const head = incoming.method === "HEAD";
  outgoing.end(head ? undefined : answer.body);
  outcome.bytes = head ? 0 : answer.body.length;
}

/** undici's codes for an origin that took too long. */
const TIMEOUT_CODES = new Set([
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const LENGTH_MISMATCH = "UND_ERR_RES_CONTENT_LENGTH_MISMATCH";
/** Bytes Node refuses in a reason phrase. */
const BAD_REASON = /[^\t\x20-\x7e\x80-\xff]/;

/** Ends an exchange the gate gave up on; its message goes to the log. */
class GateAbort extends Error {
  constructor(
    readonly reason: Reason | "client-timeout" | "client-gone",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Builds the origin leg once at start-up: the origin URL is parsed and the pool made here,
 * not per request.
 *
 * @example
 * ```ts
 * const leg = createOriginLeg({ origin: "http://127.0.0.1:8080", timeoutMs: 30_000, clientTimeoutMs: 60_000, connections: 512 });
 * leg.forward(req, res, "/videos/2675_abc/master.m3u8", { address: "127.0.0.1", proto: "http" }, { bytes: 0 });
 * ```
 */
export function createOriginLeg(options: OriginLegOptions): OriginLeg {
  const base = new URL(options.origin);
  const basePath = base.pathname === "/" ? "" : base.pathname;
  const { timeoutMs, clientTimeoutMs } = options;
  const pool = new Pool(base.origin, {
    connections: options.connections,
    pipelining: 1,
    // undici's own timers stand behind the gate's: headers within timeoutMs of being sent,
    // body reads at most timeoutMs apart (not counted while a slow client has the body paused).
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: {
      timeout: timeoutMs === 0 ? 10_000 : Math.min(timeoutMs, 10_000),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    },
  });
  const onError = options.onError ?? (() => {});
  const onAnswer = options.onAnswer ?? (() => {});
  const relocate = locationRewriter(options.origin);
  /** Paced (speed-limited) downloads in flight, and how many may be. */
  let pacedNow = 0;
  const pacedMax = Math.max(1, Math.floor(options.connections / 4));

  function forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    client: ClientInfo,
    outcome: ProxyOutcome,
    extra: ForwardOptions = {},
  ): void {
    const { rate, propagate, headers: gateHeaders } = extra;
    outcome.bytes = 0;
    /** A manifest's body while it is read whole, to carry a CDN token on (see manifest.ts). */
    let manifest: { kind: "hls" | "dash"; chunks: Buffer[]; size: number } | undefined;
    const paced = rate?.speed !== undefined && rate.speed > 0;
    if (paced && pacedNow >= pacedMax) {
      // Each paced download holds an origin connection for size ÷ speed; a quarter of them is
      // all such downloads may hold, so they can never starve everyone else.
      return refuse(incoming, outgoing, "pace-limit", outcome, gateHeaders);
    }
    if (paced) {
      pacedNow++;
      outgoing.once("close", () => pacedNow--);
    }
    const pace = paced ? pacer(rate!.speed!, rate!.buffer ?? 0) : undefined;
    /** Set while the body waits for its pace, as nginx's limit_rate makes it wait. */
    let paceTimer: ReturnType<typeof setTimeout> | undefined;
    let drainWaited = false;
    const method = incoming.method === "HEAD" ? "HEAD" : "GET";
    let abortOrigin: ((reason: Error) => void) | undefined;
    let resumeOrigin: (() => void) | undefined;
    let pendingAbort: GateAbort | undefined;
    /** The client's side is decided: answered, failed or gone. */
    let settled = false;
    let status = 0;
    /** The origin's head, held until the first body byte or the end, so a failure before either is still a 502. */
    let head: { message: string; list: string[] } | undefined;
    let clientTimer: ReturnType<typeof setTimeout> | undefined;

    const request: Dispatcher.DispatchOptions = {
      origin: base.origin,
      path: basePath + target,
      method,
      reset: options.keepAlive === false,
      // undici takes a flat [name, value, …] list.
      headers: originHeaders(
        incoming,
        client,
        options.forwardHeaders ?? NONE,
        rewritesManifest(propagate, target.split("?")[0]!),
      ),
    };
    let attempts = 0;
    let sentAt = 0;
    const send = () => {
      attempts++;
      abortOrigin = undefined;
      sentAt = performance.now();
      pool.dispatch(request, handler);
    };

    const settle = () => {
      settled = true;
      clearTimeout(headersTimer);
      clearTimeout(clientTimer);
      clearTimeout(paceTimer);
      outgoing.off("drain", onDrain);
    };

    /** What the client gets when the exchange fails: 502/504, a cut connection, or nothing. */
    const fail = (error: Error) => {
      if (settled) return;
      const gate = error instanceof GateAbort ? error : undefined;
      const code = (error as { code?: string }).code ?? "";
      // A kept-alive connection the origin closed as the request went out: GET and HEAD are
      // safe to send again, once, while nothing of an answer has come. Only a connection that
      // had carried answers before (bytes read) was stale; a fresh one failing is the origin's
      // own answer, and sending again would double the load of an origin that sheds it.
      if (
        gate === undefined &&
        status === 0 &&
        attempts === 1 &&
        code === "UND_ERR_SOCKET" &&
        ((error as { socket?: { bytesRead?: number } }).socket?.bytesRead ?? 0) > 0
      ) {
        return send();
      }
      settle();
      if (gate?.reason === "client-gone" || gate?.reason === "client-timeout") return;
      // A 204 or 304 has no body whatever length it states (RFC 9110 §6.4.1, §8.6); undici
      // counts a stated length as a short body, but the answer is complete.
      if ((status === 204 || status === 304) && code === LENGTH_MISMATCH && sendHead()) {
        return void outgoing.end();
      }
      const reason: Reason =
        gate?.reason === "origin-timeout" || TIMEOUT_CODES.has(code)
          ? "origin-timeout"
          : "origin-error";
      outcome.reason = reason;
      onError(reason, errorLine(error));
      // After the head, the answer is short: cut the client's connection so it knows.
      if (outgoing.headersSent || outgoing.destroyed) return void outgoing.destroy();
      const answer = rejection(reason);
      outgoing.writeHead(
        answer.status,
        STATUS_CODES[answer.status]!,
        withGateHeaders(Object.entries(answer.headers).flat(), gateHeaders),
      );
      if (method === "HEAD") return void outgoing.end();
      outgoing.end(answer.body);
      outcome.bytes = answer.body.length;
    };

    /** Ends this exchange at the gate's wish, also while it still waits for a connection. */
    const abort = (why: GateAbort) => {
      if (abortOrigin !== undefined) return void abortOrigin(why); // undici reports it back
      pendingAbort = why;
      fail(why);
    };

    /** Writes the held head; false (and the exchange aborted) when Node refuses it. */
    const sendHead = (): boolean => {
      if (head === undefined || outgoing.headersSent) return true;
      try {
        if (head.message === "") outgoing.writeHead(status, head.list);
        else outgoing.writeHead(status, head.message, head.list);
        return true;
      } catch (error) {
        abort(
          new GateAbort("origin-error", `origin answer not passed on: ${(error as Error).message}`),
        );
        return false;
      }
    };

    // Time to headers counts from now, so a request waiting for a free connection is bounded too.
    const headersTimer =
      timeoutMs > 0
        ? setTimeout(
            () => abort(new GateAbort("origin-timeout", `no response headers in ${timeoutMs} ms`)),
            timeoutMs,
          )
        : undefined;

    const onDrain = () => {
      clearTimeout(clientTimer);
      clientTimer = undefined;
      drainWaited = false;
      if (paceTimer === undefined) resumeOrigin?.();
    };

    // undici's own handler protocol (onConnect … onComplete): its core speaks it, so the raw
    // header list comes as the parser made it, without a parsed copy per response.
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abortRequest) {
        abortOrigin = abortRequest as (reason: Error) => void;
        if (pendingAbort !== undefined) abortRequest(pendingAbort);
      },
      onHeaders(code, rawHeaders, resume, statusMessage) {
        if (code < 200 || settled) return !settled; // 1xx: the final answer follows
        status = code;
        resumeOrigin = resume;
        clearTimeout(headersTimer);
        onAnswer((performance.now() - sentAt) / 1000);
        const bodyExpected = method !== "HEAD" && code !== 204 && code !== 304;
        const head0 = responseHead(rawHeaders as Buffer[], bodyExpected, relocate);
        if (typeof head0 === "string") {
          abort(new GateAbort("origin-error", head0));
          return false;
        }
        const list = withGateHeaders(head0, gateHeaders);
        // The reason phrase is only informative (RFC 9112 §4): one Node would refuse is dropped.
        head = { message: BAD_REASON.test(statusMessage ?? "") ? "" : (statusMessage ?? ""), list };
        if (propagate !== undefined && code === 200) {
          const kind = manifestKind(target.split("?")[0]!, headerOf(list, "content-type"));
          const coding = (headerOf(list, "content-encoding") ?? "identity").trim().toLowerCase();
          if (kind !== undefined && coding !== "identity") {
            // Asked for without compression (below), yet sent compressed: not text to rewrite.
            onError(
              "manifest-unchanged",
              `Content-Encoding ${coding}: passed on without the token`,
            );
          } else if (kind !== undefined && method === "HEAD") {
            // The rewritten length is known only once the body is read; HEAD has none.
            weakenEtag(list);
            markPrivate(list);
            removeHeader(list, "content-length");
          } else if (kind !== undefined) {
            manifest = { kind, chunks: [], size: 0 };
          }
        }
        return true;
      },
      onData(chunk) {
        if (manifest !== undefined && !settled) {
          manifest.chunks.push(Buffer.from(chunk));
          manifest.size += chunk.length;
          if (manifest.size <= MANIFEST_MAX_BYTES) return true;
          // Too big to hold: what was read, then the rest, unchanged.
          onError(
            "manifest-unchanged",
            `${manifest.size} bytes, over ${MANIFEST_MAX_BYTES}: passed on without the token`,
          );
          const held = Buffer.concat(manifest.chunks);
          manifest = undefined;
          chunk = held;
        }
        if (settled || !sendHead()) return false;
        outcome.bytes += chunk.length;
        const written = outgoing.write(chunk);
        const wait = pace?.(outcome.bytes) ?? 0;
        if (wait > 0) {
          paceTimer = setTimeout(() => {
            paceTimer = undefined;
            if (!drainWaited) resumeOrigin?.();
          }, wait);
        }
        if (written) return wait <= 0;
        drainWaited = true;
        outgoing.once("drain", onDrain);
        if (clientTimeoutMs > 0 && clientTimer === undefined) {
          clientTimer = setTimeout(() => {
            outcome.reason = "client-timeout";
            abort(new GateAbort("client-timeout", `client took no bytes in ${clientTimeoutMs} ms`));
            outgoing.destroy();
          }, clientTimeoutMs);
        }
        return false;
      },
      onComplete() {
        if (manifest !== undefined && !settled && head !== undefined) {
          const held = Buffer.concat(manifest.chunks);
          const result = propagateManifest(held, manifest.kind, propagate!);
          let body = held;
          if ("unchanged" in result) {
            onError("manifest-unchanged", `${result.unchanged}: passed on without the token`);
          } else {
            body = Buffer.from(result.text);
            weakenEtag(head.list);
            markPrivate(head.list);
            removeHeader(head.list, "content-length");
            head.list.push("content-length", String(body.length));
          }
          if (!sendHead()) return;
          settle();
          outcome.bytes = body.length;
          return void outgoing.end(body);
        }
        if (settled || !sendHead()) return;
        settle();
        outgoing.end();
      },
      onError: fail,
    };

    outgoing.once("close", () => {
      // The client went away first (or was cut): stop the origin transfer too.
      if (!settled) abort(new GateAbort("client-gone", "client went away"));
    });

    send();
  }

  async function fetchWhole(
    target: string,
    headers: [string, string][],
    limit: number,
    control: WholeControl = {},
  ): Promise<WholeAnswer> {
    const controller = new AbortController();
    let settled = false;
    let reserved = 0;
    const release = () => {
      if (reserved > 0) control.budget?.give(reserved);
      reserved = 0;
    };
    return new Promise<WholeAnswer>((resolve) => {
      const finish = (result: WholeAnswer, cause?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(headersTimer);
        clearTimeout(deadline);
        control.signal?.removeEventListener("abort", onAbandon);
        release();
        if (result.kind !== "answer")
          controller.abort(cause ?? new GateAbort("client-gone", "fill dropped"));
        resolve(result);
      };
      // The headers' time counts from now, waiting for a free connection included (undici
      // heeds a signal only once the request has a connection).
      const headersTimer =
        timeoutMs > 0
          ? setTimeout(() => {
              const message = `no response headers in ${timeoutMs} ms`;
              onError("origin-timeout", message);
              finish({ kind: "error", reason: "origin-timeout", message });
            }, timeoutMs)
          : undefined;
      // The whole object within its own time, or those waiting for it get it streamed instead.
      const deadline =
        control.deadlineMs !== undefined && control.deadlineMs > 0
          ? setTimeout(() => finish({ kind: "dropped", why: "too-slow" }), control.deadlineMs)
          : undefined;
      const onAbandon = () => finish({ kind: "dropped", why: "abandoned" });
      if (control.signal?.aborted) return onAbandon();
      control.signal?.addEventListener("abort", onAbandon, { once: true });
      const sentAt = performance.now();
      pool
        .request({
          path: basePath + target,
          method: "GET",
          headers: headers.flat(),
          signal: controller.signal,
        })
        .then(async (answer) => {
          if (settled) return void answer.body.destroy();
          clearTimeout(headersTimer);
          onAnswer((performance.now() - sentAt) / 1000);
          const raw: Buffer[] = [];
          for (const [name, value] of Object.entries(answer.headers)) {
            for (const one of Array.isArray(value) ? value : [value ?? ""]) {
              raw.push(Buffer.from(name, "latin1"), Buffer.from(one, "latin1"));
            }
          }
          const status = answer.statusCode;
          const head = responseHead(raw, status !== 204 && status !== 304, relocate);
          if (typeof head === "string") {
            answer.body.destroy();
            onError("origin-error", head);
            return finish({ kind: "error", reason: "origin-error", message: head });
          }
          const take = (bytes: number): boolean => {
            if (control.budget !== undefined && !control.budget.take(bytes)) return false;
            reserved += bytes;
            return true;
          };
          const stated = Number(headerOf(head, "content-length") ?? NaN);
          if (stated > limit) {
            answer.body.destroy();
            return finish({ kind: "dropped", why: "too-big" });
          }
          // Room for the whole body up front when its length is known, else as it comes.
          const known = Number.isFinite(stated);
          if (known && !take(stated)) {
            answer.body.destroy();
            return finish({ kind: "dropped", why: "no-room" });
          }
          const message = STATUS_CODES[status] ?? "";
          if (control.onHead?.(status, message, head) === true) clearTimeout(deadline);
          const chunks: Buffer[] = [];
          let size = 0;
          for await (const chunk of answer.body) {
            if (settled) return;
            size += (chunk as Buffer).length;
            if (size > limit) return finish({ kind: "dropped", why: "too-big" });
            if (!known && !take((chunk as Buffer).length)) {
              return finish({ kind: "dropped", why: "no-room" });
            }
            chunks.push(chunk as Buffer);
            control.onChunk?.(chunk as Buffer);
            const wait = control.pace?.(size);
            if (wait !== undefined) await wait;
          }
          if (settled) return;
          // undici names no reason phrase here; Node's own is as good.
          finish({
            kind: "answer",
            status,
            message,
            head,
            body: Buffer.concat(chunks, size),
          });
        })
        .catch((error: unknown) => {
          if (settled) return;
          const code = (error as { code?: string }).code ?? "";
          const reason: Reason = TIMEOUT_CODES.has(code) ? "origin-timeout" : "origin-error";
          onError(reason, errorLine(error));
          finish({ kind: "error", reason, message: errorLine(error) }, error as Error);
        });
    });
  }

  return {
    forward,
    fetchWhole,
    connections: () => pool.stats.connected,
    close: () => pool.close(),
  };
}

/**
 * The origin's response headers as the client gets them (a flat name/value list, as
 * `writeHead` takes it), or why they cannot be passed on. A transfer coding other than
 * `chunked` is refused, as nginx refuses it: llhttp undoes the chunking only, so the client
 * would get, say, gzip bytes with no header saying so; and so is a body with no framing.
 */
function responseHead(
  raw: Buffer[],
  bodyExpected: boolean,
  relocate: (location: string) => string,
): string[] | string {
  let connection = "";
  let framed = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1").toLowerCase();
    if (name === "content-length") framed = true;
    if (name === "transfer-encoding") {
      framed = true;
      const coding = raw[i + 1]!.toString("latin1");
      if (coding.trim().toLowerCase() !== "chunked") {
        return `origin sent Transfer-Encoding: ${coding}, which the gate does not pass on`;
      }
    } else if (name === "connection") {
      connection += `${raw[i + 1]!.toString("latin1")},`;
    }
  }
  // A body that ends only when the connection closes cannot be told from one cut short
  // (undici takes a reset there for the end), so it is not passed on as if whole.
  if (bodyExpected && !framed) {
    return "origin sent a body framed by neither Content-Length nor chunked";
  }
  const named = connectionTokens(connection === "" ? "" : connection.slice(0, -1));
  const head: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1");
    if (!isReturned(name.toLowerCase(), named)) continue;
    const value = raw[i + 1]!.toString("latin1");
    head.push(name, relocated(name.toLowerCase(), value, relocate));
  }
  return head;
}

/**
 * The pace of an MP4 link with `speed` (nginx's `limit_rate`) after `buffer` bytes
 * (`limit_rate_after`): given the bytes sent so far, how many milliseconds to wait before
 * reading more. Counted from the moment the first `buffer` bytes were sent.
 */
function pacer(speed: number, buffer: number): (sent: number) => number {
  let since: number | undefined;
  return (sent) => {
    if (sent <= buffer || speed <= 0) return 0;
    since ??= performance.now();
    const due = since + ((sent - buffer) / speed) * 1000;
    return Math.max(0, due - performance.now());
  };
}

const NONE: readonly string[] = [];

/**
 * The origin request's headers, flat as undici takes them; for a manifest the token is to be
 * carried into, asking for all of it, uncompressed (`manifestRequestHeaders`).
 */
function originHeaders(
  incoming: IncomingMessage,
  client: ClientInfo,
  forward: readonly string[],
  manifest: boolean,
): string[] {
  const pairs = originRequestHeaders(headerPairs(incoming.rawHeaders), client, forward);
  return (manifest ? manifestRequestHeaders(pairs) : pairs).flat();
}

/**
 * A flat header list with the gate's own headers set: same-named ones replaced, `Vary` added
 * to (so the origin's own stays true). When they are CORS headers (the gate's CORS policy always
 * says `Access-Control-Allow-Origin: *` or `Vary: Origin`), the origin's own `Access-Control-*`
 * headers are dropped first: the gate's policy is the only one. The list itself when there are
 * none.
 */
export function withGateHeaders(
  list: string[],
  gate: readonly [string, string][] | undefined,
): string[] {
  if (gate === undefined || gate.length === 0) return list;
  const cors = gate.some(
    ([name, value]) =>
      name.startsWith("access-control-") || (name === "vary" && value === "Origin"),
  );
  for (let i = list.length - 2; cors && i >= 0; i -= 2) {
    if (list[i]!.toLowerCase().startsWith("access-control-")) list.splice(i, 2);
  }
  for (const [name, value] of gate) {
    if (name !== "vary") {
      removeHeader(list, name);
      list.push(name, value);
      continue;
    }
    // Every Vary line the origin sent, as one list (RFC 9110 §5.3), plus the gate's.
    const current = headerValues(list, "vary").join(",");
    removeHeader(list, "vary");
    list.push("vary", varyWith(current, value));
  }
  return list;
}

/** Every value of header `name` in a flat `[name, value, …]` list, in order. */
export function headerValues(list: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < list.length; i += 2) {
    if (list[i]!.toLowerCase() === name) values.push(list[i + 1]!);
  }
  return values;
}

/** The value of header `name` in a flat `[name, value, …]` list, or undefined. */
export function headerOf(list: string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i]!.toLowerCase() === name) return list[i + 1];
  }
  return undefined;
}

/** Removes every `name` header from a flat list, in place. */
export function removeHeader(list: string[], name: string): void {
  for (let i = list.length - 2; i >= 0; i -= 2) {
    if (list[i]!.toLowerCase() === name) list.splice(i, 2);
  }
}

/**
 * A rewritten manifest's `Cache-Control` made private and its shared-cache lifetimes dropped
 * (`SHARED_CACHE_HEADERS`), in place (`privateCacheControl`): it carries one viewer's token.
 */
export function markPrivate(list: string[]): void {
  const values: string[] = [];
  for (let i = 0; i < list.length; i += 2) {
    if (list[i]!.toLowerCase() === "cache-control") values.push(list[i + 1]!);
  }
  removeHeader(list, "cache-control");
  list.push("cache-control", privateCacheControl(values.length ? values.join(", ") : undefined));
  for (const name of SHARED_CACHE_HEADERS) removeHeader(list, name);
}

/** A strong `ETag` made weak, in place: a rewritten body is not the origin's byte for byte. */
export function weakenEtag(list: string[]): void {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i]!.toLowerCase() === "etag" && !list[i + 1]!.startsWith("W/")) {
      list[i + 1] = `W/${list[i + 1]}`;
    }
  }
}
