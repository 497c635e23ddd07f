import { describe, expect, it } from "vitest";
import {
  errorLine,
  originFailure,
  rejection,
  rejectionResponse,
  type Reason,
} from "../../src/http/refusal.js";

// Each refusal as every runtime answers it (the runtimes' suites hold them to it end to end;
// mutation testing runs only the pure suites, and found these rules unheld there).
const PLAIN = {
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

describe("rejection()", () => {
  it.each([
    ["not-found", 404, "Not Found\n", {}],
    ["method", 405, "Method Not Allowed\n", { allow: "GET, HEAD" }],
    ["unsafe-path", 403, "Forbidden: unsafe path\n", {}],
    ["malformed", 403, "Forbidden: malformed link\n", {}],
    ["bad-token", 403, "Forbidden: invalid token\n", {}],
    ["expired", 410, "Gone: link expired\n", {}],
    ["misconfigured", 500, "Internal Server Error: the gate is misconfigured\n", {}],
    ["origin-error", 502, "Bad Gateway: the origin could not be reached\n", {}],
    ["origin-timeout", 504, "Gateway Timeout: the origin did not answer in time\n", {}],
    [
      "pace-limit",
      503,
      "Service Unavailable: too many speed-limited downloads, try again shortly\n",
      { "retry-after": "5" },
    ],
    [
      "client-limit",
      503,
      "Service Unavailable: too many downloads from this address, try again shortly\n",
      { "retry-after": "5" },
    ],
  ] as const)("%s: %i, %j", (reason, status, body, extra) => {
    expect(rejection(reason as Reason)).toEqual({
      status,
      headers: { ...PLAIN, ...extra, "content-length": String(Buffer.byteLength(body)) },
      body,
    });
  });

  it("counts a replaced body's length in bytes, not characters", () => {
    const body = "refusing to serve: SECRET: é\n";
    expect(rejection("misconfigured", body)).toEqual({
      status: 500,
      headers: { ...PLAIN, "content-length": String(Buffer.byteLength(body)) },
      body,
    });
    expect(Buffer.byteLength(body)).toBe(body.length + 1);
  });
});

describe("rejectionResponse()", () => {
  it("answers with the refusal's status, headers and body", async () => {
    const response = rejectionResponse("expired");
    expect(response.status).toBe(410);
    expect(Object.fromEntries(response.headers)).toEqual({ ...PLAIN, "content-length": "19" });
    expect(await response.text()).toBe("Gone: link expired\n");
  });

  it("answers a HEAD without a body, with the GET's length", async () => {
    const response = rejectionResponse("method", true);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(response.headers.get("content-length")).toBe("19");
    expect(response.body).toBeNull();
  });

  it("carries a body given in place of the fixed one", async () => {
    const response = rejectionResponse("misconfigured", false, "bad ORIGIN_URL\n");
    expect(response.headers.get("content-length")).toBe("15");
    expect(await response.text()).toBe("bad ORIGIN_URL\n");
  });
});

describe("originFailure(): the one mapping of an origin failure", () => {
  it.each([
    [true, undefined, "origin-timeout", 504],
    [true, "ECONNRESET", "origin-timeout", 504],
    [false, "UND_ERR_HEADERS_TIMEOUT", "origin-timeout", 504],
    [false, "UND_ERR_BODY_TIMEOUT", "origin-timeout", 504],
    [false, "UND_ERR_CONNECT_TIMEOUT", "origin-timeout", 504],
    [false, "ECONNREFUSED", "origin-error", 502],
    [false, "UND_ERR_SOCKET", "origin-error", 502],
    [false, undefined, "origin-error", 502],
  ] as const)("timed out %s, code %s: %s (%i)", (timedOut, code, reason, status) => {
    expect(originFailure(timedOut, code)).toBe(reason);
    expect(rejection(originFailure(timedOut, code)).status).toBe(status);
  });
});

describe("errorLine()", () => {
  it.each([
    ["a message alone", new Error("boom"), "boom"],
    [
      "its own code",
      Object.assign(new Error("connect failed"), { code: "ECONNREFUSED" }),
      "connect failed (ECONNREFUSED)",
    ],
    [
      "its cause's code",
      new TypeError("fetch failed", { cause: { code: "ETIMEDOUT" } }),
      "fetch failed (ETIMEDOUT)",
    ],
    [
      "its own code before its cause's",
      Object.assign(new Error("x", { cause: { code: "EB" } }), { code: "EA" }),
      "x (EA)",
    ],
    ["an empty code as none", Object.assign(new Error("y"), { code: "" }), "y"],
    ["a cause without a code", new Error("z", { cause: "why" }), "z"],
    ["a thrown string", "plain", "plain"],
    ["a thrown number", 42, "42"],
  ])("writes %s", (_, error, line) => {
    expect(errorLine(error)).toBe(line);
  });

  it("never writes a stack", () => {
    const error = new Error("deep");
    expect(errorLine(error)).not.toContain("\n");
  });
});
