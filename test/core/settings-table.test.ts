import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  NGINX_FLAGS,
  parseSetting,
  parseSettings,
  SETTINGS,
  workerBindings,
  WORKER_BINDINGS,
  type SettingSpec,
} from "../../src/core/settings-table.js";
import { parseInteger, readSettings, SettingError } from "../../src/core/settings.js";
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
    expect([...WORKER_BINDINGS].sort()).toEqual(
      [
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
      ].sort(),
    );
  });

  it("is what the committed docs/configuration.md says (run npm run docs:settings)", () => {
    expect(readFileSync("docs/configuration.md", "utf8")).toBe(configurationPage());
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
