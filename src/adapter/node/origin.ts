/**
 * The Node server's way to the origin: an undici `Pool` (llhttp, the parser node:http uses)
 * with bodies streamed to the client under back-pressure. Not `fetch`: on Node it can crash
 * the process when a slow reader is still draining a body whose origin connection closed
 * (nodejs/undici#5360). GET and HEAD take this one path.
 * @module
 */
import {
  STATUS_CODES,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
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
import { MANIFEST_MAX_BYTES, propagateManifest } from "../../core/manifest.js";
import {
  manifestHeaderEdit,
  manifestPlan,
  manifestRequestHeaders,
  rewritesManifest,
} from "../../http/manifest-headers.js";
import { corsEdit, corsHeaders, type CorsOrigins } from "../../http/cors.js";
import { errorLine, originFailure, rejection, type Reason } from "../../http/refusal.js";

/** What happened to one proxied request, for the access log. */
export interface ProxyOutcome {
  /** Body bytes sent to the client. */
  bytes: number;
  /** Set when the gate, not the origin, chose the status or cut the answer. */
  reason?: Reason | "client-timeout";
  /** The status the origin answered this request with, when it was asked (nginx's $upstream_status). */
  upstreamStatus?: number;
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
   * `CORS_ORIGINS`, whose headers go on whatever the gate answers, the origin's or its own
   * 502/503/504 (`corsHeaders`, applied by {@link withCors}).
   */
  cors?: CorsOrigins;
  /** The gate's `X-Cache`, for an answer a cache could have given (CACHE=on). */
  xCache?: "MISS";
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
  /** Writes a line about a request as an origin failure is written (the cache's manifests). */
  note(reason: "manifest-unchanged", message: string): void;
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
 * instead of asking the origin; with CORS on (`cors`), its headers too.
 */
export function refuse(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  reason: Reason,
  outcome: ProxyOutcome,
  cors: CorsOrigins | undefined,
  body?: string,
): void {
  outcome.reason = reason;
  const answer = rejection(reason, body);
  outgoing.writeHead(
    answer.status,
    STATUS_CODES[answer.status]!,
    withCors(Object.entries(answer.headers).flat(), cors, incoming, reason),
  );
  const head = incoming.method === "HEAD";
  outgoing.end(head ? undefined : answer.body);
  outcome.bytes = head ? 0 : answer.body.length;
}

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

  const leg: Leg = {
    pool,
    origin: base.origin,
    basePath,
    timeoutMs,
    clientTimeoutMs,
    keepAlive: options.keepAlive !== false,
    forwardHeaders: options.forwardHeaders ?? NONE,
    onError,
    onAnswer,
    relocate,
  };

  function forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    client: ClientInfo,
    outcome: ProxyOutcome,
    extra: ForwardOptions = {},
  ): void {
    outcome.bytes = 0;
    const rate = extra.rate;
    const paced = rate?.speed !== undefined && rate.speed > 0;
    if (paced && pacedNow >= pacedMax) {
      // Each paced download holds an origin connection for size ÷ speed; a quarter of them is
      // all such downloads may hold, so they can never starve everyone else.
      return refuse(incoming, outgoing, "pace-limit", outcome, extra.cors);
    }
    if (paced) {
      pacedNow++;
      outgoing.once("close", () => pacedNow--);
    }
    const pace = paced ? pacer(rate!.speed!, rate!.buffer ?? 0) : undefined;
    new OriginExchange(leg, incoming, outgoing, target, client, outcome, extra, pace).send();
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
      let sentAt = 0;
      const attempt = (attempts: number) => {
        sentAt = performance.now();
        pool
          .request({
            path: basePath + target,
            method: "GET",
            headers: headers.flat(),
            signal: controller.signal,
          })
          .then(readAnswer, (error: unknown) => {
            // The fill's GET again, once, as OriginExchange sends one (staleConnection).
            if (!settled && attempts === 1 && staleConnection(error)) attempt(2);
            else onFailure(error);
          })
          .catch(onFailure);
      };
      const onFailure = (error: unknown) => {
        if (settled) return;
        const reason = failureReason(error);
        onError(reason, errorLine(error));
        finish({ kind: "error", reason, message: errorLine(error) }, error as Error);
      };
      const readAnswer = async (answer: Dispatcher.ResponseData) => {
        if (settled) return void answer.body.destroy();
        clearTimeout(headersTimer);
        onAnswer((performance.now() - sentAt) / 1000);
        const status = answer.statusCode;
        const raw = flatHeaders(answer.headers);
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
      };
      attempt(1);
    });
  }

  return {
    forward,
    fetchWhole,
    note: onError,
    connections: () => pool.stats.connected,
    close: () => pool.close(),
  };
}

/** What every exchange of one origin leg shares. */
interface Leg {
  readonly pool: Pool;
  readonly origin: string;
  readonly basePath: string;
  readonly timeoutMs: number;
  readonly clientTimeoutMs: number;
  readonly keepAlive: boolean;
  readonly forwardHeaders: readonly string[];
  readonly onError: (reason: Reason | "manifest-unchanged", message: string) => void;
  readonly onAnswer: (seconds: number) => void;
  readonly relocate: (location: string) => string;
}

/** An origin failure as the gate answers it (`originFailure`): the gate's clock or undici's. */
function failureReason(error: unknown): Reason {
  const code = (error as { code?: string }).code ?? "";
  return originFailure(error instanceof GateAbort && error.reason === "origin-timeout", code);
}

/**
 * A manifest's body while it is read whole, to carry a CDN token on (see manifest.ts); past
 * {@link MANIFEST_MAX_BYTES} it gives back what it held, to be passed on unchanged.
 */
class ManifestBody {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(readonly kind: "hls" | "dash") {}

  /** Holds `chunk`; the bytes held so far once the body is too big to hold (then done). */
  add(chunk: Uint8Array): Buffer | undefined {
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    if (this.size <= MANIFEST_MAX_BYTES) return undefined;
    return Buffer.concat(this.chunks);
  }

  get bytes(): number {
    return this.size;
  }

  /** The whole body, with the head made to say it was rewritten when it was. */
  finish(propagate: string, list: string[], onError: Leg["onError"]): Buffer {
    const held = Buffer.concat(this.chunks);
    const result = propagateManifest(held, this.kind, propagate);
    if ("unchanged" in result) {
      onError("manifest-unchanged", `${result.unchanged}: passed on without the token`);
      return held;
    }
    const body = Buffer.from(result.text);
    markManifest(list);
    list.push("content-length", String(body.length));
    return body;
  }
}

/**
 * Whether a request failed on a kept-alive connection the origin closed as it went out: GET
 * and HEAD are safe to send again, once, while nothing of an answer has come. Only a
 * connection that had carried answers before (bytes read) was stale; a fresh one failing is
 * the origin's own answer, and sending again would double the load of an origin that sheds it.
 */
function staleConnection(error: unknown): boolean {
  return (
    (error as { code?: string }).code === "UND_ERR_SOCKET" &&
    ((error as { socket?: { bytesRead?: number } }).socket?.bytesRead ?? 0) > 0
  );
}

/**
 * One request to the origin and its answer streamed to the client, on undici's handler API
 * (`onRequestStart` … `onResponseEnd`, the controller's pause, resume and abort). The body
 * goes on as it comes (under the client's back-pressure and, for a paced MP4 link, its
 * pace), or, for a manifest a token is carried into, whole once read.
 */
class OriginExchange implements Dispatcher.DispatchHandler {
  private readonly method: "GET" | "HEAD";
  private readonly request: Dispatcher.DispatchOptions;
  private controller: Dispatcher.DispatchController | undefined;
  /** An abort asked for before undici gave a controller, passed on when it does. */
  private pendingAbort: GateAbort | undefined;
  /** The client's side is decided: answered, failed or gone. */
  private settled = false;
  private status = 0;
  /** The origin's head, held until the first body byte or the end, so a failure before either is still a 502. */
  private head: { message: string; list: string[] } | undefined;
  private manifest: ManifestBody | undefined;
  private attempts = 0;
  private sentAt = 0;
  private headersTimer: ReturnType<typeof setTimeout> | undefined;
  private clientTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while the body waits for its pace, as nginx's limit_rate makes it wait. */
  private paceTimer: ReturnType<typeof setTimeout> | undefined;
  private drainWaited = false;

  constructor(
    private readonly leg: Leg,
    private readonly incoming: IncomingMessage,
    private readonly outgoing: ServerResponse,
    private readonly target: string,
    client: ClientInfo,
    private readonly outcome: ProxyOutcome,
    private readonly extra: ForwardOptions,
    private readonly pace: ((sent: number) => number) | undefined,
  ) {
    this.method = incoming.method === "HEAD" ? "HEAD" : "GET";
    this.request = {
      origin: leg.origin,
      path: leg.basePath + target,
      method: this.method,
      reset: !leg.keepAlive,
      // undici takes a flat [name, value, …] list.
      headers: originHeaders(
        incoming,
        client,
        leg.forwardHeaders,
        rewritesManifest(extra.propagate, target.split("?")[0]!),
      ),
    };
    // Time to headers counts from now, so a request waiting for a free connection is bounded too.
    if (leg.timeoutMs > 0) {
      this.headersTimer = setTimeout(
        () =>
          this.abort(new GateAbort("origin-timeout", `no response headers in ${leg.timeoutMs} ms`)),
        leg.timeoutMs,
      );
    }
    outgoing.once("close", () => {
      // The client went away first (or was cut): stop the origin transfer too.
      if (!this.settled) this.abort(new GateAbort("client-gone", "client went away"));
    });
  }
  /** The gate's own headers on an answer: CORS (`withCors`), and `X-Cache` with a cache on. */
  private gateHeaders(list: string[]): string[] {
    withCors(list, this.extra.cors, this.incoming);
    if (this.extra.xCache !== undefined) {
      removeHeader(list, "x-cache");
      list.push("x-cache", this.extra.xCache);
    }
    return list;
  }

  send(): void {
    this.attempts++;
    this.controller = undefined;
    this.sentAt = performance.now();
    this.leg.pool.dispatch(this.request, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort !== undefined) controller.abort(this.pendingAbort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    code: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (this.settled) return controller.pause();
    if (code < 200) return; // 1xx: the final answer follows
    this.status = code;
    this.outcome.upstreamStatus = code;
    clearTimeout(this.headersTimer);
    this.leg.onAnswer((performance.now() - this.sentAt) / 1000);
    const bodyExpected = this.method !== "HEAD" && code !== 204 && code !== 304;
    const head = responseHead(rawHeadersOf(controller, headers), bodyExpected, this.leg.relocate);
    if (typeof head === "string") {
      controller.pause();
      return this.abort(new GateAbort("origin-error", head));
    }
    const list = this.gateHeaders(head);
    // The reason phrase is only informative (RFC 9112 §4): one Node would refuse is dropped.
    const message = BAD_REASON.test(statusMessage ?? "") ? "" : (statusMessage ?? "");
    this.head = { message, list };
    const propagate = this.extra.propagate;
    if (propagate === undefined || code !== 200) return;
    const plan = manifestPlan(
      code,
      this.target.split("?")[0]!,
      headerOf(list, "content-type"),
      headerOf(list, "content-encoding"),
    );
    if (plan === undefined) return;
    if ("unchanged" in plan) return this.leg.onError("manifest-unchanged", plan.unchanged);
    // HEAD: the rewritten length is known only once the body is read, and HEAD has none.
    if (this.method === "HEAD") markManifest(list);
    else this.manifest = new ManifestBody(plan.kind);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.manifest !== undefined && !this.settled) {
      const held = this.manifest.add(chunk);
      if (held === undefined) return;
      // Too big to hold: what was read, then the rest, unchanged.
      this.leg.onError(
        "manifest-unchanged",
        `${this.manifest.bytes} bytes, over ${MANIFEST_MAX_BYTES}: passed on without the token`,
      );
      this.manifest = undefined;
      chunk = held;
    }
    if (this.settled || !this.sendHead()) return controller.pause();
    this.passOn(controller, chunk);
  }

  /** Writes a chunk of the body, pausing the origin for the client's back-pressure and the pace. */
  private passOn(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.outcome.bytes += chunk.length;
    const written = this.outgoing.write(chunk);
    const wait = this.pace?.(this.outcome.bytes) ?? 0;
    if (wait > 0) {
      this.paceTimer = setTimeout(() => {
        this.paceTimer = undefined;
        if (!this.drainWaited) this.controller?.resume();
      }, wait);
    }
    if (written) {
      if (wait > 0) controller.pause();
      return;
    }
    controller.pause();
    this.drainWaited = true;
    this.outgoing.once("drain", this.onDrain);
    const clientTimeoutMs = this.leg.clientTimeoutMs;
    if (clientTimeoutMs > 0 && this.clientTimer === undefined) {
      this.clientTimer = setTimeout(() => {
        this.outcome.reason = "client-timeout";
        this.abort(
          new GateAbort("client-timeout", `client took no bytes in ${clientTimeoutMs} ms`),
        );
        this.outgoing.destroy();
      }, clientTimeoutMs);
    }
  }

  private readonly onDrain = (): void => {
    clearTimeout(this.clientTimer);
    this.clientTimer = undefined;
    this.drainWaited = false;
    if (this.paceTimer === undefined) this.controller?.resume();
  };

  onResponseEnd(): void {
    if (this.settled || this.head === undefined) return;
    let body: Buffer | undefined;
    if (this.manifest !== undefined) {
      body = this.manifest.finish(this.extra.propagate!, this.head.list, this.leg.onError);
    }
    if (!this.sendHead()) return;
    this.settle();
    if (body !== undefined) this.outcome.bytes = body.length;
    this.outgoing.end(body);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.headersTimer);
    clearTimeout(this.clientTimer);
    clearTimeout(this.paceTimer);
    this.outgoing.off("drain", this.onDrain);
  }

  /** What the client gets when the exchange fails: 502/504, a cut connection, or nothing. */
  private fail(error: Error): void {
    if (this.settled) return;
    const gate = error instanceof GateAbort ? error : undefined;
    const code = (error as { code?: string }).code ?? "";
    // Sent again, once, while nothing of an answer has come.
    if (gate === undefined && this.status === 0 && this.attempts === 1 && staleConnection(error)) {
      return this.send();
    }
    this.settle();
    if (gate?.reason === "client-gone" || gate?.reason === "client-timeout") return;
    const outgoing = this.outgoing;
    // A 204 or 304 has no body whatever length it states (RFC 9110 §6.4.1, §8.6); undici
    // counts a stated length as a short body, but the answer is complete.
    if ((this.status === 204 || this.status === 304) && code === LENGTH_MISMATCH) {
      if (this.sendHead()) return void outgoing.end();
    }
    const reason = failureReason(error);
    this.outcome.reason = reason;
    this.leg.onError(reason, errorLine(error));
    // After the head, the answer is short: cut the client's connection so it knows.
    if (outgoing.headersSent || outgoing.destroyed) return void outgoing.destroy();
    const answer = rejection(reason);
    outgoing.writeHead(
      answer.status,
      STATUS_CODES[answer.status]!,
      this.gateHeaders(Object.entries(answer.headers).flat()),
    );
    if (this.method === "HEAD") return void outgoing.end();
    outgoing.end(answer.body);
    this.outcome.bytes = answer.body.length;
  }

  /** Ends this exchange at the gate's wish, also while it still waits for a connection. */
  private abort(why: GateAbort): void {
    if (this.controller !== undefined) return this.controller.abort(why); // undici reports it back
    this.pendingAbort = why;
    this.fail(why);
  }

  /** Writes the held head; false (and the exchange aborted) when Node refuses it. */
  private sendHead(): boolean {
    const head = this.head;
    if (head === undefined || this.outgoing.headersSent) return true;
    try {
      if (head.message === "") this.outgoing.writeHead(this.status, head.list);
      else this.outgoing.writeHead(this.status, head.message, head.list);
      return true;
    } catch (error) {
      this.abort(
        new GateAbort("origin-error", `origin answer not passed on: ${(error as Error).message}`),
      );
      return false;
    }
  }
}

/**
 * The response head as the parser read it (names as sent, in order): undici 7 hands its
 * controller the raw list; without it, the parsed headers flattened back.
 */
function rawHeadersOf(
  controller: Dispatcher.DispatchController,
  headers: IncomingHttpHeaders,
): Buffer[] {
  const raw = controller.rawHeaders;
  if (!Array.isArray(raw)) return flatHeaders(headers);
  return raw.map((one) => (typeof one === "string" ? Buffer.from(one, "latin1") : one));
}

/** Parsed headers as a flat raw list, as the parser would have made it (names lower case). */
function flatHeaders(headers: IncomingHttpHeaders): Buffer[] {
  const list: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value ?? ""]) {
      list.push(Buffer.from(name, "latin1"), Buffer.from(one, "latin1"));
    }
  }
  return list;
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
    const shown = relocated(name.toLowerCase(), value, relocate);
    // Dropped by the rewriter (a host it cannot tell from the origin's): not sent at all.
    if (shown !== "" || value === "") head.push(name, shown);
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
 * A flat header list with the gate's CORS headers for `incoming` (`corsHeaders`, a refusal's
 * `reason` among them) set by the CORS rule (`corsEdit`): the origin's own `Access-Control-*`
 * dropped, `Vary` added to. The list itself with CORS off.
 */
export function withCors(
  list: string[],
  cors: CorsOrigins | undefined,
  incoming: IncomingMessage,
  reason?: Reason,
): string[] {
  if (cors === undefined) return list;
  const names: string[] = [];
  for (let i = 0; i < list.length; i += 2) names.push(list[i]!);
  // Every Vary line the origin sent, as one list (RFC 9110 §5.3).
  const edit = corsEdit(
    names,
    headerValues(list, "vary").join(","),
    corsHeaders(cors, incoming.headers.origin, reason),
  );
  for (const name of edit.drop) removeHeader(list, name.toLowerCase());
  for (const [name, value] of edit.set) {
    removeHeader(list, name);
    list.push(name, value);
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
 * A rewritten manifest's head, in place, by the one rule (`manifestHeaderEdit`): no
 * `Content-Length` (the caller states the new one when it knows it), a weak `ETag`, a private
 * `Cache-Control`, no shared caches' headers.
 */
export function markManifest(list: string[]): void {
  const names: string[] = [];
  for (let i = 0; i < list.length; i += 2) names.push(list[i]!);
  const control = headerValues(list, "cache-control");
  const edit = manifestHeaderEdit(
    names,
    headerOf(list, "etag"),
    control.length ? control.join(", ") : undefined,
  );
  for (const name of edit.drop) removeHeader(list, name.toLowerCase());
  for (const [name, value] of edit.set) {
    removeHeader(list, name);
    list.push(name, value);
  }
}
