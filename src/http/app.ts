/**
 * The gate as a Hono app: `secureLink()` in front, an origin-fetching handler behind, plain
 * 404 and 500 answers. The Worker serves it; the Node server answers from the same policy
 * (`decide`, `refusal.ts`, `cors.ts`) without Hono.
 * @module
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import { Hono } from "hono/tiny";
import { HTTPException } from "hono/http-exception";
import { isGuarded, type GateSettings } from "../core/decide.js";
import type { Settings } from "../core/settings.js";
import { applyCors, corsHeaders, preflight, type CorsOrigins } from "./cors.js";
import { secureLink, type Grant, type SecureLinkVariables } from "./middleware.js";
import { manifestRequestHeaders, rewritesManifest } from "./manifest-headers.js";
import { propagated } from "./propagate.js";
import { proxyFetch } from "./proxy-fetch.js";
import { cacheKey } from "../core/cache-key.js";
import { ANSWER_SHAPING_HEADERS, locationRewriter } from "./headers.js";
import { errorLine, rejectionResponse, type Reason } from "./refusal.js";

/**
 * A shared cache the runtime lends the app for `CACHE=on` (the Worker's is the Cache API,
 * `adapter/workers/edge-cache.ts`), so this layer names no runtime's cache.
 */
export interface EdgeCache {
  /** Whether `request` may be answered from, and fill, the cache. */
  shares(request: Request): boolean;
  /** The kept answer for `key`, with the request's `Range` applied, or undefined. */
  match(key: string, request: Request): Promise<Response | undefined>;
  /**
   * The origin's answer marked `X-Cache: MISS`, kept under `key` when it may be; `waitUntil`
   * keeps the put alive after the answer is sent.
   */
  keep(
    key: string,
    request: Request,
    response: Response,
    heuristicCapSeconds: number,
    waitUntil: (work: Promise<unknown>) => void,
  ): Response;
}

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The shared cache used when `CACHE=on`; default none (answers are marked MISS, not kept). */
  cache?: EdgeCache;
  /** Told about origin failures and unexpected errors (never with the secret). */
  log?: (event: { reason: Reason | "internal" | "manifest-unchanged"; message: string }) => void;
  /**
   * The client's address, for IP-bound tokens (`BIND_IP`) and `X-Forwarded-For` at the
   * origin; default none. The Worker reads
   * `CF-Connecting-IP`, which Cloudflare's edge sets; elsewhere that header is the client's
   * own claim, so it is not read by default.
   */
  clientAddress?: (c: Context) => string | undefined;
  /** Middleware that runs before the gate and CORS (and sees every answer after `next()`). */
  use?: MiddlewareHandler[];
  /** Told the status the origin answered a request with (not a cache hit, not a failure). */
  onOriginAnswer?: (c: Context, status: number) => void;
}

/**
 * Answers a request with one of the gate's plain-text refusals (no body for HEAD).
 *
 * @example
 * ```ts
 * app.notFound((c) => plain(c, "not-found"));
 * ```
 */
export function plain(c: Context, reason: Reason, body?: string): Response {
  return rejectionResponse(reason, c.req.method === "HEAD", body);
}

/**
 * Builds the gate app for checked settings.
 *
 * @example
 * ```ts
 * const app = createApp(readSettings(env));
 * export default app;
 * ```
 */
export function createApp<E extends HonoEnv = HonoEnv>(
  settings: Settings,
  options: AppOptions = {},
): Hono<E & { Variables: SecureLinkVariables }> {
  const log = options.log ?? (() => {});
  const relocate = locationRewriter(settings.origin);
  /** A grant's answer: from the cache when it may, else fetched from the origin. */
  async function proxy(c: Context, grant: Grant): Promise<Response> {
    const url = settings.origin + grant.target;
    const path = grant.target.split("?")[0]!;
    const propagate = grant.form === "query" ? grant.propagate : undefined;
    // A manifest the token goes into is asked for whole, of the cache and the origin alike.
    const request = rewritesManifest(propagate, path)
      ? new Request(c.req.raw.url, {
          method: c.req.raw.method,
          headers: manifestRequestHeaders([...c.req.raw.headers]),
        })
      : c.req.raw;
    const cache = settings.cache === undefined ? undefined : options.cache;
    // The cache's identity is the path and the query parameters CACHE_KEY_QUERY names; the
    // origin is asked with the whole query. No key: a request the key cannot name passes.
    const named =
      settings.cache === undefined ? undefined : cacheKey(grant.target, settings.cache.keyQuery);
    const shared =
      cache !== undefined && named !== undefined && cache.shares(request) ? cache : undefined;
    const key = named === undefined ? url : settings.origin + named;
    const hit = shared && (await shared.match(key, request));
    const response = hit || (await fetchOrigin(c, request, url, key, shared));
    if (propagate === undefined) return response;
    // A directory token reaches a manifest's segments only if the manifest carries it on.
    return propagated(response, path, propagate, (why) =>
      log({ reason: "manifest-unchanged", message: why }),
    );
  }
  /** The origin's answer for a grant; with a cache, marked MISS and kept when it may be. */
  async function fetchOrigin(
    c: Context,
    request: Request,
    url: string,
    key: string,
    shared: EdgeCache | undefined,
  ) {
    let failed = false;
    // What may be kept for every viewer is asked for in no viewer's words (as on the Node
    // server): the range, conditions and coding of the request, not who asks or from where.
    const asked = shared === undefined ? request : sharedRequest(request);
    const response = await proxyFetch(asked, url, {
      timeoutMs: settings.originTimeoutMs,
      forwardHeaders: shared === undefined ? settings.forwardHeaders : [],
      relocate,
      client: {
        address: shared === undefined ? options.clientAddress?.(c) : undefined,
        proto: c.req.url.startsWith("https:") ? "https" : "http",
      },
      onError: (reason, error) => {
        failed = true;
        log({ reason, message: errorLine(error) });
      },
    });
    if (!failed) options.onOriginAnswer?.(c, response.status);
    if (settings.cache === undefined) return response;
    if (shared === undefined) {
      const headers = new Headers(response.headers);
      headers.set("x-cache", "MISS");
      return new Response(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    }
    return shared.keep(key, request, response, settings.cache.heuristicCapSeconds, (work) => {
      try {
        c.executionCtx.waitUntil(work);
      } catch {
        // No execution context (not on Workers): the put simply runs on.
      }
    });
  }
  const app = new Hono<E & { Variables: SecureLinkVariables }>();
  // First, so that they see every answer, a CORS preflight's too.
  for (const middleware of options.use ?? []) app.use(middleware);
  if (settings.cors !== undefined) {
    app.use(corsPolicy(settings.cors, settings.gate));
  }
  app.use(
    secureLink({
      settings,
      address: options.clientAddress,
    }),
  );
  app.on(["GET", "HEAD"], "*", async function proxyToOrigin(c) {
    const grant = c.get("secureLink");
    if (grant?.action !== "proxy") return plain(c, "not-found");
    return proxy(c, grant);
  });
  app.notFound((c) => plain(c, "not-found"));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    log({ reason: "internal", message: errorLine(error) });
    return plain(c, "misconfigured", "Internal Server Error\n");
  });
  return app;
}

/**
 * `CORS_ORIGINS` on the app: a preflight under a guarded prefix is answered 204 without a
 * token; every other answer there, refusals included, gets the CORS headers, and a refusal
 * names its reason in `Tokengate-Reason` so a player can read why.
 */
function corsPolicy(allowed: CorsOrigins, gate: GateSettings): MiddlewareHandler {
  return async function cors(c, next) {
    const raw = c.req.url;
    const requestOrigin = c.req.header("origin");
    const answer = preflight(allowed, gate, c.req.method, raw, requestOrigin);
    if (answer !== undefined) return new Response(null, { status: 204, headers: answer });
    if (!isGuarded(raw, gate)) return next();
    await next();
    const decision = c.get("secureLink") as SecureLinkVariables["secureLink"] | undefined;
    const reason = decision?.action === "reject" ? decision.reason : undefined;
    const headers = corsHeaders(allowed, requestOrigin, reason);
    // A fetched answer's headers cannot be changed; a copy's can. Unset first, or Hono would
    // copy the old headers (the origin's own CORS headers among them) over the new ones.
    const copy = new Response(c.res.body, c.res);
    applyCors(copy.headers, headers);
    c.res = undefined;
    c.res = copy;
  };
}

/**
 * A failing setting's app: every request is refused with 500 naming the setting (its value,
 * which may be an internal address, stays in the log).
 *
 * @example
 * ```ts
 * const app = misconfiguredApp("SECRET"); // 500 "… the gate is misconfigured (SECRET) …"
 * ```
 */
export function misconfiguredApp(setting: string): Hono {
  const body = `Internal Server Error: the gate is misconfigured (${setting}); see its log\n`;
  const app = new Hono();
  app.all("*", (c) => plain(c, "misconfigured", body));
  return app;
}

/** `request` with only what it asks for, not who asks (`ANSWER_SHAPING_HEADERS`). */
function sharedRequest(request: Request): Request {
  const headers = new Headers();
  for (const name of ANSWER_SHAPING_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Request(request.url, { method: request.method, headers });
}
