/**
 * tokengate: verify Gcore-style protected temporary links. This entry is the Hono middleware
 * and its types, runtime-neutral (Workers, Node, Deno, Bun). Signing is `tokengate/sign`, the
 * Node server `tokengate/node`, the Worker `tokengate/worker`.
 * @module
 */
export {
  secureLink,
  type Grant,
  type Refusal,
  type SecureLinkOptions,
  type SecureLinkVariables,
} from "./http/middleware.js";
export {
  decide,
  DEFAULT_PREFIXES,
  gateSettings,
  type Decision,
  type GateOptions,
  type GateSettings,
  type RefusalReason,
} from "./core/decide.js";
export type { Link } from "./core/link.js";
export { rejectionResponse, type Reason } from "./http/refusal.js";
export { createApp, type AppOptions } from "./http/app.js";
export { readSettings, SettingError, type GateEnv, type Settings } from "./core/settings.js";
