/**
 * Same raw request, same answer, on every runtime (issue 20, item 9): an `Upgrade` under a
 * prefix, a path over 1024 characters, a transfer coding other than `chunked` on a GET, header
 * values past ASCII; behind TRUST_PROXY, one strict reading of X-Forwarded-For (junk is no
 * address, never the proxy's own). Each sent byte for byte; the origin records what reaches it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/core/token.js";
import { rawExchange } from "../helpers/raw-exchange.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";

function request(path: string, headers: string[] = [], body = ""): Buffer {
  const lines = [`GET ${path} HTTP/1.1`, "Host: gate.test", ...headers, "Connection: close"];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${body}`, "latin1");
}

describe.each(Object.keys(RUNTIMES))("the same answer through %s", (which) => {
  let origin: Origin;
  let gate: Gate;
  let port = 0;
  beforeAll(async () => {
    origin = await startOrigin();
    gate = await RUNTIMES[which]!({ ORIGIN_URL: origin.url, SECRET });
    port = Number(new URL(gate.url).port);
  });
  afterAll(async () => {
    await gate?.close();
    await origin?.close();
  });

  it("refuses a request that asks to upgrade under a prefix (403), never asking the origin", async () => {
    const before = origin.requests.length;
    const answer = await rawExchange(
      port,
      request(signedPath("a.ts"), [
        "Upgrade: websocket",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
      ]),
    );
    expect(answer.status).toBe(403);
    expect(origin.requests.length).toBe(before);
  });

  it("refuses a path over 1024 characters under a prefix (403), even a signed one", async () => {
    const before = origin.requests.length;
    const long = signedPath(`${"a".repeat(1100)}.ts`);
    expect((await rawExchange(port, request(long))).status).toBe(403);
    expect((await rawExchange(port, request(`/elsewhere/${"b".repeat(1100)}`))).status).toBe(404);
    expect(origin.requests.length).toBe(before);
    // A signed path of 1024 characters still reaches the origin; one of 1025 does not.
    const base = signedPath("a.ts").length - "a.ts".length;
    const sized = (length: number) => signedPath(`${"a".repeat(length - base - 3)}.ts`);
    expect(sized(1024)).toHaveLength(1024);
    expect((await rawExchange(port, request(sized(1024)))).status).toBe(200);
    expect(origin.requests.length).toBe(before + 1);
    expect((await rawExchange(port, request(sized(1025)))).status).toBe(403);
    expect(origin.requests.length).toBe(before + 1);
  });

  it.each(["identity", "xchunked", "gzip, chunked, identity"])(
    "refuses a GET with Transfer-Encoding: %s before anything reaches the origin",
    async (coding) => {
      const before = origin.requests.length;
      const answer = await rawExchange(
        port,
        request(signedPath("a.ts"), [`Transfer-Encoding: ${coding}`], "0\r\n\r\n"),
      );
      // nginx answers 501 (a coding it does not know); workerd's own server 500, in front of
      // the Worker's code (Cloudflare's edge stands before it in production).
      const allowed = which.includes("Worker")
        ? [400, 500]
        : which.includes("nginx")
          ? [501]
          : [400];
      expect(allowed).toContain(answer.status);
      // Node handed such a request over, and the gate had it on its way to the origin, before
      // its parser gave up: a later request's arrival at the origin is the signal that anything
      // still on its way has arrived (one gate, one origin, in order), then only it is there.
      expect((await rawExchange(port, request(signedPath("after-coding.ts")))).status).toBe(200);
      expect(origin.requests.slice(before).map((r) => r.url.split("/").pop())).toEqual([
        "after-coding.ts",
      ]);
    },
  );

  it("drops a header value past ASCII, UTF-8 or not, and passes the rest", async () => {
    const before = origin.requests.length;
    const answer = await rawExchange(
      port,
      request(signedPath("a.ts"), [
        "User-Agent: caf\xc3\xa9",
        "Referer: http://x.test/\xff",
        "Accept-Language: en",
      ]),
    );
    expect(answer.status).toBe(200);
    const seen = origin.requests[before]!.headers;
    expect(seen["user-agent"]).toBeUndefined();
    expect(seen.referer).toBeUndefined();
    expect(seen["accept-language"]).toBe("en");
  });
});

/** The self-hosted runtimes, where TRUST_PROXY reads X-Forwarded-For (the Worker has the edge's CF-Connecting-IP). */
const SELF_HOSTED = Object.keys(RUNTIMES).filter((which) => !which.includes("Worker"));

describe.each(SELF_HOSTED)("X-Forwarded-For behind TRUST_PROXY through %s", (which) => {
  let origin: Origin;
  let gate: Gate;
  let port = 0;
  const expires = Math.floor(Date.now() / 1000) + 3600;
  const bound = (ip?: string) => {
    const token = signToken({ clientId: "2675", videoId: "xffvideo", secret: SECRET, expires, ip });
    return `/videos/2675_xffvideo/${token}/${expires}/seg.ts`;
  };
  beforeAll(async () => {
    origin = await startOrigin();
    gate = await RUNTIMES[which]!({
      ORIGIN_URL: origin.url,
      SECRET,
      BIND_IP: "optional",
      TRUST_PROXY: "127.0.0.0/8",
    });
    port = Number(new URL(gate.url).port);
  });
  afterAll(async () => {
    await gate?.close();
    await origin?.close();
  });

  it("reads a right-most entry that is an address as the client", async () => {
    const before = origin.requests.length;
    const answer = await rawExchange(
      port,
      request(bound("9.9.9.9"), ["X-Forwarded-For: 6.6.6.6, 9.9.9.9"]),
    );
    expect(answer.status).toBe(200);
    expect(origin.requests[before]!.headers["x-forwarded-for"]).toBe("9.9.9.9");
  });

  it.each(["9.9.9.9:1234", "009.009.009.009", "9.9.9.9,", "9.9.9.9, junk", "9.9.9.9 x"])(
    "reads no address in %j: a token bound to 9.9.9.9 is refused, and the origin is told none",
    async (forwarded) => {
      const before = origin.requests.length;
      const refused = await rawExchange(
        port,
        request(bound("9.9.9.9"), [`X-Forwarded-For: ${forwarded}`]),
      );
      expect(refused.status).toBe(403);
      expect(origin.requests.length).toBe(before);
      const unbound = await rawExchange(port, request(bound(), [`X-Forwarded-For: ${forwarded}`]));
      expect(unbound.status).toBe(200);
      expect(origin.requests[before]!.headers["x-forwarded-for"]).toBeUndefined();
    },
  );
});
