/**
 * `tokengate/node`: the self-hosted gate on Node.
 * @module
 */
export {
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_LISTEN_SOCKETS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_ORIGIN_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  startGateServer,
  type GateServer,
  type GateServerOptions,
} from "./server.js";
export { readSettings, SettingError, type Settings } from "../../core/settings.js";
