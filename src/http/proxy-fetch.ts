/**
 * Forwarding a granted request to the origin with `fetch` and streaming the answer back
 * unchanged: the Worker's origin leg. Uses only web-standard APIs (fetch, AbortController), so
 * it also runs on Deno and Bun. Not used on Node (see `src/adapter/node/origin.ts`).
 * @module
 */
import {
  connectionTokens,
  isReturned,
  originRequestHeaders,
  relocated,
  type ClientInfo,
} from "./headers.js";
import { originFailure, rejectionResponse, type Reason } from "./refusal.js";

/** How {@link proxyFetch} reaches the origin. */
export interface ProxyOptions {
  /** Time until the origin's response headers; 0 means no limit. */
  timeoutMs: number;
  /** Who the gate saw, for `X-Forwarded-For` / `X-Forwarded-Proto`. */
  client: ClientInfo;
  /** `FORWARD_HEADERS`: request headers passed on besides the header policy's allow-list. */
  forwardHeaders?: readonly string[];
  /** An origin `Location` as the client gets it (`locationRewriter` of ORIGIN_URL), and a `Refresh`'s URL. */
  relocate?: (location: string) => string;
  /** The fetch to use (default: global fetch); tests and service bindings pass their own. */
  fetch?: typeof fetch;
  /** Called when the origin fails, with the reason; the gate's log hook. */
  onError?: (reason: Reason, error: unknown) => void;
}

/**
 * Fetches `url` from the origin for a granted request and returns the origin's response as is:
 * status, headers and a streamed body (redirects are passed back, not followed). The request
 * carries the headers of the gate's policy (`src/http/headers.ts`) and never a body. Failures
 * turn into 502 (unreachable, reset, a 1xx handed over as the answer) or 504 (no response
 * headers within `timeoutMs`); it never throws. The body is passed on untouched: wrapped in a
 * stream of the Worker's own, a `Content-Length` answer would leave chunked, and workerd ends
 * a chunked body that breaks with its last chunk, so a cut would look
 * whole to the client.
 *
 * @example
 * ```ts
 * return proxyFetch(request, "https://origin.example.com/videos/2675_abc/master.m3u8", {
 *   timeoutMs: 30_000,
 *   client: { address: request.headers.get("cf-connecting-ip") ?? undefined, proto: "https" },
 * });
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
    const response = await (options.fetch ?? fetch)(url, {
      method: request.method,
      headers: originRequestHeaders(request.headers, options.client, options.forwardHeaders ?? []),
      redirect: "manual",
      signal: controller.signal,
    });
    // workerd's fetch hands over an interim answer (100 Continue, 103 Early Hints) as the final
    // one, the real answer's head and body as its body: nothing a client could read as sent.
    if (response.status < 200) {
      response.body?.cancel().catch(() => {});
      throw new Error(`origin sent ${response.status} ${response.statusText} as its answer`);
    }
    return withoutHopByHop(response, options.relocate);
  } catch (error) {
    const reason: Reason = originFailure(timedOut);
    options.onError?.(reason, error);
    return rejectionResponse(reason, request.method === "HEAD");
  } finally {
    // Headers have arrived (or failed): the body streams on without a deadline.
    clearTimeout(timer);
  }
}

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * The origin's answer without hop-by-hop headers (the ones its `Connection` names too), as the
 * Node server returns it. The body is the origin's own stream, untouched, so the answer keeps
 * its framing; only the headers are copied.
 */
function withoutHopByHop(
  response: Response,
  relocate: ((location: string) => string) | undefined,
): Response {
  const named = connectionTokens(response.headers.get("connection") ?? "");
  // A control byte in a value (workerd lets some through) is dropped with its header.
  const kept = (name: string, value: string) => isReturned(name, named) && !CONTROL.test(value);
  const shown = (name: string, value: string) =>
    relocate === undefined ? value : relocatedJoined(name, value, relocate);
  let clean = true;
  for (const [name, value] of response.headers) {
    if (!kept(name, value) || shown(name, value) !== value) clean = false;
  }
  if (clean) return response;
  const headers = new Headers();
  for (const [name, value] of response.headers) {
    const moved = kept(name, value) ? shown(name, value) : "";
    // Dropped by the rewriter (a host it cannot tell from the origin's): not sent at all.
    if (kept(name, value) && (moved !== "" || value === "")) headers.append(name, moved);
  }
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/**
 * {@link relocated} for a value the Fetch API may have joined: two `Location`,
 * `Content-Location` or `Refresh` lines reach a Worker as one value, joined with `, `; each is
 * rewritten as a line of its own would be, and one the rewriter drops takes the header along.
 */
function relocatedJoined(
  name: string,
  value: string,
  relocate: (location: string) => string,
): string {
  // Whole first: one URL may hold ", " (in its userinfo, say) and name the origin as a whole.
  const whole = relocated(name, value, relocate);
  if (name !== "location" && name !== "content-location" && name !== "refresh") return whole;
  // Then each part of what that left: read whole, the first of two lines naming the origin
  // took the second into its path, still naming the origin.
  if (whole.indexOf(", ") < 0) return whole;
  const parts = whole.split(", ");
  for (let i = 0; i < parts.length; i++) {
    parts[i] = relocated(name, parts[i]!, relocate);
    if (parts[i] === "") return "";
  }
  return parts.join(", ");
}
