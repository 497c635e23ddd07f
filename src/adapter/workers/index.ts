/// <reference path="./worker-configuration.d.ts" />
/**
 * The Cloudflare Workers entry: `wrangler deploy` / `wrangler dev`. Settings come from
 * bindings (those the settings table gives a Worker binding kind: `[vars]` or secrets;
 * `Env` is generated from wrangler.toml by `npm run cf-typegen`) and are checked once per set
 * of values; a bad setting makes every request a 500 that names it.
 * @module
 */
import type { ExecutionContext, Hono, MiddlewareHandler } from "hono";
import type { SecureLinkVariables } from "../../http/middleware.js";
import {
  originPrefixWarning,
  readSettings,
  SettingError,
  type GateEnv,
} from "../../core/settings.js";
import { WORKER_BINDINGS } from "../../core/settings-table.js";
import { createApp, misconfiguredApp } from "../../http/app.js";
import { canonicalAddress } from "../../core/ip.js";
import { edgeCache } from "./edge-cache.js";

/**
 * The Worker's bindings: the settings by name, as strings (`[vars]`, secrets). A project's own
 * `Env` from `wrangler types` fits it; the declaration names no generated or global type.
 */
export type WorkerEnv = GateEnv;

/** The origin's status per request, for the request line: an origin's 404 is not the gate's. */
const upstreamStatus = new WeakMap<Request, number>();

let cachedFor: readonly (string | undefined)[] | undefined;
let cachedApp: Hono | undefined;

/** The app for these bindings, built once and reused while the values stay the same. */
function appFor(env: WorkerEnv): Hono {
  const values = WORKER_BINDINGS.map(
    (name) => (env as unknown as Record<string, string | undefined>)[name],
  );
  if (cachedApp !== undefined && cachedFor?.every((value, i) => value === values[i])) {
    return cachedApp;
  }
  cachedFor = values;
  try {
    const settings = readSettings(env);
    // Once per set of bindings, as the app is built: the Worker still serves.
    const warning = originPrefixWarning(
      settings.origin,
      settings.gate.prefixes,
      settings.gate.queryPrefixes,
    );
    if (warning !== undefined) console.warn(`tokengate: ${warning}`);
    cachedApp = createApp(settings, {
      cache: edgeCache(),
      use: settings.metrics ? [requestLine] : [],
      onOriginAnswer: settings.metrics
        ? (c, status) => void upstreamStatus.set(c.req.raw, status)
        : undefined,
      // Cloudflare's edge sets it, replacing a client's own (not so in `wrangler dev`, where
      // only an address literal is passed on).
      clientAddress: (c) => {
        const claimed = c.req.header("cf-connecting-ip");
        return claimed === undefined ? undefined : canonicalAddress(claimed);
      },
      log: (event) => console.error(`tokengate: ${event.reason}: ${event.message}`),
    }) as unknown as Hono;
  } catch (error) {
    const setting = error instanceof SettingError ? error.setting : "settings";
    const message = error instanceof Error ? error.message : String(error);
    console.error(`tokengate: refusing to serve: ${message}`);
    cachedApp = misconfiguredApp(setting);
  }
  return cachedApp;
}

/**
 * One JSON line per request for Workers Logs / `wrangler tail` to count, as the Node server's
 * `/metrics` counts: status, the refusal reason, the cache's verdict, time taken. Never the
 * path, which holds the token.
 */
const requestLine: MiddlewareHandler<{ Variables: SecureLinkVariables }> =
  async function requestLine(c, next) {
    const started = Date.now();
    await next();
    const decision = c.get("secureLink");
    const status = c.res.status;
    const upstream = upstreamStatus.get(c.req.raw);
    console.log(
      JSON.stringify({
        tokengate: "request",
        method: c.req.method,
        status,
        // The gate's own 404 (no grant) says so; a granted request's 404 is the origin's.
        reason:
          decision?.action === "reject"
            ? decision.reason
            : decision?.action !== "proxy" && status === 404
              ? "not-found"
              : undefined,
        // A string, as in nginx's JSON access log and the Node server's.
        upstream_status: upstream === undefined ? undefined : String(upstream),
        cache: c.res.headers.get("x-cache") ?? undefined,
        ms: Date.now() - started,
      }),
    );
  };

/**
 * The Worker (`export { default } from "tokengate/worker"`). Typed with the standard `Request`
 * and `Response` and Hono's context type, so a project type-checks it with @cloudflare/workers-types,
 * `wrangler types` or neither.
 */
export interface GateWorker {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response>;
}

const worker: GateWorker = {
  fetch(request, env, ctx) {
    return appFor(env).fetch(request, env, ctx);
  },
};
// Still a valid handler for this repository's own bindings.
worker satisfies ExportedHandler<Env>;
export default worker;
