/** `tokengate secret`: a new random secret to start with, as the README's first steps use it. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI } from "../helpers/serve.js";

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
  });
}

describe("tokengate secret", () => {
  it("prints a new random secret of 32 bytes in hex, a different one each time", () => {
    const first = run(["secret"]);
    const second = run(["secret"]);
    expect(first.status).toBe(0);
    expect(first.stderr).toBe("");
    expect(first.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(second.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(second.stdout).not.toBe(first.stdout);
  });

  it("prints a secret that signs and verifies links", () => {
    const secret = run(["secret"]).stdout.trim();
    const link = run(["sign", "--client", "2675", "--video", "abc"], { SECRET: secret });
    expect(link.status).toBe(0);
    const verdict = run(["check", link.stdout.trim()], { SECRET: secret });
    expect(verdict.stdout).toMatch(/^200 /);
  });

  it("has --help, and refuses arguments", () => {
    const help = run(["secret", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tokengate secret/);
    const extra = run(["secret", "--bytes", "8"]);
    expect(extra.status).toBe(2);
    expect(extra.stdout).toBe("");
  });

  it("is listed in tokengate --help", () => {
    expect(run(["--help"]).stdout).toMatch(/tokengate secret\s/);
  });
});
