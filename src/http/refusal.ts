/**
 * The gate's refusals as HTTP answers: one status, fixed headers and a one-line body for each
 * reason, the same from the Worker, the Node server and the middleware.
 * @module
 */
import type { RefusalReason } from "../core/decide.js";

/** Why the gate, not the origin, chose the status: a refusal of the link, or of the request. */
export type Reason =
  | RefusalReason
  | "not-found"
  | "misconfigured"
  | "origin-error"
  | "origin-timeout"
  | "pace-limit"
  | "client-limit";

/** Timeout codes of undici (the Node origin leg's client): the origin took too long. */
const TIMEOUT_CODES: readonly string[] = [
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
];

/**
 * The one mapping of an origin failure to the gate's answer: `origin-timeout` (504) when the
 * gate's own clock for the origin ran out or the client's `code` says it timed out, else
 * `origin-error` (502). nginx's config maps its own 502/504 the same way.
 *
 * @example
 * ```ts
 * originFailure(false, "ECONNREFUSED"); // "origin-error"
 * ```
 */
export function originFailure(timedOut: boolean, code = ""): "origin-error" | "origin-timeout" {
  return timedOut || TIMEOUT_CODES.indexOf(code) >= 0 ? "origin-timeout" : "origin-error";
}

/** Plain-text bodies: short, fixed, and never carrying a token or the secret. */
const MESSAGES: Record<Reason, string> = {
  "not-found": "Not Found\n",
  method: "Method Not Allowed\n",
  "unsafe-path": "Forbidden: unsafe path\n",
  malformed: "Forbidden: malformed link\n",
  "bad-token": "Forbidden: invalid token\n",
  expired: "Gone: link expired\n",
  misconfigured: "Internal Server Error: the gate is misconfigured\n",
  "origin-error": "Bad Gateway: the origin could not be reached\n",
  "origin-timeout": "Gateway Timeout: the origin did not answer in time\n",
  "pace-limit": "Service Unavailable: too many speed-limited downloads, try again shortly\n",
  "client-limit": "Service Unavailable: too many downloads from this address, try again shortly\n",
};

/** The status each refusal is answered with. */
const STATUS: Record<Reason, number> = {
  "not-found": 404,
  method: 405,
  "unsafe-path": 403,
  malformed: 403,
  "bad-token": 403,
  expired: 410,
  misconfigured: 500,
  "origin-error": 502,
  "origin-timeout": 504,
  "pace-limit": 503,
  "client-limit": 503,
};

// Every refusal carries `Cache-Control: no-store` so no cache keeps it; 405 also `Allow`.
const PLAIN_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
});
const METHOD_HEADERS = Object.freeze({ ...PLAIN_HEADERS, allow: "GET, HEAD" });
// A 503 is a share of the origin taken now, soon given back: a player may ask again shortly.
const BUSY_HEADERS = Object.freeze({ ...PLAIN_HEADERS, "retry-after": "5" });
const encoder = new TextEncoder();

/**
 * The status, headers and body the gate answers a refusal with.
 *
 * @param reason - Why; it decides the status (403, 404, 405, 410, 500, 502, 503 or 504).
 * @param body - Replaces the fixed one-line body (e.g. to name a bad setting).
 * @example
 * ```ts
 * const { status, headers, body } = rejection("not-found"); // 404
 * ```
 */
export function rejection(
  reason: Reason,
  body: string = MESSAGES[reason],
): { status: number; headers: Readonly<Record<string, string>>; body: string } {
  const base =
    reason === "method" ? METHOD_HEADERS : STATUS[reason] === 503 ? BUSY_HEADERS : PLAIN_HEADERS;
  // A stated length lets a client (and the access log) tell the whole answer from a cut one.
  const headers = { ...base, "content-length": String(encoder.encode(body).length) };
  return { status: STATUS[reason], headers, body };
}

/**
 * A refusal as a `Response`; without a body when it answers a HEAD request.
 *
 * @example
 * ```ts
 * return rejectionResponse("origin-error", request.method === "HEAD"); // 502
 * ```
 */
export function rejectionResponse(reason: Reason, head = false, body?: string): Response {
  const answer = rejection(reason, body);
  return new Response(head ? null : answer.body, {
    status: answer.status,
    headers: answer.headers,
  });
}

/**
 * An error as one short line for the log: its message and, for network errors, its code or
 * its cause's (undici's errors carry one, fetch's wrap one); never a stack.
 *
 * @example
 * ```ts
 * errorLine(new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } })); // "fetch failed (ECONNREFUSED)"
 * ```
 */
export function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code =
      (error as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
