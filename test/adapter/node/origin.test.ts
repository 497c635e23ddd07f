/**
 * The Node origin leg against origins that misbehave, through a whole gate in this process
 * (`startGateServer`): what the client sees, what the origin sees, and that the gate goes on
 * serving. The parser is undici's llhttp, the one node:http uses; these tests pin what the
 * gate makes of its verdicts.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startGateServer, type GateServer } from "../../../src/adapter/node/server.js";
import { readSettings } from "../../../src/core/settings.js";
import { get } from "../../helpers/http.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import {
  pieces,
  scriptedOrigin,
  type Scripted,
  type ScriptedOrigin,
} from "../../helpers/scripted-origin.js";

const OK_HEAD = "HTTP/1.1 200 OK\r\n";
const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.close();
});

interface Gate extends GateServer {
  log: string[];
}

async function gateFor(
  origin: string,
  options: {
    timeoutMs?: number;
    clientTimeoutMs?: number;
    connections?: number;
    keepAlive?: boolean;
    ca?: Buffer;
    /** CACHE=on: a miss is fetched whole by the cache (fetchWhole), not streamed. */
    cache?: boolean;
  } = {},
): Promise<Gate> {
  const log: string[] = [];
  const gate = await startGateServer({
    settings: readSettings({
      ORIGIN_URL: origin,
      SECRET,
      ORIGIN_TIMEOUT_MS: String(options.timeoutMs ?? 0),
    }),
    port: 0,
    log: (line) => log.push(line),
    clientTimeoutMs: options.clientTimeoutMs ?? 0,
    originConnections: options.connections,
    originKeepAlive: options.keepAlive,
    originCa: options.ca,
    listenSockets: 1,
    shutdownMs: 100,
    cache: options.cache ? { maxBytes: 1 << 20, heuristicCapSeconds: 0 } : undefined,
  });
  running.push(gate);
  return Object.assign(gate, { log });
}

async function scripted(
  answer: (request: string, index: number, onConnection: number) => Scripted,
  pauseMs?: number,
): Promise<ScriptedOrigin> {
  const origin = await scriptedOrigin(answer, pauseMs);
  running.push(origin);
  return origin;
}

/** GET (or HEAD) through the gate; rejects when the answer is cut short. */
const fetchVia = (gate: GateServer, file = "seg.ts", method = "GET", headers = {}) =>
  get(gate.url + signedPath(file), { method, headers });

/** How an answer ended: complete with its body, or cut (the client saw an error). */
async function outcome(gate: GateServer, file = "seg.ts") {
  try {
    const answer = await fetchVia(gate, file);
    return { status: answer.status, body: answer.body.toString("latin1"), cut: false };
  } catch (error) {
    return { status: 0, body: "", cut: true, error: (error as Error).message };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("the Node origin leg, answers the origin gets right", () => {
  it("streams a Content-Length body split anywhere and reuses the connection", async () => {
    const body = "0123456789".repeat(50);
    const origin = await scripted(() => ({
      pieces: pieces(`${OK_HEAD}Content-Length: ${body.length}\r\n\r\n${body}`, 7),
    }));
    const gate = await gateFor(origin.url);
    for (let i = 0; i < 3; i++)
      expect(await outcome(gate)).toEqual({ status: 200, body, cut: false });
    expect(origin.connections).toBe(1);
  });

  it("decodes a chunked body arriving a byte at a time, trailers and all, and reuses", async () => {
    const origin = await scripted(
      () => ({
        pieces: pieces(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n" +
            "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
          1,
        ),
      }),
      0,
    );
    const gate = await gateFor(origin.url);
    expect(await outcome(gate)).toEqual({ status: 200, body: "hello world", cut: false });
    expect(await outcome(gate)).toEqual({ status: 200, body: "hello world", cut: false });
    expect(origin.connections).toBe(1);
  });

  it("skips interim 1xx answers such as 103 Early Hints", async () => {
    const origin = await scripted(() => ({
      pieces: [
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        `${OK_HEAD}Content-Length: 2\r\n\r\nok`,
      ],
    }));
    expect(await outcome(await gateFor(origin.url))).toEqual({
      status: 200,
      body: "ok",
      cut: false,
    });
  });

  it.each([
    ["304 Not Modified", 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 10\r\n\r\n'],
    ["204 No Content", "HTTP/1.1 204 No Content\r\n\r\n"],
  ])("passes %s on without a body", async (_, head) => {
    const origin = await scripted(() => ({ pieces: [head] }));
    const gate = await gateFor(origin.url);
    const status = Number(head.slice(9, 12));
    expect(await outcome(gate)).toEqual({ status, body: "", cut: false });
    expect(await outcome(gate)).toEqual({ status, body: "", cut: false });
    // undici does not reuse a connection after a 304 that states a length (it counts the
    // missing body as short); the answer is whole all the same.
    expect(origin.connections).toBe(status === 304 ? 2 : 1);
  });

  it("passes 206 and 416 with their headers", async () => {
    const origin = await scripted((request) => ({
      pieces: /range: bytes=0-1/i.test(request)
        ? [
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/10\r\nContent-Length: 2\r\n\r\nab",
          ]
        : [
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */10\r\nContent-Length: 0\r\n\r\n",
          ],
    }));
    const gate = await gateFor(origin.url);
    const partial = await fetchVia(gate, "seg.ts", "GET", { range: "bytes=0-1" });
    expect([partial.status, partial.headers["content-range"], partial.body.toString()]).toEqual([
      206,
      "bytes 0-1/10",
      "ab",
    ]);
    expect((await fetchVia(gate, "seg.ts", "GET", { range: "bytes=50-" })).status).toBe(416);
  });

  it("answers HEAD at the head, Content-Length kept, on the same path as GET", async () => {
    const origin = await scripted(() => ({
      pieces: [
        `${OK_HEAD}Content-Length: 10\r\nX-Odd: spaced value\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n`,
      ],
    }));
    const gate = await gateFor(origin.url);
    const head = await fetchVia(gate, "seg.ts", "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("10");
    expect(head.headers["x-odd"]).toBe("spaced value");
    expect(head.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(head.body.length).toBe(0);
    expect(origin.requests[0]).toMatch(
      /^HEAD \/videos\/2675_3dk4NsRt6vWsffEr\/seg\.ts HTTP\/1\.1\r\n/,
    );
  });

  it("drops hop-by-hop response headers and those the origin's Connection names", async () => {
    const origin = await scripted(() => ({
      pieces: [
        `${OK_HEAD}Connection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nUpgrade: h2c\r\nX-Kept: 1\r\nContent-Length: 2\r\n\r\nok`,
      ],
    }));
    const answer = await fetchVia(await gateFor(origin.url));
    expect(answer.headers["x-kept"]).toBe("1");
    expect(answer.headers["x-hop"]).toBeUndefined();
    expect(answer.headers.upgrade).toBeUndefined();
    expect(answer.headers["keep-alive"]).not.toBe("timeout=5");
  });
});

describe("the Node origin leg, answers the origin gets wrong", () => {
  it.each([
    [
      "both Transfer-Encoding and Content-Length",
      "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ],
    ["differing Content-Lengths", "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"],
    ["a Content-Length that is not a number", "Content-Length: 3x\r\n\r\nabc"],
    ["a negative Content-Length", "Content-Length: -1\r\n\r\nabc"],
    ["obsolete line folding", "X-A: a\r\n folded\r\nContent-Length: 3\r\n\r\nabc"],
    ["a space before the colon", "X-A : a\r\nContent-Length: 3\r\n\r\nabc"],
    ["a bare LF", "X-A: a\nX-B: b\r\nContent-Length: 3\r\n\r\nabc"],
    ["a control byte in a value", "X-A: a\x01b\r\nContent-Length: 3\r\n\r\nabc"],
    ["a NUL in a value", "X-A: a\x00b\r\nContent-Length: 3\r\n\r\nabc"],
    [
      "Transfer-Encoding: gzip, chunked",
      "Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ],
    ["Transfer-Encoding: gzip alone", "Transfer-Encoding: gzip\r\n\r\nabc"],
    [
      "Transfer-Encoding: chunked, chunked",
      "Transfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ],
    ["a head over 64 KiB", `X-Big: ${"a".repeat(70_000)}\r\nContent-Length: 3\r\n\r\nabc`],
  ])("answers 502 before any header for %s, and keeps serving", async (_, rest) => {
    let calls = 0;
    const origin = await scripted(() =>
      calls++ === 0
        ? { pieces: [`${OK_HEAD}${rest}`], close: true }
        : { pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] },
    );
    const gate = await gateFor(origin.url);
    const first = await outcome(gate);
    expect(first.status).toBe(502);
    expect(first.body).toMatch(/^Bad Gateway/);
    expect(gate.log.join("\n")).toMatch(/"origin-error: /);
    expect(await outcome(gate)).toEqual({ status: 200, body: "ok", cut: false });
  });

  it.each([["HTTP/2 200 OK"], ["HTTP/1.1 200OK"], ["HTTP/1.1 20 OK"], ["ICY 200 OK"], ["garbage"]])(
    "answers 502 to the status line %j",
    async (line) => {
      const origin = await scripted(() => ({
        pieces: [`${line}\r\nContent-Length: 0\r\n\r\n`],
        close: true,
      }));
      expect((await outcome(await gateFor(origin.url))).status).toBe(502);
    },
  );

  it.each([
    [
      "fewer bytes than Content-Length, then a close",
      `${OK_HEAD}Content-Length: 100\r\n\r\nonly this`,
      "cut",
    ],
    [
      "a trailer line without a colon",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nNoColonHere\r\n\r\n",
      "cut",
    ],
    [
      "a chunked body that stops before its last chunk",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "cut",
    ],
    ["a reset mid-body", `${OK_HEAD}Content-Length: 100\r\n\r\nsome`, "cut"],
    [
      "a malformed first chunk size",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      502,
    ],
    [
      "a first chunk extension holding a CR",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\rb\r\nhello\r\n0\r\n\r\n",
      502,
    ],
    [
      "a first chunk extension holding a NUL",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x00\r\nhello\r\n0\r\n\r\n",
      502,
    ],
    [
      "a first chunk line ending in a bare LF",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
      502,
    ],
    [
      "a body framed by neither length nor chunks, cut by a reset",
      `HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n${"x".repeat(1000)}`,
      502,
    ],
    ["a body framed by neither, ended by a close", `${OK_HEAD}\r\nwhole?`, 502],
  ])(
    "on %s: a 502 if no body byte was passed on yet, else a cut connection; and keeps serving",
    async (name, text, expected) => {
      let calls = 0;
      const origin = await scripted((): Scripted => {
        if (calls++ > 0) return { pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] };
        return name.includes("reset")
          ? { pieces: [text], resetAfter: true }
          : { pieces: [text], close: true };
      });
      const gate = await gateFor(origin.url, { timeoutMs: 1000 });
      const first = await outcome(gate);
      if (expected === "cut") expect(first.cut, JSON.stringify(first)).toBe(true);
      else expect(first.status, JSON.stringify(first)).toBe(expected);
      expect(await outcome(gate)).toEqual({ status: 200, body: "ok", cut: false });
    },
  );

  it("with ORIGIN_KEEPALIVE off, never lets bytes an origin sends after an answer reach another request", async () => {
    // The origin sends a whole second answer a moment after each first one. Once a kept-alive
    // connection is reused, no HTTP/1.1 client can tell it from the next answer; with a
    // connection per request there is no next answer on it.
    const POISON = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nPOISONED";
    const origin = await scripted((request) => {
      const file = /GET \S+\/(\S+) HTTP/.exec(request)![1]!;
      return { pieces: [`${OK_HEAD}Content-Length: ${file.length}\r\n\r\n${file}`, POISON] };
    }, 1);
    const gate = await gateFor(origin.url, { connections: 1, keepAlive: false });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => outcome(gate, `v${i}.ts`)),
    );
    answers.forEach((answer, i) =>
      expect(answer).toEqual({ status: 200, body: `v${i}.ts`, cut: false }),
    );
    expect(origin.connections).toBe(30);
    expect(origin.requests.every((request) => /\r\nconnection: close\r\n/i.test(request))).toBe(
      true,
    );
  });

  it("passes a 204 that states a length as a 204", async () => {
    const origin = await scripted(() => ({
      pieces: ["HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"],
    }));
    expect(await outcome(await gateFor(origin.url))).toEqual({ status: 204, body: "", cut: false });
  });

  it.each(["O\x7fK", "O\x01K", "O\x0bK"])(
    "passes an answer whose reason phrase %j Node would refuse, with the standard phrase",
    async (reason) => {
      const origin = await scripted(() => ({
        pieces: [`HTTP/1.1 200 ${reason}\r\nContent-Length: 5\r\n\r\nHELLO`],
      }));
      const gate = await gateFor(origin.url, { timeoutMs: 1000 });
      expect(await outcome(gate)).toEqual({ status: 200, body: "HELLO", cut: false });
    },
  );

  it("never answers one request with bytes an origin sent after another's complete body", async () => {
    // The origin appends a whole second response after each body: on a connection kept for
    // reuse it would answer whoever asked next. The client reads the first answer slowly.
    const EVIL = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!";
    const body = "x".repeat(4 * 1024 * 1024);
    const origin = await scripted((request) => {
      const file = /GET \S+\/(\S+) HTTP/.exec(request)![1]!;
      const own = `file ${file}`;
      if (file !== "big.ts")
        return { pieces: [`${OK_HEAD}Content-Length: ${own.length}\r\n\r\n${own}`] };
      // The extra bytes come a little after the body, while the slow client still reads it.
      return { pieces: [`${OK_HEAD}Content-Length: ${body.length}\r\n\r\n${body}`, EVIL] };
    }, 20);
    const gate = await gateFor(origin.url);
    const slow = await new Promise<number>((resolve, reject) => {
      const req = request(gate.url + signedPath("big.ts"), (res) => {
        let bytes = 0;
        res.pause();
        const tick = setInterval(() => {
          const chunk = res.read(64 * 1024) as Buffer | null;
          if (chunk) bytes += chunk.length;
        }, 5);
        res.on("end", () => (clearInterval(tick), resolve(bytes)));
        res.on("error", (error) => (clearInterval(tick), reject(error)));
        res.on("readable", () => {});
      });
      req.on("error", reject);
      req.end();
    });
    expect(slow).toBe(body.length);
    for (let i = 0; i < 18; i++) {
      expect(await outcome(gate, `f${i}.ts`)).toEqual({
        status: 200,
        body: `file f${i}.ts`,
        cut: false,
      });
    }
  });
});

describe("the Node origin leg, time and clients", () => {
  it("bounds a wait for a free origin connection by ORIGIN_TIMEOUT_MS", async () => {
    // One connection, held by a client that reads nothing of a big body: the next request
    // waits for a connection and must have its 504 at the timeout, not when the first ends.
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const origin = await scripted(
      (request) =>
        request.includes("hog.ts")
          ? { pieces: [`${OK_HEAD}Content-Length: ${big.length}\r\n\r\n`, big] }
          : { pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] },
      0,
    );
    const gate = await gateFor(origin.url, { timeoutMs: 300, connections: 1 });
    const hog = connect(Number(new URL(gate.url).port), "127.0.0.1");
    hog.write(`GET ${signedPath("hog.ts")} HTTP/1.1\r\nHost: gate\r\n\r\n`);
    hog.pause();
    await until(() => origin.requests.length === 1);
    const started = Date.now();
    expect((await outcome(gate, "victim.ts")).status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2000);
    hog.destroy();
  });

  it("answers 504 when no head comes within the timeout, counting a wait for a connection", async () => {
    const origin = await scripted(() => ({ silent: true }));
    const gate = await gateFor(origin.url, { timeoutMs: 200, connections: 1 });
    const [a, b] = await Promise.all([outcome(gate, "a.ts"), outcome(gate, "b.ts")]);
    expect([a.status, b.status]).toEqual([504, 504]);
    expect(gate.log.join("\n")).toMatch(/origin-timeout/);
  });

  it("cuts a body the origin stops sending for longer than the timeout", async () => {
    const origin = await scripted(() => ({
      pieces: [`${OK_HEAD}Content-Length: 100\r\n\r\nsome`],
    }));
    const gate = await gateFor(origin.url, { timeoutMs: 200 });
    expect((await outcome(gate)).cut).toBe(true);
  });

  it("lets a slow but steady body run past the timeout, which counts between reads", async () => {
    const parts = Array.from({ length: 8 }, (_, i) => `part${i}`);
    const origin = await scripted(
      () => ({ pieces: [`${OK_HEAD}Content-Length: ${parts.join("").length}\r\n\r\n`, ...parts] }),
      60,
    );
    const gate = await gateFor(origin.url, { timeoutMs: 200 });
    expect(await outcome(gate)).toEqual({ status: 200, body: parts.join(""), cut: false });
  });

  it("sends a GET or HEAD again, once, when a kept-alive connection turns out closed", async () => {
    // Each connection answers its first request; the origin closes it, unanswered, as the next
    // one arrives, as when an origin's keep-alive timeout races a request.
    const origin = await scripted((_, __, onConnection) =>
      onConnection === 0 ? { pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] } : { close: true },
    );
    const gate = await gateFor(origin.url);
    for (let i = 0; i < 6; i++) {
      const method = i % 2 === 0 ? "GET" : "HEAD";
      expect((await fetchVia(gate, `s${i}.ts`, method)).status, `${i} ${method}`).toBe(200);
    }
    expect(gate.log.join("\n")).not.toMatch(/origin-error/);
  });

  it("sends a cache fill again, once, when a kept-alive connection turns out closed", async () => {
    // As above, through the cache (CACHE=on): a miss is the cache's own request to the origin.
    const origin = await scripted((_, __, onConnection) =>
      onConnection === 0 ? { pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] } : { close: true },
    );
    const gate = await gateFor(origin.url, { cache: true });
    for (let i = 0; i < 6; i++) {
      const answer = await outcome(gate, `fill${i}.ts`);
      expect(answer, `${i}`).toEqual({ status: 200, body: "ok", cut: false });
    }
    expect(gate.log.join("\n")).not.toMatch(/origin-error/);
  });

  it.each([
    ["resets", { reset: true }, "streamed", false],
    ["closes without an answer", { close: true }, "streamed", false],
    ["resets", { reset: true }, "a cache fill (CACHE=on)", true],
    ["closes without an answer", { close: true }, "a cache fill (CACHE=on)", true],
  ])("does not send again when a fresh connection %s: %s", async (_, script, __, cache) => {
    const origin = await scripted((request) =>
      request.includes("/marker.ts ")
        ? { pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] }
        : script,
    );
    const gate = await gateFor(origin.url, { cache });
    expect((await outcome(gate)).status).toBe(502);
    // A later request's arrival is the signal: a resend of the first would have come before it.
    expect((await outcome(gate, "marker.ts")).status).toBe(200);
    expect(origin.requests.map((r) => /GET \S+\/(\S+) HTTP/.exec(r)?.[1])).toEqual([
      "seg.ts",
      "marker.ts",
    ]);
  });

  it("answers 502 when the origin refuses connections", async () => {
    const origin = await scripted(() => ({}));
    const url = origin.url;
    await origin.close();
    const gate = await gateFor(url);
    expect((await outcome(gate)).status).toBe(502);
    expect((await fetchVia(gate, "x.ts", "HEAD")).status).toBe(502);
  });

  it("cuts clients that take no bytes for CLIENT_TIMEOUT_MS and frees their origin connections", async () => {
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const origin = await scripted(
      () => ({ pieces: [`${OK_HEAD}Content-Length: ${big.length}\r\n\r\n`, big] }),
      0,
    );
    const gate = await gateFor(origin.url, { timeoutMs: 500, clientTimeoutMs: 300 });
    const port = new URL(gate.url).port;
    const idle = Array.from({ length: 20 }, (_, i) => {
      const socket = connect(Number(port), "127.0.0.1");
      socket.write(`GET ${signedPath(`big${i}.ts`)} HTTP/1.1\r\nHost: gate\r\n\r\n`);
      socket.pause(); // reads nothing
      return socket;
    });
    await until(() => origin.requests.length === 20);
    await until(() => origin.closed >= 20, 3000);
    expect(gate.log.filter((line) => line.includes('"reason":"client-timeout"'))).toHaveLength(20);
    for (const socket of idle) socket.destroy();
  });

  it("opens at most ORIGIN_CONNECTIONS connections to the origin; the others wait their turn", async () => {
    const origin = await scripted(
      () => ({ pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\n`, "ok"] }),
      50,
    );
    const gate = await gateFor(origin.url, { connections: 3 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => outcome(gate, `${i}.ts`)),
    );
    expect(answers.every((a) => a.status === 200 && a.body === "ok")).toBe(true);
    expect(origin.maxOpen).toBe(3);
  });

  it("handles a connection's pipelined requests one at a time, and drops the rest when it leaves", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const origin = await scripted(
      () => ({ pieces: [`${OK_HEAD}Content-Length: ${big.length}\r\n\r\n`, big] }),
      0,
    );
    const gate = await gateFor(origin.url, { connections: 8 });
    const socket = connect(Number(new URL(gate.url).port), "127.0.0.1");
    let pipelined = "";
    // Twelve: within what one connection may have waiting (more is cut; abusive-clients test).
    for (let i = 0; i < 12; i++)
      pipelined += `GET ${signedPath(`p${i}.ts`)} HTTP/1.1\r\nHost: gate\r\n\r\n`;
    socket.write(pipelined);
    socket.pause(); // reads nothing
    await until(() => origin.requests.length >= 1);
    socket.destroy();
    await until(() => origin.closed >= 1, 1000);
    // Every request the server had read is logged (the signal that it is done with them); none
    // but the first reached the origin.
    await until(() => gate.log.filter((line) => line.includes('"method":"GET"')).length >= 12);
    const logged = gate.log.filter((line) => line.includes('"method":"GET"'));
    expect(logged.length).toBe(12);
    expect(logged.slice(1).every((line) => line.includes('"status":499'))).toBe(true);
    expect(origin.requests.length).toBe(1);
    // A connection that does read gets each answer in order.
    const reader = await scripted((request) => {
      const file = /GET \S+\/(\S+) HTTP/.exec(request)![1]!;
      return { pieces: [`${OK_HEAD}Content-Length: ${file.length}\r\n\r\n${file}`] };
    });
    const inOrder = await gateFor(reader.url);
    const client = connect(Number(new URL(inOrder.url).port), "127.0.0.1");
    let text = "";
    client.setEncoding("latin1").on("data", (chunk: string) => (text += chunk));
    let three = "";
    for (const file of ["a.ts", "bb.ts", "ccc.ts"])
      three += `GET ${signedPath(file)} HTTP/1.1\r\nHost: gate\r\n\r\n`;
    client.write(three);
    await until(() => text.includes("ccc.ts"));
    expect(text.match(/\r\n\r\n(a\.ts|bb\.ts|ccc\.ts)/g)?.map((m) => m.slice(4))).toEqual([
      "a.ts",
      "bb.ts",
      "ccc.ts",
    ]);
    client.destroy();
  });

  it.each(["GET", "HEAD"])(
    "ends the origin request of a %s whose client goes away",
    async (method) => {
      const origin = await scripted(() => ({ silent: true }));
      const gate = await gateFor(origin.url);
      const socket = connect(Number(new URL(gate.url).port), "127.0.0.1");
      socket.write(`${method} ${signedPath("x.ts")} HTTP/1.1\r\nHost: gate\r\n\r\n`);
      await until(() => origin.requests.length === 1);
      socket.destroy();
      await until(() => origin.closed === 1, 1000);
    },
  );
});

describe("the Node origin leg, what the origin is sent", () => {
  it("sends only the header policy's headers, with the peer as X-Forwarded-For", async () => {
    const origin = await scripted(() => ({ pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] }));
    const gate = await gateFor(origin.url);
    for (const method of ["GET", "HEAD"]) {
      await fetchVia(gate, "x.ts", method, {
        Range: "bytes=0-1",
        "X-Original-URL": "/videos/9999_other/private.mp4",
        "X-Rewrite-URL": "/videos/9999_other/private.mp4",
        "X-HTTP-Method-Override": "DELETE",
        "X-Method-Override": "DELETE",
        Forwarded: "for=10.0.0.1;host=evil",
        "X-Real-IP": "10.0.0.1",
        "X-Forwarded-For": "10.0.0.1",
        "X-Forwarded-Host": "evil.test",
        Cookie: "a=1",
        Authorization: "Basic eA==",
        Connection: "X-Hop",
        "X-Hop": "1",
      });
    }
    expect(origin.requests).toHaveLength(2);
    for (const sent of origin.requests) {
      expect(sent).toMatch(/\r\nRange: bytes=0-1\r\n/i);
      expect(sent).toMatch(/\r\nx-forwarded-for: 127\.0\.0\.1\r\n/i);
      expect(sent).toMatch(/\r\nx-forwarded-proto: http\r\n/i);
      expect(sent).toMatch(new RegExp(`\\r\\nhost: 127\\.0\\.0\\.1:${origin.port}\\r\\n`, "i"));
      expect(sent).not.toMatch(/9999_other|DELETE|10\.0\.0\.1|evil|a=1|Basic|x-hop/i);
    }
    // GET and HEAD differ in their request line only, and in the Connection header undici
    // sets (it does not reuse a connection after HEAD).
    const rest = (sent: string) =>
      sent.slice(sent.indexOf("\r\n")).replace(/\r\nconnection: [^\r]*/i, "");
    expect(rest(origin.requests[0]!)).toBe(rest(origin.requests[1]!));
  });

  it("speaks TLS to an https origin, verifying its certificate", async () => {
    const fixture = (name: string) =>
      readFileSync(new URL(`../../fixtures/${name}`, import.meta.url));
    const cert = fixture("origin-tls.crt");
    const server = createHttpsServer({ key: fixture("origin-tls.key"), cert }, (_, res) => {
      res.writeHead(200, { "content-length": "6" });
      res.end("secure");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    running.push({ close: () => new Promise((resolve) => server.close(() => resolve())) });
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const trusting = await gateFor(url, { ca: cert });
    expect(await outcome(trusting)).toEqual({ status: 200, body: "secure", cut: false });
    const untrusting = await gateFor(url);
    expect((await outcome(untrusting)).status).toBe(502);
    server.closeAllConnections();
  });
});
