/**
 * tokengate: verify and sign Gcore-style protected temporary links. Everything exported here
 * is runtime-neutral (Workers, Node, Deno, Bun, browsers); the Node server is `tokengate/node`.
 * @module
 */
export { md5, md5Base64url } from "./md5.js";
export {
  isExpires,
  isTokenShape,
  MAX_EXPIRES,
  signToken,
  timingSafeEqual,
  verifyToken,
  type TokenInput,
  type Verdict,
  type VerifyInput,
} from "./token.js";
export { parseTtl, resolveExpires, signLink, type SignLinkOptions } from "./sign.js";
export {
  buildLinkPath,
  originPath,
  parseLink,
  splitTarget,
  unsafePathDetail,
  type Link,
  type LinkProblem,
  type ParsedLink,
} from "./link.js";
export {
  decide,
  DEFAULT_PREFIXES,
  gateSettings,
  rejection,
  rejectionResponse,
  type Decision,
  type GateOptions,
  type GateSettings,
  type Reason,
} from "./gate.js";
export {
  secureLink,
  type Grant,
  type Refusal,
  type SecureLinkOptions,
  type SecureLinkVariables,
} from "./middleware.js";
export { forwardHeaders, proxyFetch, type ProxyOptions } from "./proxy.js";
export { createApp, type AppOptions } from "./app.js";
export { readSettings, SettingError, type GateEnv, type Settings } from "./settings.js";
