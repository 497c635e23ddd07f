/**
 * CORS for players on other origins (`CORS_ORIGINS`): a browser hides the status of an answer
 * without `Access-Control-Allow-Origin`, so a player could not tell an expired link (410, fetch
 * a new one) from a forbidden one (403). Every answer under a guarded prefix carries the
 * headers, refusals included; `OPTIONS` there is a preflight. Pure header arithmetic, shared
 * by the Hono app (the Worker) and the Node server.
 * @module
 */
import { isGuarded, type GateSettings } from "../core/decide.js";

/** The origins whose pages may read the gate's answers: `*` (any), or exact origins. */
export type CorsOrigins = "*" | readonly string[];

/** What a player may read besides the CORS-safelisted headers. */
export const EXPOSED_HEADERS = "Content-Length,Content-Range,Accept-Ranges,Tokengate-Reason";
/** The header naming why the gate refused (`expired`, `bad-token`, `malformed`, …). */
export const REASON_HEADER = "tokengate-reason";
/** How long a browser may reuse a preflight: Chromium caps it at 2 hours, Firefox at 24. */
const PREFLIGHT_MAX_AGE = "7200";

/**
 * The CORS headers of an answer under a guarded prefix, for a request from `requestOrigin`
 * (its `Origin` header, absent for same-origin and non-browser requests). With a list, the
 * answer depends on `Origin`, so it says `Vary: Origin` whether or not this one is allowed.
 *
 * @example
 * ```ts
 * corsHeaders(new Set(["https://player.example"]), "https://player.example");
 * // [["access-control-allow-origin", "https://player.example"], ["access-control-expose-headers", …], ["vary", "Origin"]]
 * ```
 */
export function corsHeaders(
  allowed: CorsOrigins,
  requestOrigin: string | null | undefined,
): [string, string][] {
  const headers: [string, string][] = [];
  if (allowed === "*") {
    headers.push(["access-control-allow-origin", "*"]);
  } else if (requestOrigin != null && allowed.includes(requestOrigin)) {
    headers.push(["access-control-allow-origin", requestOrigin]);
  }
  if (headers.length > 0) headers.push(["access-control-expose-headers", EXPOSED_HEADERS]);
  if (allowed !== "*") headers.push(["vary", "Origin"]);
  return headers;
}

/**
 * The headers of a preflight's 204: the CORS headers, and, for an allowed origin, the methods
 * and the one request header (`Range`) a player needs.
 *
 * @example
 * ```ts
 * preflightHeaders("*", "https://player.example"); // allow-origin *, allow-methods GET, HEAD, allow-headers Range, …
 * ```
 */
export function preflightHeaders(
  allowed: CorsOrigins,
  requestOrigin: string | null | undefined,
): [string, string][] {
  const headers = corsHeaders(allowed, requestOrigin);
  if (headers[0]?.[0] === "access-control-allow-origin") {
    headers.push(
      ["access-control-allow-methods", "GET,HEAD"],
      ["access-control-allow-headers", "Range"],
      ["access-control-max-age", PREFLIGHT_MAX_AGE],
    );
  }
  // As hono/cors says it: a cache must not answer another preflight's headers with this one.
  const vary = headers.find(([name]) => name === "vary");
  if (vary === undefined) headers.push(["vary", "Access-Control-Request-Headers"]);
  else vary[1] += ", Access-Control-Request-Headers";
  return headers;
}

/**
 * The headers of the gate's 204 to a CORS preflight, which needs no token: `OPTIONS` under a
 * guarded prefix with `CORS_ORIGINS` set. Undefined for any other request.
 *
 * @example
 * ```ts
 * preflight("*", gate, "OPTIONS", "/videos/2675_abc/", "https://player.example"); // headers
 * preflight("*", gate, "GET", "/videos/2675_abc/", "https://player.example"); // undefined
 * ```
 */
export function preflight(
  allowed: CorsOrigins | undefined,
  gate: GateSettings,
  method: string,
  target: string,
  requestOrigin: string | null | undefined,
): [string, string][] | undefined {
  if (allowed === undefined || method !== "OPTIONS" || !isGuarded(target, gate)) return undefined;
  return preflightHeaders(allowed, requestOrigin);
}

/**
 * Sets the gate's CORS `headers` on an answer: every `Access-Control-*` header the origin sent
 * is dropped first (with `CORS_ORIGINS` set, the gate's policy is the only one: an origin that
 * allows `*` or echoes `Origin` must not open what the list closes); `Vary` is added to, not
 * replaced, so the origin's own stays true.
 */
export function applyCors(target: Headers, headers: readonly [string, string][]): void {
  for (const name of [...target.keys()]) {
    if (name.startsWith("access-control-")) target.delete(name);
  }
  for (const [name, value] of headers) {
    if (name === "vary") appendVary(target, value);
    else target.set(name, value);
  }
}

function appendVary(target: Headers, value: string): void {
  target.set("vary", varyWith(target.get("vary") ?? "", value));
}

/**
 * A `Vary` value (the origin's lines joined, RFC 9110 §5.3) with `name` added, unless it is
 * there already or the answer varies on everything (`*`).
 *
 * @example
 * ```ts
 * varyWith("Accept-Encoding", "Origin"); // "Accept-Encoding, Origin"
 * ```
 */
export function varyWith(current: string, name: string): string {
  const names = current
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const lower = names.map((part) => part.toLowerCase());
  if (lower.includes("*") || lower.includes(name.toLowerCase())) return names.join(", ");
  return [...names, name].join(", ");
}
