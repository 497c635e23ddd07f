/**
 * The Cloudflare Workers entry: `wrangler deploy` / `wrangler dev`. Settings come from
 * bindings (`ORIGIN_URL`, `PREFIXES`, `ORIGIN_TIMEOUT_MS` in `[vars]`, `SECRET` as a secret)
 * and are checked once per set of values; a bad setting makes every request a 500 that names it.
 * @module
 */
import type { Hono } from "hono";
import { createApp, misconfiguredApp } from "./app.js";
import { readSettings, SettingError, type GateEnv } from "./settings.js";

/** The Worker's bindings. */
export interface Env extends GateEnv {}

let cachedFor: GateEnv | undefined;
let cachedApp: Hono | undefined;

/** The app for these bindings, built once and reused while the values stay the same. */
function appFor(env: Env): Hono {
  if (
    cachedApp !== undefined &&
    cachedFor !== undefined &&
    cachedFor.SECRET === env.SECRET &&
    cachedFor.ORIGIN_URL === env.ORIGIN_URL &&
    cachedFor.PREFIXES === env.PREFIXES &&
    cachedFor.ORIGIN_TIMEOUT_MS === env.ORIGIN_TIMEOUT_MS
  ) {
    return cachedApp;
  }
  cachedFor = {
    SECRET: env.SECRET,
    ORIGIN_URL: env.ORIGIN_URL,
    PREFIXES: env.PREFIXES,
    ORIGIN_TIMEOUT_MS: env.ORIGIN_TIMEOUT_MS,
  };
  try {
    cachedApp = createApp(readSettings(env), {
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

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return appFor(env).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
