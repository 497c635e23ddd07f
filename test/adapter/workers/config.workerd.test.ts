import { describe, expect, it, vi } from "vitest";
import worker from "../../../src/adapter/workers/index.js";

const ctx = {
  waitUntil() {},
  passThroughOnException() {},
  props: {},
} as unknown as ExecutionContext;
const get = (env: Partial<Env>, path = "/videos/2675_a/AAAAAAAAAAAAAAAAAAAAAA/1861919999/x.ts") =>
  worker.fetch(new Request(`https://gate.test${path}`), env as Env, ctx);

describe("misconfiguration fails closed", () => {
  it.each([
    ["SECRET is missing", { ORIGIN_URL: "https://origin.test" }, "SECRET"],
    ["SECRET is empty", { ORIGIN_URL: "https://origin.test", SECRET: "" }, "SECRET"],
    ["ORIGIN_URL is missing", { SECRET: "s" }, "ORIGIN_URL"],
    ["ORIGIN_URL is not a URL", { SECRET: "s", ORIGIN_URL: "origin.internal:8080" }, "ORIGIN_URL"],
    ["ORIGIN_URL is ftp", { SECRET: "s", ORIGIN_URL: "ftp://origin.test" }, "ORIGIN_URL"],
    [
      "PREFIXES has a slash",
      { SECRET: "s", ORIGIN_URL: "https://o.test", PREFIXES: "a/b" },
      "PREFIXES",
    ],
    [
      "ORIGIN_TIMEOUT_MS is not a number",
      { SECRET: "s", ORIGIN_URL: "https://o.test", ORIGIN_TIMEOUT_MS: "soon" },
      "ORIGIN_TIMEOUT_MS",
    ],
  ])("answers every request with 500 naming the setting when %s", async (_, env, setting) => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const path of [undefined, "/", "/healthz"]) {
      const res = await get(env as Env, path);
      expect(res.status).toBe(500);
      const body = await res.text();
      expect(body).toContain(setting);
      expect(body).not.toContain("origin.internal");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    expect(errors.mock.calls.flat().join(" ")).toContain(setting);
    errors.mockRestore();
  });

  it("serves again once the settings are fixed", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await get({ ORIGIN_URL: "https://o.test" })).status).toBe(500);
    const res = await get({ ORIGIN_URL: "https://o.test", SECRET: "s" }, "/nothing-here");
    expect(res.status).toBe(404);
  });
});

describe("an ORIGIN_URL whose path repeats a guarded prefix", () => {
  it("is logged once, and the Worker serves", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const env = { ORIGIN_URL: "https://o.test/videos", SECRET: "s" };
    for (let i = 0; i < 3; i++) {
      expect((await get(env, "/nothing-here")).status).toBe(404);
    }
    const logged = warnings.mock.calls.map((call) => call.join(" "));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^tokengate: ORIGIN_URL: .*\/videos\/videos\//);
    warnings.mockRestore();
  });
});
