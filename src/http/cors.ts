/**
 * CORS for players on other origins (`CORS_ORIGINS`): a browser hides the status of an answer
 * without `Access-Control-Allow-Origin`, so a player could not tell an expired link (410, fetch
 * a new one) from a forbidden one (403). Every answer under a guarded prefix carries the
 * headers, refusals included; `OPTIONS` there is a preflight. Pure header arithmetic, shared
 * by the Hono app (the Worker) and the Node server.
 * @module
 */
import { isGuarded, MAX_PATH, type GateSettings } from "../core/decide.js";
import { splitTarget } from "../core/link.js";
import type { Reason } from "./refusal.js";

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
 * A refusal of the gate's own (`reason`) is named in `Tokengate-Reason`, which a player reads to
 * tell an expired link from a forbidden one; an origin's failure is not: it is the origin's,
 * and the log names it.
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
  reason?: Reason,
): [string, string][] {
  const headers: [string, string][] = [];
  if (allowed === "*") {
    headers.push(["access-control-allow-origin", "*"]);
  } else if (requestOrigin != null && allowed.includes(requestOrigin)) {
    headers.push(["access-control-allow-origin", requestOrigin]);
  }
  if (headers.length > 0) headers.push(["access-control-expose-headers", EXPOSED_HEADERS]);
  if (allowed !== "*") headers.push(["vary", "Origin"]);
  if (reason !== undefined && reason !== "origin-error" && reason !== "origin-timeout") {
    headers.push([REASON_HEADER, reason]);
  }
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
  // A path decide() refuses unread is refused to a preflight too (403, not 204).
  if (splitTarget(target).path.length > MAX_PATH) return undefined;
  return preflightHeaders(allowed, requestOrigin);
}

/** What {@link corsEdit} does to an answer's headers: delete `drop`, then set each of `set`. */
export interface HeaderEdit {
  /** Header names to delete, as the answer holds them. */
  drop: string[];
  /** Headers to set, each replacing what the answer has of that name (`vary` merged already). */
  set: [string, string][];
}

/**
 * The one CORS rule for an answer, whatever holds its headers (a `Headers`, Node's flat list,
 * njs's `headersOut`): with `CORS_ORIGINS` set, the gate's policy is the only one, so every
 * `Access-Control-*` header the origin sent is dropped (an origin that allows `*` or echoes
 * `Origin` must not open what the list closes); the gate's `headers` replace same-named ones,
 * and `Vary` is added to, not replaced, so the origin's own stays true. `names` are the
 * answer's header names, `vary` its `Vary` lines joined; `ours` false keeps the origin's
 * `Access-Control-*` (gate headers that are no CORS policy). Pure, and plain enough for njs.
 *
 * @example
 * ```ts
 * corsEdit(["Access-Control-Allow-Origin", "Vary"], "Accept-Encoding", [["vary", "Origin"]]);
 * // { drop: ["Access-Control-Allow-Origin"], set: [["vary", "Accept-Encoding, Origin"]] }
 * ```
 */
export function corsEdit(
  names: readonly string[],
  vary: string,
  headers: readonly (readonly [string, string])[],
  ours = true,
): HeaderEdit {
  const drop: string[] = [];
  for (let i = 0; ours && i < names.length; i++) {
    if (names[i]!.toLowerCase().indexOf("access-control-") === 0) drop.push(names[i]!);
  }
  const set: [string, string][] = [];
  let merged: [string, string] | undefined;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0];
    const value = headers[i]![1];
    if (name !== "vary") {
      set.push([name, value]);
      continue;
    }
    // One Vary, where the first stood; a preflight's names two headers, each added in turn.
    if (merged === undefined) set.push((merged = ["vary", vary]));
    merged[1] = value.split(", ").reduce(varyWith, merged[1]);
  }
  return { drop, set };
}

/**
 * Sets the gate's CORS `headers` on an answer by {@link corsEdit}.
 */
export function applyCors(target: Headers, headers: readonly [string, string][]): void {
  const edit = corsEdit([...target.keys()], target.get("vary") ?? "", headers);
  for (const name of edit.drop) target.delete(name);
  for (const [name, value] of edit.set) target.set(name, value);
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
