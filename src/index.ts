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
export type { Decision, GateOptions, RefusalReason } from "./core/decide.js";
export type { Link } from "./core/link.js";
