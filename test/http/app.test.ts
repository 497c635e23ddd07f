import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateSettings } from "../../src/core/decide.js";
import { md5Base64url } from "../../src/core/md5.js";
import { readSettings } from "../../src/core/settings.js";
import { createApp } from "../../src/http/app.js";
import { SECRET, signedPath } from "../helpers/links.js";

// Built in each test, not at import: Stryker activates a mutant only once tests start and
// counts code run at import as covered by no test, so a table built here would hide mutants.
let settings!: ReturnType<typeof readSettings>;
beforeEach(() => {
  settings = readSettings({ ORIGIN_URL: "http://origin.test", SECRET });
});

/** The headers the origin got for one granted request through `createApp`. */
async function originHeaders(options: Parameters<typeof createApp>[1] = {}) {
  let sent: Headers | undefined;
  vi.stubGlobal("fetch", async (_: string, init: RequestInit) => {
    sent = new Headers(init.headers);
    return new Response("ok");
  });
  const app = createApp(settings, options);
  const res = await app.request(signedPath("a.ts"), {
    headers: { "cf-connecting-ip": "6.6.6.6", "x-forwarded-for": "7.7.7.7" },
  });
  expect(res.status).toBe(200);
  return sent!;
}

afterEach(() => vi.unstubAllGlobals());

describe("createApp's origin request", () => {
  it("does not take a client's CF-Connecting-IP for its address by default", async () => {
    const sent = await originHeaders();
    expect(sent.get("x-forwarded-for")).toBeNull();
    expect(sent.get("cf-connecting-ip")).toBeNull();
    expect(sent.get("x-forwarded-proto")).toBe("http");
  });

  it("sends the address clientAddress gives", async () => {
    const sent = await originHeaders({ clientAddress: () => "203.0.113.9" });
    expect(sent.get("x-forwarded-for")).toBe("203.0.113.9");
  });
});

describe("createApp's settings", () => {
  it("are the checked settings themselves, down to the gate's MD5 (not fields copied back into options)", async () => {
    let calls = 0;
    const gate = gateSettings({
      secret: SECRET,
      md5: (text) => (calls++, md5Base64url(text)),
    });
    vi.stubGlobal("fetch", async () => new Response("ok"));
    const app = createApp({ ...settings, gate });
    expect((await app.request(signedPath("a.ts"))).status).toBe(200);
    expect(calls).toBeGreaterThan(0);
  });
});
