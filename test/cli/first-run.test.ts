/** First runs that do not trap: messages that say what to type instead. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, serve } from "../helpers/serve.js";

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
  });
}

/**
 * Runs `body` with a fresh folder holding a secret file and nginx-config's arguments for them
 * (the secret file, a prefix inside the folder), then removes the folder.
 */
function inConfigFolder(body: (dir: string, args: string[]) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "tokengate-first-run-"));
  try {
    writeFileSync(join(dir, "secret"), "a-secret-worth-keeping\n");
    body(dir, ["nginx-config", "--secret-file", join(dir, "secret"), "--prefix", join(dir, "p")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("first runs", () => {
  it("serve without a secret names --secret-file", () => {
    const result = run(["serve", "--origin-url", "http://127.0.0.1:9", "--port", "0"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^tokengate: SECRET: not set; .*--secret-file/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it.each([
    ["serve", "--secert-file", "--secret-file"],
    ["serve", "--orgin-url", "--origin-url"],
    ["sign", "--clinet", "--client"],
    ["check", "--secret", "--secret-file"],
    ["nginx-config", "--cache-dri", "--cache-dir"],
  ])("%s %s names the nearest known flag (%s) and --help", (command, typo, nearest) => {
    const result = run([command, typo, "x"]);
    expect(result.status).toBe(2);
    const line = result.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain(`Unknown option '${typo}'`);
    expect(line).toContain(`did you mean ${nearest}?`);
    expect(line).toContain(`tokengate ${command} --help`);
  });

  it("names no flag when none is near, but still --help", () => {
    const line = run(["sign", "--zzzzzzzzzz"]).stderr.trim();
    expect(line).not.toContain("did you mean");
    expect(line).toContain("tokengate sign --help");
  });

  it("check --help lists every flag check takes, --ip among them", () => {
    const help = run(["check", "--help"]).stdout;
    for (const flag of ["--ip", "--bind-ip", "--query-token-prefixes", "--mp4-tokens"]) {
      expect(help).toContain(flag);
    }
  });
});

describe("sign refuses a link that would be expired", () => {
  const env = { SECRET: "abcdefghijklmnop1234" };
  const past = String(Math.floor(Date.now() / 1000) - 60);
  const future = String(Math.floor(Date.now() / 1000) + 3600);

  it.each([
    ["a stream link", ["--client", "1", "--video", "v"]],
    ["an MP4 link", ["--client", "1", "--video", "v", "--mp4", "--file", "a.mp4"]],
    ["a CDN query token", ["--path", "/videos/a.m3u8"]],
  ])("--expires in the past is refused for %s, naming --force", (_, args) => {
    const result = run(["sign", ...args, "--expires", past], env);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/would be expired/);
    expect(lines[0]).toContain("--force");
  });

  it("--force signs it anyway", () => {
    const result = run(
      ["sign", "--client", "1", "--video", "v", "--expires", past, "--force"],
      env,
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`/${past}/master.m3u8`);
  });

  it("--expires in the future needs no --force", () => {
    const result = run(["sign", "--client", "1", "--video", "v", "--expires", future], env);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`/${future}/master.m3u8`);
  });

  it.each(["0", "0s", "--ttl=-5s", "--ttl=-1h"])("--ttl %s is refused in one line", (ttl) => {
    const flag = ttl.startsWith("--") ? [ttl] : ["--ttl", ttl];
    const result = run(["sign", "--client", "1", "--video", "v", ...flag, "--force"], env);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^tokengate: sign: ttl/);
  });
});

describe("an ORIGIN_URL whose path repeats a guarded prefix", () => {
  it("serve warns in one line on stderr and starts anyway", async () => {
    const gate = await serve({
      SECRET: "abcdefghijklmnop1234",
      ORIGIN_URL: "http://127.0.0.1:9/videos",
    });
    // Read once it has stopped: stderr may arrive after the line on stdout that it listens.
    expect(await gate.stop()).toBe(0);
    const warning = gate.stderr.join("").trim();
    expect(warning.split("\n")).toHaveLength(1);
    expect(warning).toMatch(/ORIGIN_URL: .*\/videos\/videos\//);
  });

  it("serve says nothing for an ORIGIN_URL without it", async () => {
    const gate = await serve({
      SECRET: "abcdefghijklmnop1234",
      ORIGIN_URL: "http://127.0.0.1:9/media",
    });
    expect(await gate.stop()).toBe(0);
    expect(gate.stderr.join("")).toBe("");
  });

  // A review found nginx-config advising "set CACHE=on", which it does not read, and dropping
  // CACHE_MAX_BYTES from the environment though its --help says each flag overrides it.
  it("nginx-config's cache settings without --cache-dir name --cache-dir; with it, CACHE_MAX_BYTES is read", () => {
    inConfigFolder((dir, args) => {
      const env = { ORIGIN_URL: "http://127.0.0.1:9" };
      for (const [extra, extraEnv, setting] of [
        [["--cache-max-bytes", "64m"], {}, "--cache-max-bytes"],
        [["--cache-key-query", "v"], {}, "CACHE_KEY_QUERY"],
        [[], { CACHE_KEY_QUERY: "v" }, "CACHE_KEY_QUERY"],
      ] as const) {
        const result = run([...args, ...extra], { ...env, ...extraEnv });
        expect([setting, result.status, result.stdout]).toEqual([setting, 2, ""]);
        expect(result.stderr).toBe(
          `tokengate: ${setting}: nginx's cache is off: pass --cache-dir DIR too\n`,
        );
      }
      // CACHE_MAX_BYTES alone in the environment (shared with serve): no cache, nothing said.
      const shared = run(args, { ...env, CACHE_MAX_BYTES: "64m" });
      expect([shared.status, shared.stderr]).toEqual([0, ""]);
      expect(shared.stdout).not.toContain("proxy_cache_path");
      const cacheDir = join(dir, "cache");
      const sized = run([...args, "--cache-dir", cacheDir], { ...env, CACHE_MAX_BYTES: "64m" });
      expect(sized.status).toBe(0);
      expect(sized.stdout).toMatch(/\n *max_size=67108864 /);
      const flagged = run([...args, "--cache-dir", cacheDir, "--cache-max-bytes", "32m"], {
        ...env,
        CACHE_MAX_BYTES: "64m",
      });
      expect(flagged.stdout).toMatch(/\n *max_size=33554432 /);
    });
  });

  it("nginx-config warns in one line on stderr and still prints the config", () => {
    inConfigFolder((_, args) => {
      const result = run([...args, "--origin-url", "http://127.0.0.1:9/cmaf"]);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("proxy_pass");
      const warning = result.stderr.trim();
      expect(warning.split("\n")).toHaveLength(1);
      expect(warning).toMatch(/^tokengate: warning: ORIGIN_URL: .*\/cmaf\/cmaf\//);
      const plain = run([...args, "--origin-url", "http://127.0.0.1:9"]);
      expect(plain.status).toBe(0);
      expect(plain.stderr).toBe("");
    });
  });
});

// Found by a flaky test: serve said it listened before it took the signals, so a SIGTERM sent
// on that line (a supervisor's, a test's) killed it mid-start instead of shutting it down.
describe("a SIGTERM the moment serve says it listens", () => {
  it("shuts it down gracefully (exit 0, its shutdown line), every time", async () => {
    const stopped = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const gate = await serve({
          SECRET: "abcdefghijklmnop1234",
          ORIGIN_URL: "http://127.0.0.1:9/media",
        });
        return { code: await gate.stop(), lines: gate.lines.join("\n") };
      }),
    );
    expect(stopped.map(({ code }) => code)).toEqual(stopped.map(() => 0));
    for (const { lines } of stopped) expect(lines).toContain("shutting down");
  });
});
