/**
 * `secureLink()`: the gate as Hono middleware, for the Worker, the Node server and anyone's
 * Hono app.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  decide,
  gateSettings,
  upgradeRefusal,
  type Decision,
  type GateOptions,
  type GateSettings,
} from "../core/decide.js";
import type { Settings } from "../core/settings.js";
import { rejectionResponse } from "./refusal.js";

/** A refusal: what `onReject` receives. */
export type Refusal = Extract<Decision, { action: "reject" }>;
/** A granted request: the link and the origin target (path and query, token removed). */
export type Grant = Extract<Decision, { action: "proxy" }>;

/** Context variables set by {@link secureLink}. */
export interface SecureLinkVariables {
  /** The gate's decision for this request: a grant, or the refusal being answered. */
  secureLink: Grant | Refusal;
}

/** How {@link secureLink} reads a request and answers a refusal, whatever its settings. */
export interface SecureLinkHooks {
  /**
   * The raw request target (`/path?query`) to judge. Default: the request URL. Runtimes that
   * normalise URLs before your code runs (workerd, `@hono/node-server`) resolve `..` and `%2e`;
   * pass the raw target where you have it, e.g. `(c) => c.env.incoming.url` on Node.
   */
  target?: (c: Context) => string;
  /**
   * The client's address, for tokens bound to it (`bindIp` `on` or `optional`). Default none,
   * so only unbound tokens can verify: pass the address your runtime trusts (the socket's peer,
   * or `CF-Connecting-IP` on Cloudflare's edge), never a header a client can set.
   */
  address?: (c: Context) => string | undefined;
  /** Builds the answer to a refusal instead of the default plain-text one. */
  onReject?: (c: Context, refusal: Refusal) => Response | Promise<Response>;
}

/** Options of {@link secureLink}: the gate's options, checked when the factory runs. */
export interface SecureLinkOptions extends GateOptions, SecureLinkHooks {}

/**
 * Settings already checked by `readSettings` (the gate's servers): they are used as they are,
 * not checked again.
 */
export interface CheckedSecureLinkOptions extends SecureLinkHooks {
  settings: Settings;
}

const requestUrl = (c: Context): string => c.req.url;

/**
 * Verifies protected temporary links. Requests under a guarded prefix with a valid, unexpired
 * link go on to the next handler with `c.get("secureLink")` set to the grant (use its `target`
 * to reach the origin); every other request under a prefix is refused with an `HTTPException`
 * carrying a ready response: 405 (method), 403 (unsafe path, malformed link, wrong token) or
 * 410 (expired). Requests outside the prefixes pass through untouched.
 *
 * @param options - `secret` (one, or a list for key rotation) and/or `clientSecrets` (per
 *   client id), `prefixes` (default `["videos", "cmaf", "mpegts"]`), `bindIp` (default `off`),
 *   `expiryLeewaySeconds`, `address`, `now`, `target`, `onReject`; checked once, here. Or
 *   `{ settings }`: `readSettings`' result, already checked, used as it is (the gate's apps).
 * @returns The middleware.
 * @throws Error naming the option when no secret is given, one is empty, or a prefix is invalid.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { secureLink, type SecureLinkVariables } from "tokengate";
 *
 * const app = new Hono<{ Variables: SecureLinkVariables }>();
 * app.use(secureLink({ secret: "s3cret", prefixes: ["videos"] }));
 * app.get("/videos/*", (c) => {
 *   const grant = c.get("secureLink");
 *   return fetch(`https://origin.example.com${grant.action === "proxy" ? grant.target : ""}`);
 * });
 * ```
 */
export function secureLink(
  options: SecureLinkOptions | CheckedSecureLinkOptions,
): MiddlewareHandler<{ Variables: SecureLinkVariables }> {
  const settings = "settings" in options ? checked(options.settings) : gateSettings(options);
  const target = options.target ?? requestUrl;
  const address = settings.bindIp === "off" ? undefined : options.address;
  const onReject = options.onReject;
  if (onReject !== undefined && typeof onReject !== "function") {
    throw new Error("onReject must be a function (c, refusal) => Response");
  }
  return async function secureLink(c, next) {
    const raw = target(c);
    const decision =
      upgradeRefusal(raw, settings, c.req.header("upgrade")) ??
      decide(c.req.method, raw, settings, address?.(c));
    if (decision.action === "pass") return next();
    c.set("secureLink", decision);
    if (decision.action === "proxy") return next();
    let res: Response;
    if (onReject !== undefined) {
      res = await onReject(c, decision);
    } else {
      res = rejectionResponse(decision.reason, c.req.method === "HEAD");
    }
    throw new HTTPException(decision.status, { res });
  };
}

/** `readSettings`' gate settings, refused when they did not come from its check (it freezes them). */
function checked(settings: Settings): GateSettings {
  const gate = settings?.gate;
  if (typeof gate !== "object" || gate === null || !Object.isFrozen(gate)) {
    throw new Error("settings must be readSettings' result; pass the options themselves otherwise");
  }
  return gate;
}
