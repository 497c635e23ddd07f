import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  NGINX_FLAGS,
  parseSetting,
  parseSettings,
  SETTINGS,
  workerBindings,
  WORKER_BINDINGS,
  type SettingName,
  type SettingSpec,
} from "../../src/core/settings-table.js";
import { parseInteger, readSettings, SettingError } from "../../src/core/settings.js";
import type { AddressRanges } from "../../src/core/ip.js";
import { gateServerOptions, readServerConfig } from "../../src/adapter/node/config.js";
import { envWithFlags, flagOptions } from "../../src/cli/args.js";
import { HELP, optionLines } from "../../src/cli/help.js";
import { configurationPage } from "../../src/cli/settings-doc.js";

const GOOD = { ORIGIN_URL: "https://origin.example.com", SECRET: "s3cret-s3cret" };

/** The table with one setting more, as a contributor would add it. */
const EXTENDED: Record<string, SettingSpec> = {
  ...SETTINGS,
  SEGMENT_BUDGET: {
    env: "SEGMENT_BUDGET",
    flag: "segment-budget",
    arg: "N",
    commands: ["serve", "nginx-config"],
    worker: "var",
    runtimes: ["node", "worker", "nginx"],
    default: "7",
    help: "segments a player may fetch ahead",
    docs: "Segments a player may fetch ahead of its position.",
    parse: (text) => parseInteger("SEGMENT_BUDGET", text, 7, 0, 9),
  },
};

describe("the settings table", () => {
  it("gives a setting added to it an environment variable, a flag, help and docs", () => {
    expect(parseSetting(EXTENDED, "SEGMENT_BUDGET", {})).toBe(7);
    expect(parseSetting(EXTENDED, "SEGMENT_BUDGET", { SEGMENT_BUDGET: " 3 " })).toBe(3);
    expect(
      parseSettings({ SEGMENT_BUDGET: EXTENDED.SEGMENT_BUDGET! }, { SEGMENT_BUDGET: "4" }),
    ).toEqual({ SEGMENT_BUDGET: 4 });
    // Its error is typed and names it; nothing reads the name back out of the message.
    let error: unknown;
    try {
      parseSetting(EXTENDED, "SEGMENT_BUDGET", { SEGMENT_BUDGET: "10" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingError);
    expect((error as SettingError).setting).toBe("SEGMENT_BUDGET");
    expect((error as SettingError).detail).toMatch(/^must be a whole number from 0 to 9/);

    const specs = Object.values(EXTENDED);
    for (const command of ["serve", "nginx-config"] as const) {
      expect(flagOptions(specs, command)).toHaveProperty("segment-budget", { type: "string" });
      expect(
        envWithFlags(specs, command, {}, { SEGMENT_BUDGET: "2" }, () => undefined),
      ).toMatchObject({ SEGMENT_BUDGET: "2" });
      expect(
        envWithFlags(
          specs,
          command,
          { "segment-budget": "5" },
          { SEGMENT_BUDGET: "2" },
          () => undefined,
        ),
      ).toMatchObject({ SEGMENT_BUDGET: "5" });
      expect(optionLines(specs, command)).toMatch(
        /^ {2}--segment-budget N +SEGMENT_BUDGET +segments a player may fetch ahead \[7\]$/m,
      );
    }
    expect(workerBindings(EXTENDED)).toContain("SEGMENT_BUDGET");
    const page = configurationPage(EXTENDED, NGINX_FLAGS);
    expect(page).toContain(
      "## SEGMENT_BUDGET\n\nSegments a player may fetch ahead of its position.",
    );
    expect(page).toContain("| [SEGMENT_BUDGET](#segment_budget) | `--segment-budget N` |");
  });

  it("names each entry by its variable, and every flag of serve and nginx-config is in their --help", () => {
    for (const [name, spec] of Object.entries(SETTINGS)) expect(spec.env).toBe(name);
    for (const spec of Object.values(SETTINGS)) {
      if (spec.commands.includes("serve")) expect(HELP.serve).toContain(`--${spec.flag} `);
      if (spec.commands.includes("nginx-config")) {
        expect(HELP.nginxConfig).toContain(`--${spec.flag} `);
      }
    }
    for (const spec of Object.values(NGINX_FLAGS)) {
      expect(HELP.nginxConfig).toContain(`--${spec.flag} `);
    }
  });

  it("gives the Worker exactly the bindings wrangler.toml and its Env may carry", () => {
    const bindings = [
      "SECRET",
      "ORIGIN_URL",
      "PREFIXES",
      "ORIGIN_TIMEOUT_MS",
      "BIND_IP",
      "QUERY_TOKEN_PREFIXES",
      "MP4_TOKENS",
      "CORS_ORIGINS",
      "EXPIRY_LEEWAY_S",
      "CLIENT_SECRETS",
      "CACHE",
      "CACHE_DEFAULT_TTL_S",
      "CACHE_KEY_QUERY",
      "METRICS",
      "FORWARD_HEADERS",
    ].sort();
    expect([...WORKER_BINDINGS].sort()).toEqual(bindings);
    // Computed anew from the table, as a table with a setting more is (not only at import).
    expect(workerBindings().sort()).toEqual(bindings);
  });

  it("is what the committed docs/configuration.md says (run npm run docs:settings)", () => {
    expect(readFileSync("docs/configuration.md", "utf8")).toBe(configurationPage());
  });
});

/** A refusal as a row expects it: the SettingError's whole message. */
const refused = (message: string) => ({ refused: message });

/**
 * One setting's value read from its variable through the table, or its refusal; a refusal must
 * be a SettingError whose `setting` is the one read (callers rely on it, not on the message).
 */
function read(name: SettingName, value: unknown): unknown {
  try {
    return parseSetting(SETTINGS, name, value === undefined ? {} : { [name]: value });
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    expect(error.setting).toBe(name);
    return refused(error.message);
  }
}

/** Per setting: [its text, or undefined for unset; what it reads as]. */
const ROWS: Record<SettingName, [text: string | undefined, expected: unknown][]> = {
  ORIGIN_URL: [
    [
      undefined,
      refused("ORIGIN_URL: not set; give the origin's base URL, e.g. https://origin.example.com"),
    ],
    [" https://origin.test/media/ ", "https://origin.test/media"],
  ],
  SECRET: [
    [undefined, []],
    ["", []],
    [" new old\n", ["new", "old"]],
    [
      "a,,b",
      refused(
        "SECRET: has an empty entry (a comma too many); separate secrets with one comma or space",
      ),
    ],
    [" ", refused("SECRET: holds only whitespace; set the secret your links are signed with")],
  ],
  CLIENT_SECRETS: [
    [undefined, undefined],
    [" \n", undefined],
    ['{"2675": "new old"}', { 2675: ["new", "old"] }],
    ["{}", refused("CLIENT_SECRETS: names no client; unset it to use SECRET for all")],
  ],
  PREFIXES: [
    [undefined, ["videos", "cmaf", "mpegts"]],
    [" live , vod ", ["live", "vod"]],
    ["live,live", refused('PREFIXES: lists "live" twice')],
  ],
  HOST: [
    [undefined, "127.0.0.1"],
    [" ", "127.0.0.1"],
    [" ::1 ", "::1"],
    ["not a host", refused('HOST: "not a host" is not an IP address or host name')],
  ],
  PORT: [
    [undefined, 8787],
    ["0", 0],
    ["65536", refused('PORT: must be a whole number from 0 to 65535, got "65536"')],
  ],
  WORKERS: [
    [undefined, 1],
    [" auto ", "auto"],
    [" 256 ", 256],
    ["0", refused('WORKERS: must be a whole number from 1 to 256, got "0"')],
    [" 257 ", refused('WORKERS: must be a whole number from 1 to 256, got "257"')],
  ],
  LISTEN_SOCKETS: [
    [undefined, undefined],
    [" ", undefined],
    ["auto", undefined],
    ["1024", 1024],
    ["1025", refused('LISTEN_SOCKETS: must be a whole number from 1 to 1024, got "1025"')],
  ],
  ORIGIN_TIMEOUT_MS: [
    [undefined, 30_000],
    ["0", 0],
    ["99", refused('ORIGIN_TIMEOUT_MS: must be 0 (none) or from 100 to 3600000 ms, got "99"')],
  ],
  CLIENT_TIMEOUT_MS: [
    [undefined, 60_000],
    ["0", 0],
    ["99", refused('CLIENT_TIMEOUT_MS: must be 0 (none) or from 100 to 3600000 ms, got "99"')],
  ],
  REQUEST_TIMEOUT_MS: [
    [undefined, 60_000],
    ["100", 100],
    ["0", refused('REQUEST_TIMEOUT_MS: must be a whole number from 100 to 3600000, got "0"')],
  ],
  KEEPALIVE_TIMEOUT_MS: [
    [undefined, 65_000],
    ["3600000", 3_600_000],
    [
      "3600001",
      refused('KEEPALIVE_TIMEOUT_MS: must be a whole number from 100 to 3600000, got "3600001"'),
    ],
  ],
  MAX_CONNECTIONS: [
    [undefined, 10_000],
    ["0", 0],
    [
      "1000001",
      refused('MAX_CONNECTIONS: must be a whole number from 0 to 1000000, got "1000001"'),
    ],
  ],
  ORIGIN_CONNECTIONS: [
    [undefined, 512],
    ["65536", 65_536],
    ["0", refused('ORIGIN_CONNECTIONS: must be a whole number from 1 to 65536, got "0"')],
  ],
  REQUESTS_PER_CLIENT: [
    // Unset: no number, so that ORIGIN_CONNECTIONS gives the default (0 would be no limit).
    [undefined, undefined],
    [" ", undefined],
    ["0", 0],
    ["65537", refused('REQUESTS_PER_CLIENT: must be a whole number from 0 to 65536, got "65537"')],
  ],
  ORIGIN_KEEPALIVE: [
    [undefined, true],
    ["off", false],
    ["ON", refused('ORIGIN_KEEPALIVE: must be on or off, got "ON"')],
  ],
  LOG_FORMAT: [
    [undefined, "json"],
    [" ", "json"],
    [" pretty ", "pretty"],
    ["JSON", refused('LOG_FORMAT: must be json or pretty, got "JSON"')],
  ],
  BIND_IP: [
    [undefined, "off"],
    [" optional ", "optional"],
    ["on", "on"],
    ["yes", refused('BIND_IP: must be off, on or optional, got "yes"')],
  ],
  TRUST_PROXY: [
    [undefined, undefined],
    [" ", undefined],
    ["10.0.0.1,", refused("TRUST_PROXY: has an empty entry (a comma too many)")],
    ["proxy.local", refused('TRUST_PROXY: "proxy.local" is not an IP address or CIDR range')],
  ],
  QUERY_TOKEN_PREFIXES: [
    [undefined, []],
    [" ", []],
    [" * ", "*"],
    [" images , vod ", ["images", "vod"]],
    [" x,,y ", refused('QUERY_TOKEN_PREFIXES: has an empty entry (a comma too many) in "x,,y"')],
  ],
  MP4_TOKENS: [
    [undefined, false],
    ["on", true],
    ["yes", refused('MP4_TOKENS: must be on or off, got "yes"')],
  ],
  CORS_ORIGINS: [
    [undefined, undefined],
    [" * ", "*"],
    [
      "player.example",
      refused('CORS_ORIGINS: "player.example" is not an origin like https://player.example.com'),
    ],
  ],
  FORWARD_HEADERS: [
    [undefined, []],
    ["DNT", ["dnt"]],
    ["X-A,,X-B", refused('FORWARD_HEADERS: has an empty entry (a comma too many) in "X-A,,X-B"')],
  ],
  EXPIRY_LEEWAY_S: [
    [undefined, 0],
    ["86400", 86_400],
    ["86401", refused('EXPIRY_LEEWAY_S: must be a whole number from 0 to 86400, got "86401"')],
  ],
  METRICS: [
    [undefined, true],
    ["off", false],
    ["yes", refused('METRICS: must be on or off, got "yes"')],
  ],
  METRICS_LISTEN: [
    [undefined, { host: "127.0.0.1", port: 9464 }],
    ["off", undefined],
    [
      "9464",
      refused(
        'METRICS_LISTEN: must be host:port (e.g. 127.0.0.1:9464 or [::1]:9464) or off, got "9464"',
      ),
    ],
  ],
  CACHE: [
    [undefined, false],
    ["on", true],
    ["yes", refused('CACHE: must be on or off, got "yes"')],
  ],
  CACHE_MAX_BYTES: [
    [undefined, 0],
    ["1g", 2 ** 30],
    [
      "1x",
      refused(
        'CACHE_MAX_BYTES: must be a size in bytes, e.g. 268435456 or 256m (up to 1024g), got "1x"',
      ),
    ],
  ],
  CACHE_DEFAULT_TTL_S: [
    [undefined, 60],
    ["0", 0],
    ["-1", refused('CACHE_DEFAULT_TTL_S: must be a whole number from 0 to 31536000, got "-1"')],
  ],
  CACHE_KEY_QUERY: [
    [undefined, "none"],
    ["all", "all"],
    [
      "a&b",
      refused(
        'CACHE_KEY_QUERY: must be all, none or a comma list of query parameter names, got "a&b"',
      ),
    ],
  ],
};

describe("each setting read through the table", () => {
  it("has rows below, every one of them", () => {
    expect(Object.keys(ROWS).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  it.each(Object.entries(ROWS) as [SettingName, (typeof ROWS)[SettingName]][])(
    "%s: unset gives its default, a value reads exactly, a bad one is refused naming it with its reason",
    (name, rows) => {
      for (const [text, expected] of rows)
        expect(read(name, text), JSON.stringify(text)).toEqual(expected);
    },
  );

  it("reads TRUST_PROXY's ranges, spaces around them and around entries allowed", () => {
    const trusted = read("TRUST_PROXY", " 10.0.0.0/8 , ::1 ") as AddressRanges;
    expect(["10.1.2.3", "::1", "11.0.0.1", "::2"].map((address) => trusted.has(address))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it("refuses a Worker binding that is not a string, saying what it is and to quote it", () => {
    const advice = "(in wrangler.toml, quote the value)";
    expect(read("EXPIRY_LEEWAY_S", 30)).toEqual(
      refused(`EXPIRY_LEEWAY_S: must be a string, got a number ${advice}`),
    );
    expect(read("PREFIXES", ["videos"])).toEqual(
      refused(`PREFIXES: must be a string, got a list ${advice}`),
    );
    expect(read("MP4_TOKENS", true)).toEqual(
      refused(`MP4_TOKENS: must be a string, got a boolean ${advice}`),
    );
    expect(read("CACHE", { on: true })).toEqual(
      refused(`CACHE: must be a string, got a object ${advice}`),
    );
    // null, as a JSON binding may be: unset.
    expect(read("MP4_TOKENS", null)).toBe(false);
    expect(read("PORT", null)).toBe(8787);
  });

  it("reads a command's own flag (no variable) by its key", () => {
    expect(parseSettings(NGINX_FLAGS, { listen: "0.0.0.0:80", prefix: "/srv/gate" })).toEqual({
      listen: "0.0.0.0:80",
      prefix: "/srv/gate",
      jsModule: undefined,
      cacheDir: undefined,
    });
  });
});

describe("settings errors", () => {
  it("name the setting behind a gateSettings option without reading its message", () => {
    const named = (env: Record<string, string>) => {
      try {
        readSettings({ ...GOOD, ...env });
      } catch (error) {
        expect(error).toBeInstanceOf(SettingError);
        return [(error as SettingError).setting, (error as SettingError).detail];
      }
      return undefined;
    };
    expect(named({ PREFIXES: "a/b" })).toEqual(["PREFIXES", '"a/b" is not a single path segment']);
    expect(named({ QUERY_TOKEN_PREFIXES: "videos" })).toEqual([
      "QUERY_TOKEN_PREFIXES",
      '"videos" is a stream prefix too; a path has one form',
    ]);
    expect(
      named({ SECRET: "", CLIENT_SECRETS: '{"1": "abc"}', QUERY_TOKEN_PREFIXES: "*" }),
    ).toEqual([
      "QUERY_TOKEN_PREFIXES",
      "CDN tokens name no client, so they need SECRET besides CLIENT_SECRETS",
    ]);
    expect(named({ CLIENT_SECRETS: '{"1": "a,,b"}' })?.[0]).toBe("CLIENT_SECRETS");
  });
});

describe("the Node server's configuration", () => {
  it("reads the gate settings once and hands that object to the server", () => {
    const config = readServerConfig({ ...GOOD, CACHE: "on" }, 2);
    expect(gateServerOptions(config).settings).toBe(config.settings);
    expect(config.settings.origin).toBe("https://origin.example.com");
  });
});

describe("the layout", () => {
  it("has no adapter importing another adapter", async () => {
    const { readdirSync } = await import("node:fs");
    const adapters = ["node", "workers", "nginx"];
    for (const adapter of adapters) {
      for (const file of readdirSync(`src/adapter/${adapter}`)) {
        if (!file.endsWith(".ts")) continue;
        const text = readFileSync(`src/adapter/${adapter}/${file}`, "utf8");
        for (const other of adapters.filter((one) => one !== adapter)) {
          expect(text, `${adapter}/${file} imports ${other}`).not.toMatch(
            new RegExp(`from "\\.\\./${other}/`),
          );
        }
      }
    }
  });
});
