import { describe, expect, it } from "vitest";
import { forwardHeaders, proxyFetch } from "../../src/proxy.js";

const request = (method = "GET") =>
  new Request("https://gate.test/videos/1_a/t/1/x.ts", { method });

describe("proxyFetch inside workerd", () => {
  it("answers 502 with a short no-store body when the origin connection fails", async () => {
    const reasons: string[] = [];
    const res = await proxyFetch(request(), "http://origin.test/x.ts", {
      timeoutMs: 1000,
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
      fetch: hanging,
    });
    expect(res.status).toBe(504);
  });

  it("answers HEAD failures without a body", async () => {
    const res = await proxyFetch(request("HEAD"), "http://origin.test/x.ts", {
      timeoutMs: 0,
      fetch: () => Promise.reject(new Error("refused")),
    });
    expect(res.status).toBe(502);
    expect(await res.text()).toBe("");
  });

  it("drops hop-by-hop headers and those the Connection header names", () => {
    const out = forwardHeaders(
      new Headers({
        connection: "keep-alive, X-Hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        te: "trailers",
        "proxy-authorization": "x",
        range: "bytes=1-2",
      }),
    );
    expect([...out.keys()]).toEqual(["range"]);
  });
});
