/**
 * What the nginx module is told: every gate setting but the secrets, in a JSON file
 * `tokengate nginx-config` writes beside the pid file, which nginx loads once when it reads
 * its config (`js_preload_object`), so no request parses it. The secrets are loaded by nginx
 * the same way: SECRET's from the copy nginx-config writes, CLIENT_SECRETS' from its file. Shared by
 * the printer (Node) and the module (njs).
 * @module
 */
import type { BindIp } from "../../core/decide.js";
import type { AddressRange } from "../../core/ip.js";

/** The module's settings, as the printed config carries them. */
export interface ModuleSettings {
  /** The file holding SECRET (one secret or several, the first signs); null with CLIENT_SECRETS alone. */
  secretFile: string | null;
  /**
   * Whether SECRET's secrets, as nginx's master read them, are loaded as the global object
   * `tokengate_secrets`: the module's only source of them (it never reads SECRET's file).
   */
  secretsPreloaded: boolean;
  /** Whether CLIENT_SECRETS is loaded, as the global object `tokengate_clients`. */
  clientSecrets: boolean;
  prefixes: string[];
  queryPrefixes: string[] | "*";
  bindIp: BindIp;
  mp4Tokens: boolean;
  expiryLeewaySeconds: number;
  /** CORS_ORIGINS; null: no CORS at all. */
  cors: "*" | string[] | null;
  /** Whether nginx's cache is on (`--cache-dir`): answers then say `X-Cache`. */
  cache: boolean;
  /** CACHE_KEY_QUERY: the module sets `$tokengate_cache_key` by it (see `core/cache-key.ts`). */
  cacheKeyQuery: "all" | "none" | string[];
  /** `FORWARD_HEADERS`, lower case: request headers passed on besides the allow-list. */
  forwardHeaders: string[];
  /** ORIGIN_URL, for the rules that keep its address out of `Content-Location` and `Link`. */
  origin: string;
  /**
   * `TRUST_PROXY`'s ranges, parsed once here so a request only matches against them: proxies
   * whose X-Forwarded-For names the client; none: the peer.
   */
  trustProxy: AddressRange[];
}

/** The global object nginx loads the settings into (`js_preload_object`). */
export const SETTINGS_OBJECT = "tokengate_settings";

/** The settings file's name, in the `--prefix` folder. */
export const SETTINGS_FILE = "tokengate-settings.json";

/** The global object nginx loads CLIENT_SECRETS' file into (`js_preload_object`). */
export const CLIENT_SECRETS_OBJECT = "tokengate_clients";

/**
 * CLIENT_SECRETS as `nginx-config` copied it, in the `--prefix` folder (0600): the module's
 * source, so that it and the native path's map check one copy until the next reload.
 */
export const CLIENT_SECRETS_FILE = "tokengate-clients.json";

/** The global object nginx loads SECRET's secrets into (`js_preload_object`), as `{ secrets }`. */
export const SECRETS_OBJECT = "tokengate_secrets";

/** That object's file, in the `--prefix` folder: its owner's alone (0600). */
export const SECRETS_FILE = "tokengate-secrets.json";

/** The file the config includes for nginx's own check: SECRET's first secret (0600). */
export const SECRET_CONF_FILE = "tokengate-secret.conf";
