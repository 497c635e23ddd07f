import { describe, expect, it } from "vitest";
import { locationRewriter } from "../../src/http/headers.js";
import { proxyFetch } from "../../src/http/proxy-fetch.js";

const request = (method = "GET", headers: Record<string, string> = {}) =>
  new Request("https://gate.test/videos/1_a/t/1/x.ts", { method, headers });
const client = { address: "203.0.113.7", proto: "https" } as const;

describe("proxyFetch inside workerd", () => {
  it("answers 502 with a short no-store body when the origin connection fails", async () => {
    const reasons: string[] = [];
    const res = await proxyFetch(request(), "http://origin.test/x.ts", {
      timeoutMs: 1000,
      client,
      fetch: () => Promise.reject(new TypeError("Network connection lost.")),
      onError: (reason) => reasons.push(reason),
    });
    expect(res.status).toBe(502);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toMatch(/^Bad Gateway/);
    expect(reasons).toEqual(["origin-error"]);
  });

  it("answers 504 when the origin sends no headers within the timeout", async () => {
    const hanging: typeof fetch = (_, init) =>
      new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    const res = await proxyFetch(request(), "http://origin.test/x.ts", {
      timeoutMs: 20,
      client,
      fetch: hanging,
    });
    expect(res.status).toBe(504);
  });

  // Red team: workerd joins two Location headers into one value; the second kept the origin's
  // address.
  it("rewrites each URL of Location headers workerd joined", async () => {
    const headers = new Headers();
    headers.append("location", "/a");
    headers.append("location", "http://origin.test/base/b.ts");
    const res = await proxyFetch(request(), "http://origin.test/base/x.ts", {
      timeoutMs: 1000,
      client,
      relocate: locationRewriter("http://origin.test/base"),
      fetch: async () => new Response(null, { status: 302, headers }),
    });
    expect(res.headers.get("location")).toBe("/a, /b.ts");
  });

  // Red team, round two: one Location with ", " in its userinfo names the origin as a whole.
  it("reads a Location whole before it reads it as joined lines", async () => {
    const res = await proxyFetch(request(), "http://origin.test/base/x.ts", {
      timeoutMs: 1000,
      client,
      relocate: locationRewriter("http://origin.test/base"),
      fetch: async () =>
        new Response(null, {
          status: 302,
          headers: { location: "http://x, y@origin.test/base/P" },
        }),
    });
    expect(res.headers.get("location")).toBe("/P");
  });

  // Review: read whole, the first of two joined lines naming the origin took the second into
  // its path, and the second kept the origin's address (Refresh was not split at all).
  it.each([
    ["location", ["http://origin.test/base/a.ts", "http://origin.test/base/b.ts"], "/a.ts, /b.ts"],
    [
      "content-location",
      ["http://origin.test/base/a.ts", "//origin.test/base/b.ts"],
      "/a.ts, /b.ts",
    ],
    [
      "refresh",
      ["0; url=http://origin.test/base/a.ts", "0; url=http://origin.test/base/b.ts"],
      "0; url=/a.ts, 0; url=/b.ts",
    ],
  ])("rewrites both of two %s lines that name the origin", async (name, lines, written) => {
    const headers = new Headers();
    for (const line of lines) headers.append(name, line);
    const res = await proxyFetch(request(), "http://origin.test/base/x.ts", {
      timeoutMs: 1000,
      client,
      relocate: locationRewriter("http://origin.test/base"),
      fetch: async () => new Response(null, { status: 302, headers }),
    });
    expect(res.headers.get(name)).toBe(written);
  });

  it("answers HEAD failures without a body", async () => {
    const res = await proxyFetch(request("HEAD"), "http://origin.test/x.ts", {
      timeoutMs: 0,
      client,
      fetch: () => Promise.reject(new Error("refused")),
    });
    expect(res.status).toBe(502);
    expect(await res.text()).toBe("");
  });

  it("sends the origin the header policy's headers: no override, no client's address", async () => {
    let sent: Headers | undefined;
    const res = await proxyFetch(
      request("GET", {
        range: "bytes=1-2",
        "x-original-url": "/videos/9999_other/private.mp4",
        "x-http-method-override": "DELETE",
        "x-forwarded-for": "10.0.0.1",
        forwarded: "for=10.0.0.1",
        "x-real-ip": "10.0.0.1",
        cookie: "session=1",
      }),
      "http://origin.test/x.ts",
      {
        timeoutMs: 0,
        client,
        fetch: async (_, init) => {
          sent = new Headers(init?.headers);
          return new Response("ok");
        },
      },
    );
    expect(res.status).toBe(200);
    expect(Object.fromEntries(sent!)).toEqual({
      range: "bytes=1-2",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
    });
  });
});
