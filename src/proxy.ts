/**
 * Forwarding a granted request to the origin with `fetch` and streaming the answer back
 * unchanged. Uses only web-standard APIs (fetch, Headers, AbortController), so it runs on
 * Workers, Node, Deno and Bun.
 * @module
 */
import { rejection, type Reason } from "./gate.js";

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
 * Whether a request header goes on to the origin: end-to-end headers (`Range`,
 * `If-None-Match`, `Accept*`, …) do; hop-by-hop ones, `Cookie`, `Authorization`, `Host` and
 * any header the `Connection` header names do not.
 *
 * @param name - Lower-case header name.
 * @param connection - The lower-case value of the request's `Connection` header, or "".
 * @example
 * ```ts
 * isForwarded("range", ""); // true
 * ```
 */
export function isForwarded(name: string, connection: string): boolean {
  if (DROPPED.has(name)) return false;
  if (connection === "") return true;
  return !connection.split(",").some((token) => token.trim() === name);
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
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const out = new Headers();
  headers.forEach((value, name) => {
    if (isForwarded(name, connection)) out.append(name, value);
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
    const { status, headers, body } = rejection(timedOut ? 504 : 502, reason);
    return new Response(request.method === "HEAD" ? null : body, { status, headers });
  } finally {
    // Headers have arrived (or failed): the body streams on without a deadline.
    clearTimeout(timer);
  }
}
