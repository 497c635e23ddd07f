import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { secureLink, type SecureLinkVariables } from "../../src/http/middleware.js";
import { signToken } from "../../src/core/token.js";
import { gateSettings } from "../../src/core/decide.js";
import { md5Base64url } from "../../src/core/md5.js";
import { readSettings } from "../../src/core/settings.js";

const SECRET = "middleware-secret";
const NOW = 1_800_000_000;

function path(expires = NOW, file = "a.ts") {
  const token = signToken({ clientId: "7", videoId: "vid", secret: SECRET, expires });
  return `/videos/7_vid/${token}/${expires}/${file}`;
}

function app(options: Partial<Parameters<typeof secureLink>[0]> = {}) {
  const app = new Hono<{ Variables: SecureLinkVariables }>();
  app.use(secureLink({ secret: SECRET, now: () => NOW, ...options }));
  app.get("/healthz", (c) => c.text("ok"));
  app.get("*", (c) => {
    const grant = c.get("secureLink");
    return c.json(
      grant?.action === "proxy" && grant.form === "stream"
        ? { target: grant.target, link: grant.link }
        : null,
    );
  });
  return app;
}

describe("secureLink()", () => {
  it("hands a valid link to the next handler with the origin target", async () => {
    const res = await app().request(path(NOW, "720/seg.ts") + "?part=4");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { target: string; link: { videoId: string } };
    expect(body.target).toBe("/videos/7_vid/720/seg.ts?part=4");
    expect(body.link.videoId).toBe("vid");
  });

  it("leaves routes outside its prefixes to the app", async () => {
    const res = await app().request("/healthz");
    expect(await res.text()).toBe("ok");
  });

  it("answers 410 when the link expired a second ago", async () => {
    const res = await app().request(path(NOW - 1));
    expect(res.status).toBe(410);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("Gone: link expired\n");
  });

  it("still serves a link during its last second", async () => {
    expect((await app().request(path(NOW))).status).toBe(200);
  });

  it("answers 405 with Allow to other methods", async () => {
    const res = await app().request(path(), { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("guards the prefixes it is given and no others", async () => {
    const live = app({ prefixes: ["mpegts"] });
    expect((await live.request(path().replace("/videos/", "/mpegts/"))).status).toBe(200);
    const res = await live.request(
      path()
        .replace("/videos/", "/mpegts/")
        .replace(/\/\d+\//, `/${NOW + 1}/`),
    );
    expect(res.status).toBe(403);
    expect((await live.request(path())).status).toBe(200); // /videos/ is now the app's business
  });

  it("judges the raw target it is given rather than the normalised URL", async () => {
    const raw = path(NOW, "x/../../7_other/a.ts");
    const res = await app({ target: () => raw }).request("/videos/7_vid/normalised");
    expect(res.status).toBe(403);
  });

  it("lets onReject shape the answer, and the app's error handler still sees it", async () => {
    const custom = app({
      onReject: (c, refusal) => c.json({ reason: refusal.reason }, refusal.status),
    });
    const res = await custom.request(path(NOW - 10));
    expect(res.status).toBe(410);
    expect(await res.json()).toEqual({ reason: "expired" });
  });

  it("answers HEAD refusals without a body", async () => {
    const res = await app().request(path(NOW - 1), { method: "HEAD" });
    expect(res.status).toBe(410);
    expect(await res.text()).toBe("");
  });

  it.each([
    ["no secret", { secret: "" }, /secret/],
    ["an undefined secret", { secret: undefined }, /secret/],
    ["an empty prefix list", { prefixes: [] }, /prefixes/],
    ["a prefix with a slash", { prefixes: ["a/b"] }, /prefixes: "a\/b"/],
    ["a dot prefix", { prefixes: [".."] }, /prefixes/],
    ["a clock that is not a function", { now: 5 }, /now/],
  ])("refuses to start with %s", (_, options, message) => {
    expect(() => secureLink({ secret: SECRET, ...options } as never)).toThrow(message);
  });

  it("returns a named handler for readable stack traces", () => {
    expect(secureLink({ secret: SECRET }).name).toBe("secureLink");
  });
});

describe("secureLink({ settings }) with readSettings' result", () => {
  // Built in each test: a mutant is active only once tests start.
  let settings!: ReturnType<typeof readSettings>;
  beforeEach(() => {
    settings = readSettings({ ORIGIN_URL: "http://origin.test", SECRET }, () => NOW);
  });
  function checkedApp() {
    const app = new Hono<{ Variables: SecureLinkVariables }>();
    app.use(secureLink({ settings }));
    app.get("*", (c) => c.text(c.get("secureLink")?.action ?? "pass"));
    return app;
  }

  it.each([
    ["a valid link", path(NOW), 200, "proxy"],
    ["an expired link", path(NOW - 1), 410, "Gone: link expired\n"],
    [
      "a wrong token",
      path(NOW).replace("/videos/7_vid/", "/videos/7_vie/"),
      403,
      "Forbidden: invalid token\n",
    ],
    ["a path outside the prefixes", "/healthz", 200, "pass"],
  ])("answers %s as the options would", async (_, target, status, body) => {
    const res = await checkedApp().request(target);
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(body);
  });

  it("uses the checked settings as they are, not a copy of their fields", async () => {
    let calls = 0;
    const gate = gateSettings({
      secret: SECRET,
      now: () => NOW,
      md5: (text) => (calls++, md5Base64url(text)),
    });
    const app = new Hono<{ Variables: SecureLinkVariables }>();
    app.use(secureLink({ settings: { ...settings, gate } }));
    app.get("*", (c) => c.text("ok"));
    expect((await app.request(path(NOW))).status).toBe(200);
    expect(calls).toBeGreaterThan(0);
  });

  it("refuses settings that were not checked (a hand-made gate)", () => {
    const handMade = { ...settings, gate: { ...settings.gate, prefixes: ["a/b"] } };
    expect(() => secureLink({ settings: handMade })).toThrow(/readSettings/);
  });
});
