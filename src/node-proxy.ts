/**
 * The Node server's way to the origin: {@link createOriginClient}'s pooled HTTP/1.1
 * connections, bodies streamed to the client with back-pressure. It replaces `fetch` on Node
 * because undici's fetch adds per-request cost and, on Node ≥ 22.19, can crash the process
 * when a slow reader is still draining a body whose origin connection closed
 * (nodejs/undici#5360); and `node:http`'s client, which cost more than half the gate's CPU.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { rejection, rejectionResponse, type Reason } from "./gate.js";
import { createOriginClient, type OriginHead } from "./origin-client.js";
import { connectionTokens, isForwarded } from "./proxy.js";

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
  /** Time until origin response headers, and at most between two body reads; 0 means none. */
  timeoutMs: number;
  /** Told about origin failures, as one line without a stack. */
  onError?: (reason: Reason, message: string) => void;
}

/**
 * Bytes that would end a header line early. node:http's parser refuses them (400) unless
 * started with --insecure-http-parser, so this is the last guard against request splitting.
 */
const BAD_VALUE = /[\0\r\n]/;

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
  const client = createOriginClient({ origin: base, timeoutMs: options.timeoutMs });
  const basePath = base.pathname === "/" ? "" : base.pathname;
  const onError = options.onError ?? (() => {});

  /** The client's end-to-end request headers as header lines for the origin. */
  function headerLines(incoming: IncomingMessage): string {
    const raw = incoming.rawHeaders;
    const named = connectionTokens(String(incoming.headers.connection ?? ""));
    let lines = "";
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      if (isForwarded(name.toLowerCase(), named) && !BAD_VALUE.test(value)) {
        lines += `${name}: ${value}\r\n`;
      }
    }
    return lines;
  }

  function forward(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    target: string,
    outcome: ProxyOutcome,
  ): void {
    outcome.bytes = 0;
    let finished = false;
    const exchange = client.request("GET", basePath + target, headerLines(incoming), {
      onHead(head: OriginHead) {
        if (head.statusText === "") outgoing.writeHead(head.status, head.headers);
        else outgoing.writeHead(head.status, head.statusText, head.headers);
      },
      onData(chunk) {
        outcome.bytes += chunk.length;
        if (outgoing.write(chunk)) return true;
        outgoing.once("drain", () => exchange.resume());
        return false;
      },
      onEnd() {
        finished = true;
        outgoing.end();
      },
      onError(timeout, message) {
        finished = true;
        const reason: Reason = timeout ? "origin-timeout" : "origin-error";
        outcome.reason = reason;
        onError(reason, message);
        // After the head the body is short: cut the client too, so it knows.
        if (outgoing.headersSent || outgoing.destroyed) return void outgoing.destroy();
        const answer = rejection(reason);
        outgoing.writeHead(answer.status, answer.headers);
        outgoing.end(answer.body);
        outcome.bytes = answer.body.length;
      },
    });
    outgoing.once("close", () => {
      // The client went away first: stop the origin transfer too.
      if (!finished) exchange.abort();
    });
  }

  function head(
    incoming: IncomingMessage,
    target: string,
    outcome: ProxyOutcome,
  ): Promise<Response> {
    outcome.bytes = 0;
    return new Promise((resolve) => {
      const fail = (reason: Reason, message: string) => {
        outcome.reason = reason;
        onError(reason, message);
        resolve(rejectionResponse(reason, true));
      };
      let answer: Response | undefined;
      client.request("HEAD", basePath + target, headerLines(incoming), {
        onHead(head) {
          const pairs: [string, string][] = [];
          for (let i = 0; i < head.headers.length; i += 2) {
            pairs.push([head.headers[i]!, head.headers[i + 1]!]);
          }
          try {
            answer = new Response(null, { status: head.status, headers: pairs });
          } catch (error) {
            fail("origin-error", `origin answer not passed on: ${(error as Error).message}`);
          }
        },
        onData: () => true,
        onEnd: () => answer !== undefined && resolve(answer),
        onError: (timeout, message) => fail(timeout ? "origin-timeout" : "origin-error", message),
      });
    });
  }

  return { forward, head, close: () => client.close() };
}
