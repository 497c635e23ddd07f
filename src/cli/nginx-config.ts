/**
 * `tokengate nginx-config`: prints an `nginx.conf` that runs the gate inside nginx, for the
 * same settings as `serve` (checked the same way, failing with one line naming the setting).
 * @module
 */
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readServerConfig, type ServerEnv } from "../adapter/node/config.js";
import { NGINX_FLAGS, SETTINGS } from "../core/settings-table.js";
import { originPrefixWarning } from "../core/settings.js";
import {
  DEBIAN_JS_MODULE,
  moduleSettings,
  nginxConf,
  secretConf,
  type NginxConfOptions,
} from "../adapter/nginx/conf.js";
import {
  CLIENT_SECRETS_FILE,
  SECRET_CONF_FILE,
  SECRETS_FILE,
  SETTINGS_FILE,
} from "../adapter/nginx/settings.js";
import {
  clientSecretsFrom,
  envWithFlags,
  flagOptions,
  HELP_FLAG,
  parsedArgs,
  readSecretFile,
  UsageError,
} from "./args.js";
import { HELP } from "./help.js";

/** The settings and flags `nginx-config` takes. */
const NGINX_SPECS = [...Object.values(SETTINGS), ...Object.values(NGINX_FLAGS)];

/** The built njs module's folder, beside this command in the package. */
const MODULE_DIR = fileURLToPath(new URL("../nginx", import.meta.url));

/** `HOST:PORT`, `[v6]:PORT` or `PORT`, as nginx's `listen` takes them. */
function splitListen(text: string): { host?: string; port: string } {
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):)?(\d+)$/.exec(text.trim());
  if (match === null) throw new UsageError(`--listen: "${text}" is not HOST:PORT`);
  return { host: match[1]?.replace(/^\[|\]$/g, ""), port: match[2]! };
}

/** An absolute path for a flag's file or folder (nginx and its workers do not share our cwd). */
function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/**
 * Prints the config and returns the exit code. The prefix folder (and the cache folder) is made
 * when missing (nginx makes its temporary folders, not their parent), and the module's settings
 * are written there (`tokengate-settings.json`: no secret, only where the secrets are).
 */
export async function nginxConfig(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
): Promise<number> {
  const { values } = parsedArgs(() =>
    parseArgs({
      args,
      strict: true,
      options: { ...flagOptions(NGINX_SPECS, "nginx-config"), help: HELP_FLAG },
    }),
  );
  if (values.help === true) return (out(HELP.nginxConfig), 0);
  const flag = values as Record<string, string | undefined>;
  const secretFile = flag["secret-file"] ?? env.SECRET_FILE;
  const clientSecretsFile = flag["client-secrets-file"] ?? env.CLIENT_SECRETS_FILE;
  if (secretFile === undefined && clientSecretsFile === undefined) {
    throw new UsageError(
      "--secret-file is required: nginx reads the secret from its file, never from this config",
    );
  }
  const listen = splitListen(flag.listen ?? "127.0.0.1:8787");
  const cacheDir = flag["cache-dir"];
  const withFlags = envWithFlags(NGINX_SPECS, "nginx-config", values, env, () => undefined);
  // nginx's cache is on by --cache-dir alone (CACHE is serve's): a setting of it without the
  // folder says so, where serve would say CACHE=on.
  if (cacheDir === undefined) {
    const stray =
      flag["cache-max-bytes"] !== undefined
        ? "--cache-max-bytes"
        : (withFlags.CACHE_KEY_QUERY ?? "").trim() !== ""
          ? "CACHE_KEY_QUERY"
          : undefined;
    if (stray !== undefined) {
      throw new UsageError(`${stray}: nginx's cache is off: pass --cache-dir DIR too`);
    }
  }
  const serverEnv: ServerEnv = {
    ...withFlags,
    // Only from the files named: SECRET and CLIENT_SECRETS stay out of nginx's environment.
    SECRET: secretFile === undefined ? undefined : readSecretFile(secretFile),
    CLIENT_SECRETS:
      clientSecretsFile === undefined ? undefined : clientSecretsFrom(clientSecretsFile, {}),
    HOST: listen.host ?? "0.0.0.0",
    PORT: listen.port,
    WORKERS: flag.workers ?? env.WORKERS ?? "auto",
    CACHE: cacheDir === undefined ? "off" : "on",
    // The flag over the variable, with --cache-dir; without it, a CACHE_MAX_BYTES the
    // environment shares with serve sizes nothing here.
    CACHE_MAX_BYTES: cacheDir === undefined ? undefined : withFlags.CACHE_MAX_BYTES,
  };
  if ((serverEnv.ORIGIN_URL ?? "").trim() === "") {
    throw new UsageError("--origin-url is required (there is no demo mode inside nginx)");
  }
  // nginx counts its workers itself: "auto" stays "auto" in the config.
  const config = readServerConfig(serverEnv, 1);
  const settings = config.settings;
  const warning = originPrefixWarning(
    settings.origin,
    settings.gate.prefixes,
    settings.gate.queryPrefixes,
  );
  if (warning !== undefined) process.stderr.write(`tokengate: warning: ${warning}\n`);
  const workers = serverEnv.WORKERS?.trim() === "auto" ? "auto" : config.workers;
  const prefix = absolute(flag.prefix ?? "tokengate-nginx");
  const jsModule = flag["js-module"] ?? DEBIAN_JS_MODULE;
  const native = flag.native ?? "on";
  if (native !== "on" && native !== "off") throw new UsageError("--native must be on or off");
  const version = (
    JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    }
  ).version;
  const options: NginxConfOptions = {
    settings,
    config,
    workers,
    secretFile: secretFile === undefined ? null : realpathSync(absolute(secretFile)),
    clientSecretsFile:
      clientSecretsFile === undefined ? null : realpathSync(absolute(clientSecretsFile)),
    prefix,
    moduleDir: MODULE_DIR,
    jsModule: jsModule === "none" ? null : jsModule,
    cacheDir: cacheDir === undefined ? null : absolute(cacheDir),
    version,
    // Checked by readServerConfig; nginx takes each entry as it is.
    trustProxy:
      (serverEnv.TRUST_PROXY ?? "").trim() === ""
        ? []
        : serverEnv.TRUST_PROXY!.split(",").map((entry) => entry.trim()),
    secrets: secretFile === undefined ? [] : settings.gate.secrets.slice(),
    clientSecrets: settings.gate.clientSecrets,
    native: native === "on",
  };
  // The config first: a value it cannot carry stops here, before any folder or file is made.
  const conf = nginxConf(options);
  if (cacheDir !== undefined) writableFolder(absolute(cacheDir));
  // Only its owner's (nginx's master): nginx makes its files readable by all, and its error
  // log may still quote a request line (an alert of nginx's own about a request).
  mkdirSync(prefix, { recursive: true, mode: 0o750 });
  // The settings nginx loads once (never a secret), then the config that loads them.
  writeFileSync(join(prefix, SETTINGS_FILE), JSON.stringify(moduleSettings(options)) + "\n", {
    mode: 0o644,
  });
  // SECRET as nginx's master reads it at start and reload, as root: its owner's alone. The
  // config includes the first secret (secure_link) and hands all to the module.
  if (options.secretFile !== null) {
    writePrivate(join(prefix, SECRETS_FILE), JSON.stringify({ secrets: options.secrets }) + "\n");
  }
  // CLIENT_SECRETS the same way: one copy the module and the native path both check.
  const clients = options.clientSecrets;
  if (clients !== undefined) {
    const copy: Record<string, string> = {};
    for (const id of Object.keys(clients)) copy[id] = clients[id]!.join(" ");
    writePrivate(join(prefix, CLIENT_SECRETS_FILE), JSON.stringify(copy) + "\n");
  }
  writePrivate(join(prefix, SECRET_CONF_FILE), secretConf(options.secrets[0], clients));
  out(conf);
  return 0;
}

/**
 * Makes the cache folder if missing and checks it can be written, so that a folder nginx could
 * not keep answers in stops start-up with one line now, rather than failing requests later
 * (nginx's lines about those would quote request lines, and the config keeps them out of its
 * log). Started as root, nginx hands the folder to its workers' user itself.
 *
 * @throws UsageError naming `--cache-dir`.
 */
function writableFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`--cache-dir: cannot make or write ${dir} (${code})`);
  }
}

/** Writes a file only its owner can read, whatever mode it had. */
function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
