/**
 * Forwarding a granted request to the origin with `fetch` and streaming the answer back
 * unchanged. Uses only web-standard APIs (fetch, Headers, AbortController), so it runs on
 * Workers, Node, Deno and Bun.
 * @module
 */
import { rejectionResponse, type Reason } from "./gate.js";

/**
 * Request headers never forwarded: hop-by-hop headers (RFC 9110 §7.6.1), the client's
 * credentials for the gate's own host, and `Host`, which must name the origin.
 */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "cookie",
  "authorization",
  "content-length",
  "expect",
]);

/**
 * The header names a `Connection` header lists (RFC 9110 §7.6.1): hop-by-hop for this request.
 * Parsed once per request; most clients send only `keep-alive`, which is dropped anyway.
 *
 * @param connection - The request's `Connection` header value, or "".
 * @example
 * ```ts
 * connectionTokens("keep-alive, X-Hop"); // ["keep-alive", "x-hop"]
 * ```
 */
export function connectionTokens(connection: string): readonly string[] {
  if (connection === "" || connection.toLowerCase() === "keep-alive") return NO_TOKENS;
  return connection
    .toLowerCase()
    .split(",")
    .map((token) => token.trim());
}
const NO_TOKENS: readonly string[] = [];

/**
 * Whether a request header goes on to the origin: end-to-end headers (`Range`,
 * `If-None-Match`, `Accept*`, …) do; hop-by-hop ones, `Cookie`, `Authorization`, `Host` and
 * any header the `Connection` header names do not.
 *
 * @param name - Lower-case header name.
 * @param named - {@link connectionTokens} of the request.
 * @example
 * ```ts
 * isForwarded("range", []); // true
 * ```
 */
export function isForwarded(name: string, named: readonly string[]): boolean {
  return !DROPPED.has(name) && (named.length === 0 || !named.includes(name));
}

/**
 * The headers to send to the origin for a client's request headers.
 *
 * @example
 * ```ts
 * fetch(url, { headers: forwardHeaders(request.headers) });
 * ```
 */
export function forwardHeaders(headers: Headers): Headers {
  const named = connectionTokens(headers.get("connection") ?? "");
  const out = new Headers();
  headers.forEach((value, name) => {
    if (isForwarded(name, named)) out.append(name, value);
  });
  return out;
}

/** How {@link proxyFetch} reaches the origin. */
export interface ProxyOptions {
  /** Time until the origin's response headers; 0 means no limit. */
  timeoutMs: number;
  /** The fetch to use (default: global fetch); tests and service bindings pass their own. */
  fetch?: typeof fetch;
  /** Called when the origin fails, with the reason; the gate's log hook. */
  onError?: (reason: Reason, error: unknown) => void;
}

/**
 * Fetches `url` from the origin for a granted request and returns the origin's response as is:
 * status, headers and a streamed body (redirects are passed back, not followed). Failures turn
 * into 502 (unreachable, reset) or 504 (no response headers within `timeoutMs`); it never throws.
 *
 * @example
 * ```ts
 * return proxyFetch(request, "https://origin.example.com/videos/2675_abc/master.m3u8", { timeoutMs: 30_000 });
 * ```
 */
export async function proxyFetch(
  request: Request,
  url: string,
  options: ProxyOptions,
): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer =
    options.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, options.timeoutMs)
      : undefined;
  try {
    return await (options.fetch ?? fetch)(url, {
      method: request.method,
      headers: forwardHeaders(request.headers),
      redirect: "manual",
      signal: controller.signal,
    });
  } catch (error) {
    const reason: Reason = timedOut ? "origin-timeout" : "origin-error";
    options.onError?.(reason, error);
    return rejectionResponse(reason, request.method === "HEAD");
  } finally {
    // Headers have arrived (or failed): the body streams on without a deadline.
    clearTimeout(timer);
  }
}
