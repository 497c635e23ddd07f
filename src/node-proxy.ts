/**
 * The Node server's way to the origin: `node:http`/`node:https` with a keep-alive agent,
 * bodies piped with back-pressure. It replaces `fetch` on Node because undici's fetch adds
 * per-request cost and, on Node ≥ 22.19, can crash the process when a slow reader is still
 * draining a body whose origin connection closed (nodejs/undici#5360).
 * @module
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { rejection, rejectionResponse, type Reason } from "./gate.js";
import { connectionTokens, isForwarded } from "./proxy.js";

/** Response headers that describe the origin connection, not the resource. */
const HOP_BY_HOP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "trailer",
]);

/** What happened to one proxied request, for the access log. */
export interface ProxyOutcome {
  /** Body bytes sent to the client. */
  bytes: number;
  /** Set when the gate, not the origin, chose the status. */
  reason?: Reason;
}

/** A configured way to the origin. */
export interface NodeProxy {
  /**
   * GET: sends `target` (path and query) for `incoming` to the origin and streams the answer
   * to `outgoing`, keeping `outcome` up to date as it goes (bytes sent, failure reason). Never
   * throws; every failure becomes a 502/504 or, mid-body, a cut connection.
   */
  forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    outcome: ProxyOutcome,
  ): void;
  /**
   * HEAD: the origin's status and headers as a `Response` without a body (502/504 on
   * failure), for the app to send; never rejects.
   */
  head(incoming: IncomingMessage, target: string, outcome: ProxyOutcome): Promise<Response>;
  /** Closes idle origin connections. */
  close(): void;
}

/** Options of {@link createNodeProxy}. */
export interface NodeProxyOptions {
  /** Origin base URL without trailing slash (as `readSettings` returns it). */
  origin: string;
  /** Time until origin response headers; 0 means none. */
  timeoutMs: number;
  /** Told about origin failures, as one line without a stack. */
  onError?: (reason: Reason, message: string) => void;
}

/** What {@link createNodeProxy}'s request helper reports back. */
interface Handlers {
  response(originRes: IncomingMessage, headers: string[]): void;
  fail(reason: Reason): void;
}

/**
 * Builds the proxy once at start-up: the origin URL is parsed here, not per request.
 *
 * @example
 * ```ts
 * const proxy = createNodeProxy({ origin: "http://127.0.0.1:8080", timeoutMs: 30_000 });
 * proxy.forward(req, res, "/videos/2675_abc/master.m3u8", { bytes: 0 });
 * ```
 */
export function createNodeProxy(options: NodeProxyOptions): NodeProxy {
  const base = new URL(options.origin);
  const secure = base.protocol === "https:";
  const request = secure ? httpsRequest : httpRequest;
  const agent = new (secure ? HttpsAgent : HttpAgent)({
    keepAlive: true,
    // Segments are requested in bursts by many players; keep enough warm sockets around.
    maxFreeSockets: 256,
    scheduling: "lifo",
  });
  const hostname = base.hostname.replace(/^\[|\]$/g, "");
  const port = base.port === "" ? (secure ? 443 : 80) : Number(base.port);
  const hostHeader = base.host;
  const basePath = base.pathname === "/" ? "" : base.pathname;
  const timeoutMs = options.timeoutMs;
  const onError = options.onError ?? (() => {});

  /** Starts the origin request; exactly one of the handlers is called. */
  function send(
    incoming: IncomingMessage,
    method: "GET" | "HEAD",
    target: string,
    on: Handlers,
  ): ClientRequest {
    const raw = incoming.rawHeaders;
    const named = connectionTokens(String(incoming.headers.connection ?? ""));
    const headers: string[] = ["host", hostHeader];
    for (let i = 0; i < raw.length; i += 2) {
      if (isForwarded(raw[i]!.toLowerCase(), named)) headers.push(raw[i]!, raw[i + 1]!);
    }
    let settled = false;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const originReq = request({ hostname, port, path: basePath + target, method, headers, agent });
    originReq.on("error", (error) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      const reason: Reason = timedOut ? "origin-timeout" : "origin-error";
      onError(reason, error.message);
      on.fail(reason);
    });
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        originReq.destroy(new Error(`no response headers within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    originReq.on("response", (originRes) => {
      clearTimeout(timer);
      if (settled) return void originRes.destroy();
      settled = true;
      const out: string[] = [];
      const rawOut = originRes.rawHeaders;
      for (let i = 0; i < rawOut.length; i += 2) {
        if (!HOP_BY_HOP_RESPONSE.has(rawOut[i]!.toLowerCase()))
          out.push(rawOut[i]!, rawOut[i + 1]!);
      }
      on.response(originRes, out);
    });
    originReq.end();
    return originReq;
  }

  function forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    outcome: ProxyOutcome,
  ): void {
    outcome.bytes = 0;
    let clientGone = false;
    const originReq = send(incoming, "GET", target, {
      fail(reason) {
        outcome.reason = reason;
        if (outgoing.headersSent || outgoing.destroyed) return void outgoing.destroy();
        const answer = rejection(reason);
        outgoing.writeHead(answer.status, answer.headers);
        outgoing.end(answer.body);
        outcome.bytes = answer.body.length;
      },
      response(originRes, headers) {
        if (outgoing.headersSent || outgoing.destroyed) return void originRes.destroy();
        const status = originRes.statusCode ?? 502;
        outgoing.writeHead(status, originRes.statusMessage, headers);
        if (status === 204 || status === 304) {
          originRes.resume();
          return void outgoing.end();
        }
        originRes.on("data", (chunk: Buffer) => {
          outcome.bytes += chunk.length;
        });
        originRes.on("error", () => {
          if (clientGone) return; // we destroyed it because the client left
          // The origin cut the body short: cut the client too, so it knows the body is short.
          outcome.reason = "origin-error";
          onError("origin-error", "origin closed the connection mid-body");
          outgoing.destroy();
        });
        // pipe(), not pipeline(): the same back-pressure without an AbortController (and the
        // DOMException its abort builds) per response, which profiling showed at ~7% of CPU.
        originRes.pipe(outgoing);
      },
    });
    outgoing.once("close", () => {
      clientGone = !outgoing.writableFinished;
      // The client went away first: stop the origin transfer too.
      if (clientGone && !originReq.destroyed) originReq.destroy();
    });
  }

  function head(
    incoming: IncomingMessage,
    target: string,
    outcome: ProxyOutcome,
  ): Promise<Response> {
    outcome.bytes = 0;
    return new Promise((resolve) => {
      send(incoming, "HEAD", target, {
        fail(reason) {
          outcome.reason = reason;
          resolve(rejectionResponse(reason, true));
        },
        response(originRes, headers) {
          originRes.resume();
          const pairs: [string, string][] = [];
          for (let i = 0; i < headers.length; i += 2) pairs.push([headers[i]!, headers[i + 1]!]);
          resolve(new Response(null, { status: originRes.statusCode ?? 502, headers: pairs }));
        },
      });
    });
  }

  return { forward, head, close: () => agent.destroy() };
}
