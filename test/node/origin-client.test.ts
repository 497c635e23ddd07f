import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createOriginClient, type OriginClient, type OriginHead } from "../../src/origin-client.js";

/**
 * A scripted origin on raw TCP: each request (up to its blank line) is answered by
 * `answer(requestText, index)`, written as the pieces it returns, one write per piece with a
 * pause between, so responses arrive split in awkward places. `close` ends the connection after.
 */
interface Script {
  answer(
    request: string,
    index: number,
  ): { pieces: (string | Buffer)[]; close?: boolean; reset?: boolean };
}

interface ScriptedOrigin {
  url: URL;
  connections: number;
  requests: string[];
  server: Server;
  sockets: Set<Socket>;
}

const servers: ScriptedOrigin[] = [];
const clients: OriginClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const origin of servers.splice(0)) {
    for (const socket of origin.sockets) socket.destroy();
    await new Promise((resolve) => origin.server.close(resolve));
  }
});

async function scriptedOrigin(script: Script): Promise<ScriptedOrigin> {
  const origin = { connections: 0, requests: [] as string[], sockets: new Set<Socket>() };
  const server = createServer((socket) => {
    origin.connections++;
    origin.sockets.add(socket);
    socket.on("close", () => origin.sockets.delete(socket));
    let buffered = "";
    socket.on("data", async (data) => {
      buffered += data.toString("latin1");
      let end: number;
      while ((end = buffered.indexOf("\r\n\r\n")) >= 0) {
        const request = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        const index = origin.requests.push(request) - 1;
        const { pieces, close, reset } = script.answer(request, index);
        if (reset) return void socket.destroy();
        for (const piece of pieces) {
          if (socket.destroyed) return;
          socket.write(piece);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        if (close) socket.end();
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const result = { ...origin, server, url: new URL(`http://127.0.0.1:${port}`) };
  // Counters live on the object the server callback updates.
  Object.defineProperty(result, "connections", { get: () => origin.connections });
  servers.push(result);
  return result;
}

interface Outcome {
  head?: OriginHead;
  body: Buffer;
  ended: boolean;
  error?: { timeout: boolean; message: string };
}

function client(origin: { url: URL }, timeoutMs = 0): OriginClient {
  const made = createOriginClient({ origin: origin.url, timeoutMs });
  clients.push(made);
  return made;
}

function exchange(
  made: OriginClient,
  method: "GET" | "HEAD" = "GET",
  path = "/videos/2675_abc/seg.ts",
  headerLines = "",
): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const outcome: Outcome = { body: Buffer.alloc(0), ended: false };
    made.request(method, path, headerLines, {
      onHead: (head) => void (outcome.head = head),
      onData: (chunk) => (chunks.push(Buffer.from(chunk)), true),
      onEnd: () => {
        outcome.ended = true;
        outcome.body = Buffer.concat(chunks);
        resolve(outcome);
      },
      onError: (timeout, message) => {
        outcome.error = { timeout, message };
        outcome.body = Buffer.concat(chunks);
        resolve(outcome);
      },
    });
  });
}

/** Splits text into pieces of `size` characters. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const OK_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n";

describe("origin client", () => {
  it("reads a Content-Length body split anywhere and reuses the connection", async () => {
    const response = `${OK_HEAD}Content-Length: 11\r\n\r\nhello world`;
    const origin = await scriptedOrigin({ answer: () => ({ pieces: pieces(response, 7) }) });
    const made = client(origin);
    for (let i = 0; i < 3; i++) {
      const outcome = await exchange(made);
      expect(outcome.head).toEqual({
        status: 200,
        statusText: "OK",
        headers: ["Content-Type", "video/mp2t", "Content-Length", "11"],
      });
      expect(outcome.body.toString()).toBe("hello world");
      expect(outcome.ended).toBe(true);
    }
    expect(origin.connections).toBe(1);
  });

  it.each([
    ["\r\n\r", "\nok"],
    ["\r\n", "\r\nok"],
    ["\r", "\n\r\nok"],
  ])("finds the end of a head split as %j + %j", async (first, second) => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: 2${first}`, second] }),
    });
    const outcome = await exchange(client(origin));
    expect(outcome.head?.headers).toEqual(["Content-Type", "video/mp2t", "Content-Length", "2"]);
    expect(outcome.body.toString()).toBe("ok");
  });

  it("sends one request line, Host and the given header lines", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: 0\r\n\r\n`] }),
    });
    await exchange(client(origin), "GET", "/videos/2675_abc/a.ts?part=4", "Range: bytes=0-1\r\n");
    expect(origin.requests).toEqual([
      `GET /videos/2675_abc/a.ts?part=4 HTTP/1.1\r\nHost: ${origin.url.host}\r\nRange: bytes=0-1\r\n\r\n`,
    ]);
  });

  it("decodes a chunked body delivered a byte at a time, trailers dropped, and reuses", async () => {
    const response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
    const origin = await scriptedOrigin({ answer: () => ({ pieces: pieces(response, 1) }) });
    const made = client(origin);
    const first = await exchange(made);
    expect(first.head?.headers).toEqual([]); // Transfer-Encoding is hop-by-hop
    expect(first.body.toString()).toBe("hello 0123456789");
    expect((await exchange(made)).body.toString()).toBe("hello 0123456789");
    expect(origin.connections).toBe(1);
  });

  it("keeps reusing a connection over many chunked answers with trailers", async () => {
    const trailer = `X-Checksum: ${"c".repeat(2000)}\r\n`;
    const origin = await scriptedOrigin({
      answer: () => ({
        pieces: [
          `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n${trailer}\r\n`,
        ],
      }),
    });
    const made = client(origin);
    // 40 answers carry 80 KB of trailers in all, more than one head may hold.
    for (let i = 0; i < 40; i++) {
      const outcome = await exchange(made);
      expect(outcome.error, `answer ${i}`).toBeUndefined();
      expect(outcome.body.toString()).toBe("ok");
    }
    expect(origin.connections).toBe(1);
  });

  it("reads a body without length to the end of the connection and does not reuse it", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [OK_HEAD + "\r\n", "part one, ", "part two"], close: true }),
    });
    const made = client(origin);
    expect((await exchange(made)).body.toString()).toBe("part one, part two");
    expect((await exchange(made)).body.toString()).toBe("part one, part two");
    expect(origin.connections).toBe(2);
  });

  it("does not reuse a connection the origin says it closes", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Connection: close\r\nContent-Length: 2\r\n\r\nok`] }),
    });
    const made = client(origin);
    await exchange(made);
    const second = await exchange(made);
    expect(second.body.toString()).toBe("ok");
    expect(second.head?.headers).toEqual(["Content-Type", "video/mp2t", "Content-Length", "2"]);
    expect(origin.connections).toBe(2);
  });

  it("retries once on a new connection when a kept-alive one was closed by the origin", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] }),
    });
    const made = client(origin);
    await exchange(made);
    // The origin drops its idle connection (as a keep-alive timeout does) …
    for (const socket of origin.sockets) socket.destroy();
    // … and the next request, sent before or as the close arrives, still succeeds.
    const outcome = await exchange(made);
    expect(outcome.body.toString()).toBe("ok");
    expect(origin.connections).toBe(2);
  });

  it("retries on a new connection when a kept-alive one closes as the request goes out", async () => {
    const origin = await scriptedOrigin({
      // The second request arrives on a connection the origin is just closing.
      answer: (_, index) => ({
        pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`],
        reset: index === 1,
      }),
    });
    const made = client(origin);
    await exchange(made);
    const outcome = await exchange(made);
    expect(outcome.body.toString()).toBe("ok");
    expect(origin.requests.length).toBe(3);
    expect(origin.connections).toBe(2);
  });

  it("does not retry on a new connection's failure", async () => {
    const origin = await scriptedOrigin({ answer: () => ({ pieces: [], reset: true }) });
    const outcome = await exchange(client(origin));
    expect(outcome.error?.message).toMatch(/^origin closed the connection/);
    expect(origin.requests.length).toBe(1);
  });

  it("skips interim 1xx answers such as 103 Early Hints", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({
        pieces: [
          "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
          `${OK_HEAD}Content-Length: 2\r\n\r\nok`,
        ],
      }),
    });
    const outcome = await exchange(client(origin));
    expect(outcome.head?.status).toBe(200);
    expect(outcome.body.toString()).toBe("ok");
  });

  it("ends HEAD, 204 and 304 answers at their head, Content-Length notwithstanding", async () => {
    const origin = await scriptedOrigin({
      answer: (request) => ({
        pieces: [
          request.startsWith("HEAD")
            ? `${OK_HEAD}Content-Length: 5000\r\n\r\n`
            : 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
        ],
      }),
    });
    const made = client(origin);
    const head = await exchange(made, "HEAD");
    expect(head.ended).toBe(true);
    expect(head.head?.headers).toContain("5000");
    const notModified = await exchange(made);
    expect(notModified.head?.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect(origin.connections).toBe(1);
  });

  it("removes hop-by-hop fields and those Connection names, keeps the rest as sent", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({
        pieces: [
          "HTTP/1.1 206 Partial Content\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n" +
            "X-Hop: 1\r\nContent-Range: bytes 0-1/10\r\nX-Odd:  spaced value \t\r\nContent-Length: 2\r\n\r\nab",
        ],
      }),
    });
    const outcome = await exchange(client(origin));
    expect(outcome.head).toEqual({
      status: 206,
      statusText: "Partial Content",
      headers: ["Content-Range", "bytes 0-1/10", "X-Odd", "spaced value", "Content-Length", "2"],
    });
  });

  it.each([
    [
      "both Transfer-Encoding and Content-Length",
      "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
    ],
    ["differing Content-Lengths", "Content-Length: 3\r\nContent-Length: 4\r\n"],
    ["a Content-Length that is not a number", "Content-Length: 3x\r\n"],
    ["a negative Content-Length", "Content-Length: -1\r\n"],
    ["obsolete line folding", "X-A: a\r\n folded\r\nContent-Length: 3\r\n"],
    ["a space before the colon", "X-A : a\r\nContent-Length: 3\r\n"],
    ["a bare LF", "X-A: a\nX-B: b\r\nContent-Length: 3\r\n"],
    ["a control byte in a value", "X-A: a\x01b\r\nContent-Length: 3\r\n"],
  ])("fails before the head on %s", async (_, fields) => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`HTTP/1.1 200 OK\r\n${fields}\r\nabc`] }),
    });
    const outcome = await exchange(client(origin));
    expect(outcome.head).toBeUndefined();
    expect(outcome.error?.timeout).toBe(false);
    expect(outcome.error?.message).toMatch(/^origin sent/);
  });

  it.each([
    ["HTTP/2 200 OK"],
    ["HTTP/1.1 200OK"],
    ["HTTP/1.1 20 OK"],
    ["HTTP/1.1 700 Odd"],
    ["ICY 200 OK"],
  ])("fails on the status line %j", async (line) => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${line}\r\nContent-Length: 0\r\n\r\n`] }),
    });
    const outcome = await exchange(client(origin));
    expect(outcome.error?.message).toBe("origin sent a malformed status line");
  });

  it("fails on a head over 64 KiB", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}X-Big: ${"a".repeat(70_000)}\r\n\r\n`] }),
    });
    expect((await exchange(client(origin))).error?.message).toBe("origin sent a head over 64 KiB");
  });

  it("fails the exchange, not the process, when the caller cannot take the head", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nok`] }),
    });
    const made = client(origin);
    const outcome = await new Promise<string>((resolve) => {
      made.request("GET", "/x", "", {
        onHead: () => {
          throw new TypeError("bad header");
        },
        onData: () => true,
        onEnd: () => resolve("ended"),
        onError: (_, message) => resolve(message),
      });
    });
    expect(outcome).toBe("origin answer not passed on: bad header");
  });

  it("fails after the head when the origin cuts the body short", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: 100\r\n\r\nonly this`], close: true }),
    });
    const outcome = await exchange(client(origin));
    expect(outcome.head?.status).toBe(200);
    expect(outcome.body.toString()).toBe("only this");
    expect(outcome.error?.message).toBe("origin closed the connection mid-body");
  });

  it("fails after the head on a malformed chunk", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({
        pieces: [
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
          "zz\r\nhello\r\n0\r\n\r\n",
        ],
      }),
    });
    const outcome = await exchange(client(origin));
    expect(outcome.head?.status).toBe(200);
    expect(outcome.error?.message).toBe("origin sent a malformed chunk size");
  });

  it("does not reuse a connection that carried bytes past the end of a response", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: 2\r\n\r\nokEXTRA`] }),
    });
    const made = client(origin);
    expect((await exchange(made)).body.toString()).toBe("ok");
    expect((await exchange(made)).body.toString()).toBe("ok");
    expect(origin.connections).toBe(2);
  });

  it("times out when no head arrives in time, and says so", async () => {
    const origin = await scriptedOrigin({ answer: () => ({ pieces: [] }) });
    const outcome = await exchange(client(origin, 100));
    expect(outcome.error).toEqual({ timeout: true, message: "no response headers within 100 ms" });
  });

  it("cuts a body the origin stops sending for longer than the timeout", async () => {
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: 100\r\n\r\nfirst bytes`] }),
    });
    const outcome = await exchange(client(origin, 150));
    expect(outcome.head?.status).toBe(200);
    expect(outcome.body.toString()).toBe("first bytes");
    expect(outcome.error).toEqual({
      timeout: true,
      message: "origin sent no body bytes for 150 ms",
    });
  });

  it("lets a slow but steady body run past the timeout, which counts between reads", async () => {
    const slices = Array.from({ length: 8 }, (_, i) => `part ${i};`);
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: ${slices.join("").length}\r\n\r\n`] }),
    });
    // The scripted pieces come 2 ms apart; these come 60 ms apart, 480 ms in all.
    const made = client(origin, 150);
    const pending = exchange(made);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const socket = [...origin.sockets][0]!;
    for (const slice of slices) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      socket.write(slice);
    }
    const outcome = await pending;
    expect(outcome.error).toBeUndefined();
    expect(outcome.body.toString()).toBe(slices.join(""));
  });

  it("does not time out an origin while its reader is the one pushing back", async () => {
    const body = Buffer.alloc(256 * 1024, 1);
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: ${body.length}\r\n\r\n`, body] }),
    });
    const made = client(origin, 100);
    let received = 0;
    const result = await new Promise<string>((resolve) => {
      const exchange = made.request("GET", "/big", "", {
        onHead: () => {},
        onData: (chunk) => {
          received += chunk.length;
          // Hold every read for longer than the timeout before asking for more.
          setTimeout(() => exchange.resume(), 250);
          return false;
        },
        onEnd: () => resolve("ended"),
        onError: (_, message) => resolve(message),
      });
    });
    expect(result).toBe("ended");
    expect(received).toBe(body.length);
  });

  it("fails without sending when the target has characters a request line cannot carry", async () => {
    const origin = await scriptedOrigin({ answer: () => ({ pieces: [] }) });
    const outcome = await exchange(client(origin), "GET", "/videos/a b");
    expect(outcome.error?.message).toMatch(/cannot carry/);
    expect(origin.requests).toEqual([]);
  });

  it("fails when the origin cannot be reached", async () => {
    const origin = await scriptedOrigin({ answer: () => ({ pieces: [] }) });
    const url = origin.url;
    await new Promise((resolve) => origin.server.close(resolve));
    servers.splice(servers.indexOf(origin), 1);
    const outcome = await exchange(client({ url }));
    expect(outcome.error?.timeout).toBe(false);
    expect(outcome.error?.message).toMatch(/ECONNREFUSED/);
  });

  it("speaks TLS to an https origin, verifying its certificate", async () => {
    const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
    const cert = fixture("origin-tls.crt");
    let connections = 0;
    const server = createHttpsServer({ key: fixture("origin-tls.key"), cert }, (req, res) => {
      res.end(`secure ${req.url}`);
    });
    server.on("secureConnection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = new URL(`https://127.0.0.1:${(server.address() as { port: number }).port}`);
    try {
      const trusting = createOriginClient({ origin: url, timeoutMs: 0, ca: cert });
      clients.push(trusting);
      expect((await exchange(trusting, "GET", "/a")).body.toString()).toBe("secure /a");
      expect((await exchange(trusting, "GET", "/b")).body.toString()).toBe("secure /b");
      expect(connections).toBe(1);
      // Without the CA the certificate is not trusted and nothing is sent on.
      const outcome = await exchange(client({ url }), "GET", "/c");
      expect(outcome.head).toBeUndefined();
      expect(outcome.error?.message).toMatch(/certificate/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("pauses the origin while the reader pushes back, and resumes on request", async () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 7);
    const origin = await scriptedOrigin({
      answer: () => ({ pieces: [`${OK_HEAD}Content-Length: ${body.length}\r\n\r\n`, body] }),
    });
    const made = client(origin);
    let received = 0;
    let pauses = 0;
    await new Promise<void>((resolve, reject) => {
      const exchange = made.request("GET", "/big", "", {
        onHead: () => {},
        onData: (chunk) => {
          received += chunk.length;
          pauses++;
          setTimeout(() => exchange.resume(), 1);
          return false;
        },
        onEnd: () => resolve(),
        onError: (_, message) => reject(new Error(message)),
      });
    });
    expect(received).toBe(body.length);
    expect(pauses).toBeGreaterThan(1);
  });
});
