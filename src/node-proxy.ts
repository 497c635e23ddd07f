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
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { pipeline } from "node:stream";
import { rejection, type Reason } from "./gate.js";
import { isForwarded } from "./proxy.js";

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
   * Sends `target` (path and query) for `incoming` to the origin and streams the answer to
   * `outgoing`, keeping `outcome` up to date as it goes (bytes sent, failure reason). Never
   * throws; every failure becomes a 502/504 or, mid-body, a cut connection.
   */
  forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    outcome: ProxyOutcome,
  ): void;
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

  function forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    outcome: ProxyOutcome,
  ): void {
    outcome.bytes = 0;
    const method = incoming.method === "HEAD" ? "HEAD" : "GET";
    const raw = incoming.rawHeaders;
    const connection = String(incoming.headers.connection ?? "").toLowerCase();
    const headers: string[] = ["host", hostHeader];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (isForwarded(name, connection)) headers.push(raw[i]!, raw[i + 1]!);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let answered = false;
    let timedOut = false;
    const originReq = request({
      hostname,
      port,
      path: basePath + target,
      method,
      headers,
      agent,
    });

    const fail = (reason: Reason, error: unknown): void => {
      clearTimeout(timer);
      if (answered) return;
      answered = true;
      onError(reason, error instanceof Error ? error.message : String(error));
      outcome.reason = reason;
      if (outgoing.headersSent || outgoing.destroyed) {
        // Mid-body: the status is gone; cutting the connection tells the client it is short.
        outgoing.destroy();
        return;
      }
      const answer = rejection(reason === "origin-timeout" ? 504 : 502, reason);
      outgoing.writeHead(answer.status, answer.headers);
      outgoing.end(method === "HEAD" ? undefined : answer.body);
      outcome.bytes = method === "HEAD" ? 0 : Buffer.byteLength(answer.body);
    };

    let clientGone = false;
    outgoing.once("close", () => {
      clearTimeout(timer);
      clientGone = !outgoing.writableFinished;
      // The client went away first: stop the origin transfer too.
      if (!originReq.destroyed && !outgoing.writableFinished) originReq.destroy();
    });
    originReq.on("error", (error) => fail(timedOut ? "origin-timeout" : "origin-error", error));
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        originReq.destroy(new Error(`no response headers within ${timeoutMs} ms`));
      }, timeoutMs);
    }

    originReq.on("response", (originRes) => {
      clearTimeout(timer);
      if (answered) return originRes.destroy();
      answered = true;
      const out: string[] = [];
      const rawOut = originRes.rawHeaders;
      for (let i = 0; i < rawOut.length; i += 2) {
        if (!HOP_BY_HOP_RESPONSE.has(rawOut[i]!.toLowerCase()))
          out.push(rawOut[i]!, rawOut[i + 1]!);
      }
      const status = originRes.statusCode ?? 502;
      outgoing.writeHead(status, originRes.statusMessage, out);
      if (method === "HEAD" || status === 204 || status === 304) {
        originRes.resume();
        outgoing.end();
        return;
      }
      originRes.on("data", (chunk: Buffer) => {
        outcome.bytes += chunk.length;
      });
      originRes.on("error", () => {
        if (clientGone) return; // we destroyed it because the client left
        // The origin cut the body short; pipeline then cuts the client's connection too.
        outcome.reason = "origin-error";
        onError("origin-error", "origin closed the connection mid-body");
      });
      pipeline(originRes, outgoing, () => {
        // Errors are settled above or by the client leaving; both streams are destroyed.
      });
    });
    originReq.end();
  }

  return { forward, close: () => agent.destroy() };
}
