/**
 * Reading the gate's settings from environment-style strings (Worker bindings, `process.env`),
 * once, into one typed object. Errors name the setting and say what to do; they never include
 * the secret. Pure: no Hono, Node or Workers APIs.
 * @module
 */
import { DEFAULT_PREFIXES, gateSettings, type GateSettings } from "./decide.js";

/**
 * A setting that is missing or invalid; `setting` is its environment name and the message
 * starts with it.
 *
 * @example
 * ```ts
 * throw new SettingError("PORT", "must be a whole number from 0 to 65535");
 * ```
 */
export class SettingError extends Error {
  override name = "SettingError";
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
  }
}

/** The raw strings the gate reads, as Worker bindings or environment variables. */
export interface GateEnv {
  ORIGIN_URL?: string;
  SECRET?: string;
  PREFIXES?: string;
  ORIGIN_TIMEOUT_MS?: string;
}

/** Settings shared by the Worker and the Node server. */
export interface Settings {
  readonly gate: GateSettings;
  /** Origin base URL without a trailing slash, e.g. `https://origin.example.com/media`. */
  readonly origin: string;
  /** Time allowed until the origin's response headers; 0 means no limit. */
  readonly originTimeoutMs: number;
}

/**
 * Parses `ORIGIN_URL`: an absolute http(s) URL with no query, fragment or credentials. The
 * result has no trailing slash, so `origin + "/videos/…"` is the upstream URL.
 *
 * @throws SettingError naming ORIGIN_URL.
 * @example
 * ```ts
 * parseOrigin("https://origin.example.com/media/"); // "https://origin.example.com/media"
 * ```
 */
export function parseOrigin(text: string | undefined): string {
  if (text === undefined || text.trim() === "") {
    throw new SettingError(
      "ORIGIN_URL",
      "not set; give the origin's base URL, e.g. https://origin.example.com",
    );
  }
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new SettingError("ORIGIN_URL", `"${text}" is not an absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SettingError("ORIGIN_URL", `must be http:// or https://, got ${url.protocol}`);
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new SettingError("ORIGIN_URL", "must not carry a query, fragment or credentials");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * Parses `PREFIXES`: comma-separated first path segments (spaces allowed); default `videos,cmaf`.
 *
 * @example
 * ```ts
 * parsePrefixes("videos, cmaf, mpegts"); // ["videos", "cmaf", "mpegts"]
 * ```
 */
export function parsePrefixes(text: string | undefined): string[] {
  if (text === undefined || text.trim() === "") return [...DEFAULT_PREFIXES];
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/**
 * Parses a whole number setting within `[min, max]`; `fallback` when unset or empty.
 *
 * @throws SettingError naming the setting.
 * @example
 * ```ts
 * parseInteger("PORT", env.PORT, 8787, 0, 65535);
 * ```
 */
export function parseInteger(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined || text.trim() === "") return fallback;
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new SettingError(name, `must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/**
 * Reads and checks every gate setting. Misconfiguration fails closed: the caller must refuse
 * to serve when this throws.
 *
 * @param env - The raw strings; see {@link GateEnv}.
 * @param now - Optional clock in unix seconds, for tests.
 * @throws SettingError naming the first bad setting.
 * @example
 * ```ts
 * const settings = readSettings({ ORIGIN_URL: "https://origin.example.com", SECRET: "…" });
 * ```
 */
export function readSettings(env: GateEnv, now?: () => number): Settings {
  if (typeof env.SECRET !== "string" || env.SECRET === "") {
    throw new SettingError("SECRET", "not set; the gate refuses to serve without a secret");
  }
  const origin = parseOrigin(env.ORIGIN_URL);
  let gate: GateSettings;
  try {
    gate = gateSettings({ secret: env.SECRET, prefixes: parsePrefixes(env.PREFIXES), now });
  } catch (error) {
    // gateSettings names its option "prefixes"; here the setting is PREFIXES.
    throw new SettingError("PREFIXES", (error as Error).message.replace(/^prefixes:? */, ""));
  }
  const originTimeoutMs = parseInteger(
    "ORIGIN_TIMEOUT_MS",
    env.ORIGIN_TIMEOUT_MS,
    30_000,
    0,
    3_600_000,
  );
  return { gate, origin, originTimeoutMs };
}
