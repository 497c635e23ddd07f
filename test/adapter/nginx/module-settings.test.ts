/**
 * What nginx is told: the settings `nginx-config` checked once, serialised as the module's
 * JSON and the printed config. Every key is listed here, and every setting the table says
 * nginx honours must change what nginx is given, so a new option cannot go missing there.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NGINX_FLAGS, SETTINGS, type SettingName } from "../../../src/core/settings-table.js";
import { readSettings, type Settings } from "../../../src/core/settings.js";
import type { GateSettings } from "../../../src/core/decide.js";
import { SETTINGS_FILE, type ModuleSettings } from "../../../src/adapter/nginx/settings.js";
import { nginxConfig } from "../../../src/cli/nginx-config.js";

const dir = mkdtempSync(join(tmpdir(), "tokengate-module-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = join(dir, "secret");
const otherSecretFile = join(dir, "other-secret");
const clientsFile = join(dir, "clients.json");
writeFileSync(secretFile, "s3cret-one\n");
writeFileSync(otherSecretFile, "s3cret-two\n");
writeFileSync(clientsFile, '{"2675": "client-s3cret"}');

/** Runs `nginx-config` in-process: the printed config and the module's settings file. */
async function printed(args: string[]): Promise<{ conf: string; module: ModuleSettings }> {
  let conf = "";
  const prefix = join(dir, "prefix");
  const base = ["--origin-url", "http://127.0.0.1:9", "--prefix", prefix];
  const code = await nginxConfig([...base, ...args], {}, (text) => (conf += text));
  expect(code).toBe(0);
  const module = JSON.parse(readFileSync(join(prefix, SETTINGS_FILE), "utf8")) as ModuleSettings;
  return { conf, module };
}

/** Every key the module is given, and the setting (or flag) it comes from. */
const MODULE_KEYS: { [K in keyof ModuleSettings]: string } = {
  secretFile: "SECRET (--secret-file)",
  secretsPreloaded: "SECRET (--secret-file; its copy nginx's master loads)",
  clientSecrets: "CLIENT_SECRETS (--client-secrets-file)",
  prefixes: "PREFIXES",
  queryPrefixes: "QUERY_TOKEN_PREFIXES",
  bindIp: "BIND_IP",
  mp4Tokens: "MP4_TOKENS",
  expiryLeewaySeconds: "EXPIRY_LEEWAY_S",
  cors: "CORS_ORIGINS",
  cache: "--cache-dir",
  cacheKeyQuery: "CACHE_KEY_QUERY",
  forwardHeaders: "FORWARD_HEADERS",
  origin: "ORIGIN_URL (the origin's address, taken out of Location, Link and the like)",
  trustProxy: "TRUST_PROXY",
};

/**
 * Where each checked setting goes on nginx: a module key, the printed config, or why nginx
 * has no use for it. Typed over every field, so a new one does not compile until it is placed.
 */
const SETTINGS_ON_NGINX: { [K in keyof Settings]: string } = {
  gate: "module keys (see GATE_ON_NGINX)",
  origin: "config: proxy_pass; module: origin",
  originTimeoutMs: "config: proxy_connect_timeout, proxy_read_timeout",
  cors: "module: cors",
  cache: "module: cache, cacheKeyQuery; config: proxy_cache",
  metrics: "not on nginx: nginx has its own status and logs",
  forwardHeaders: "module: forwardHeaders",
};
const GATE_ON_NGINX: { [K in keyof GateSettings]: string } = {
  secrets: "module: secretFile (read per request)",
  clientSecrets: "module: clientSecrets (loaded by nginx)",
  expiryLeewaySeconds: "module: expiryLeewaySeconds",
  prefixes: "module: prefixes",
  now: "not on nginx: the module's clock",
  bindIp: "module: bindIp",
  queryPrefixes: "module: queryPrefixes",
  mp4Tokens: "module: mp4Tokens",
  md5: "not on nginx: njs's native MD5",
};

/**
 * A value other than the default for every setting nginx honours (args of `nginx-config`).
 * A setting the table runs on nginx without a row here fails the test below.
 */
const CHANGED: Partial<Record<SettingName, string[]>> = {
  ORIGIN_URL: ["--origin-url", "https://origin.example.net"],
  SECRET: ["--secret-file", otherSecretFile],
  CLIENT_SECRETS: ["--client-secrets-file", clientsFile],
  PREFIXES: ["--prefixes", "videos,hls"],
  WORKERS: ["--workers", "3"],
  ORIGIN_TIMEOUT_MS: ["--origin-timeout-ms", "12000"],
  CLIENT_TIMEOUT_MS: ["--client-timeout-ms", "13000"],
  KEEPALIVE_TIMEOUT_MS: ["--keepalive-timeout-ms", "14000"],
  ORIGIN_CONNECTIONS: ["--origin-connections", "100"],
  REQUESTS_PER_CLIENT: ["--requests-per-client", "3"],
  BIND_IP: ["--bind-ip", "optional"],
  TRUST_PROXY: ["--trust-proxy", "10.0.0.0/8"],
  QUERY_TOKEN_PREFIXES: ["--query-token-prefixes", "dl"],
  MP4_TOKENS: ["--mp4-tokens", "on"],
  CORS_ORIGINS: ["--cors-origins", "https://player.example"],
  FORWARD_HEADERS: ["--forward-headers", "X-Session"],
  EXPIRY_LEEWAY_S: ["--expiry-leeway-s", "30"],
  CACHE_MAX_BYTES: ["--cache-max-bytes", "1g"],
  CACHE_KEY_QUERY: ["--cache-key-query", "all"],
};

describe("the settings nginx is given", () => {
  const baseArgs = ["--secret-file", secretFile, "--cache-dir", join(dir, "cache")];

  it("are exactly the listed keys, each the checked value", async () => {
    const { module } = await printed([
      ...baseArgs,
      "--client-secrets-file",
      clientsFile,
      "--prefixes",
      "videos,hls",
      "--query-token-prefixes",
      "dl",
      "--bind-ip",
      "on",
      "--mp4-tokens",
      "on",
      "--expiry-leeway-s",
      "30",
      "--cors-origins",
      "https://player.example",
      "--cache-key-query",
      "lang",
      "--forward-headers",
      "X-Session",
      "--trust-proxy",
      "10.0.0.0/8, ::1",
    ]);
    expect(Object.keys(module).sort()).toEqual(Object.keys(MODULE_KEYS).sort());
    expect(module).toEqual({
      secretFile,
      secretsPreloaded: true,
      clientSecrets: true,
      prefixes: ["videos", "hls"],
      queryPrefixes: ["dl"],
      bindIp: "on",
      mp4Tokens: true,
      expiryLeewaySeconds: 30,
      cors: ["https://player.example"],
      cache: true,
      cacheKeyQuery: ["lang"],
      forwardHeaders: ["x-session"],
      origin: "http://127.0.0.1:9",
      // Parsed once by nginx-config, so a request only matches against them.
      trustProxy: [
        { parts: [10, 0, 0, 0], bits: 8 },
        { parts: [0, 0, 0, 0, 0, 0, 0, 1], bits: 128 },
      ],
    } satisfies ModuleSettings);
  });

  it("place every checked setting, or say why nginx has no use for it", () => {
    // The typed tables above list every field; these catch a field added at run time only.
    const settings = readSettings({ ORIGIN_URL: "http://127.0.0.1:9", SECRET: "s3cret-one" });
    expect(Object.keys(settings).sort()).toEqual(Object.keys(SETTINGS_ON_NGINX).sort());
    expect(Object.keys(settings.gate).sort()).toEqual(Object.keys(GATE_ON_NGINX).sort());
  });

  it("come each from a setting or flag the table runs on nginx", () => {
    const onNginx = new Set<string>();
    for (const spec of Object.values(SETTINGS)) {
      if (spec.runtimes.includes("nginx")) onNginx.add(spec.env!);
    }
    for (const spec of Object.values(NGINX_FLAGS)) onNginx.add(`--${spec.flag!}`);
    const sources = Object.entries(MODULE_KEYS).map(([key, from]) => [key, from.split(" ")[0]]);
    expect(sources.filter(([, from]) => !onNginx.has(from!))).toEqual([]);
  });

  it("are taken by nginx-config exactly for the settings the table runs on nginx", () => {
    const mismatched = Object.values(SETTINGS)
      .filter((spec) => spec.commands.includes("nginx-config") !== spec.runtimes.includes("nginx"))
      .map((spec) => spec.env);
    expect(mismatched).toEqual([]);
  });

  it.each(
    Object.values(SETTINGS)
      .filter((spec) => spec.runtimes.includes("nginx"))
      .map((spec) => [spec.env!] as const),
  )("change with %s, which the table says nginx honours", async (name) => {
    const args = CHANGED[name as SettingName];
    expect(args, `no changed value for ${name} in this test`).toBeDefined();
    const before = await printed(baseArgs);
    const after = await printed(
      name === "SECRET" ? [...args!, ...baseArgs.slice(2)] : [...baseArgs, ...args!],
    );
    expect(after.conf + JSON.stringify(after.module)).not.toBe(
      before.conf + JSON.stringify(before.module),
    );
  });
});
