import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { get } from "../../helpers/http.js";
import { leakScanner } from "../../helpers/leaks.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import { startOrigin, type Origin } from "../../helpers/origin.js";
import { serve, type Served } from "../../helpers/serve.js";

const MiB = 1024 * 1024;
/**
 * Node closes an idle kept-alive connection this long after the `Keep-Alive: timeout=` it
 * advertises (`HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER`), so a client never reuses one it is closing.
 */
const KEEP_ALIVE_GRACE = 1000;
const scanner = leakScanner(SECRET);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it holds or `ms` pass; true when it held. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) if (check()) return true;
  return check();
}

function descriptorsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A signed target the leak scanner watches. */
function link(file: string, options: { video?: string } = {}): string {
  const target = signedPath(file, options);
  scanner.sent(target);
  return target;
}

function head(method: string, target: string, extra = ""): string {
  return `${method} ${target} HTTP/1.1\r\nHost: gate.test\r\n${extra}\r\n`;
}

interface Answer {
  status: number;
  head: string;
  body: Buffer;
}

/**
 * A client connection on raw TCP: writes bytes exactly as given and reads the answers one by
 * one, so a test controls framing, pace and what the client reads.
 */
class RawClient {
  readonly socket: Socket;
  /** Every byte received, as latin1. */
  received = "";
  /** When the connection closed (Date.now()), once it has. */
  closedAt: number | undefined;
  readonly closed: Promise<number>;
  private offset = 0;
  private wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => {
      this.received += text;
      this.wake?.();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.closedAt = Date.now();
        this.wake?.();
        resolve(this.closedAt);
      }),
    );
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next whole answer on the connection; rejects when it closes before one came. */
  async answer(method = "GET"): Promise<Answer> {
    for (;;) {
      const parsed = this.parse(method);
      if (parsed !== undefined) return parsed;
      if (this.closedAt !== undefined) {
        const start = JSON.stringify(this.received.slice(this.offset, this.offset + 300));
        throw new Error(
          `closed before a whole answer; ${this.received.length} bytes, from ${start}`,
        );
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private parse(method: string): Answer | undefined {
    const text = this.received;
    const split = text.indexOf("\r\n\r\n", this.offset);
    if (split < 0) return undefined;
    const head = text.slice(this.offset, split);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    let at = split + 4;
    let body = "";
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (method === "HEAD" || status === 204 || status === 304) {
      // no body
    } else if (length) {
      if (text.length < at + Number(length[1])) return undefined;
      body = text.slice(at, at + Number(length[1]));
      at += body.length;
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const end = text.indexOf("\r\n", at);
        if (end < 0) return undefined;
        const size = parseInt(text.slice(at, end), 16);
        if (text.length < end + 2 + size + 2) return undefined;
        body += text.slice(end + 2, end + 2 + size);
        at = end + 2 + size + 2;
        if (size === 0) break;
      }
    } else if (this.closedAt === undefined) {
      return undefined; // ends when the connection does
    } else {
      body = text.slice(at);
      at = text.length;
    }
    this.offset = at;
    return { status, head, body: Buffer.from(body, "latin1") };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A raw-TCP origin that records every byte it receives and answers each request head with a
 * short 200, so a test can tell whether any body byte reached it.
 */
async function recordingOrigin() {
  const heads: string[] = [];
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = "";
    socket.on("data", (data) => {
      bytes += data.length;
      buffered += data.toString("latin1");
      let end: number;
      while ((end = buffered.indexOf("\r\n\r\n")) >= 0) {
        const head = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        heads.push(head);
        const [method = "", target = ""] = head.split(" ");
        const body = `origin saw ${target}`;
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n` +
            (method === "HEAD" ? "" : body),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    /** Bytes received beyond the request heads: body bytes, or anything else. */
    get extraBytes() {
      return bytes - heads.reduce((sum, head) => sum + Buffer.byteLength(head, "latin1"), 0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Scans everything a gate logged so far. */
function scanLog(gate: Served): void {
  for (const line of gate.lines) scanner.scan(line, "log");
  for (const text of gate.stderr) scanner.scan(text, "stderr");
}

const gates: Served[] = [];
async function startGate(env: Record<string, string>): Promise<Served> {
  const gate = await serve({ SECRET, ...env });
  gates.push(gate);
  return gate;
}

afterEach(async () => {
  for (const gate of gates.splice(0)) {
    await gate.stop();
    scanLog(gate);
  }
});

afterAll(() => {
  expect(scanner.scanned).toBeGreaterThan(0);
  expect(scanner.leaks).toEqual([]);
});

describe("a client that sends its request head a byte at a time", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(() => origin.close());

  /** Sends `text` a byte every `pauseMs` until the connection closes. */
  async function trickle(client: RawClient, text: string, pauseMs: number) {
    for (const byte of text) {
      if (client.closedAt !== undefined || client.socket.destroyed) return;
      client.write(byte);
      await sleep(pauseMs);
    }
  }

  it("is answered 408 and cut after REQUEST_TIMEOUT_MS, and its request never reaches the origin", async () => {
    const gate = await startGate({ ORIGIN_URL: origin.url, REQUEST_TIMEOUT_MS: "1000" });
    const target = link("slow-head.ts");
    const client = await RawClient.open(gate.port);
    const started = Date.now();
    void trickle(client, head("GET", target), 150);
    const closedAt = await client.closed;
    const took = closedAt - started;
    scanner.scan(client.received, "408 answer");
    // Node writes its own 408 and closes; the head was far from complete (a byte per 150 ms).
    expect(client.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(1000 + 1500);
    expect(origin.requests.map((r) => r.url)).not.toContainEqual(
      expect.stringContaining("slow-head"),
    );
  });

  it("is cut the same way on a kept-alive connection after a first request", async () => {
    const gate = await startGate({
      ORIGIN_URL: origin.url,
      REQUEST_TIMEOUT_MS: "1000",
      KEEPALIVE_TIMEOUT_MS: "10000",
    });
    const client = await RawClient.open(gate.port);
    client.write(head("GET", link("first.ts")));
    expect((await client.answer()).status).toBe(200);
    const started = Date.now();
    void trickle(client, head("GET", link("slow-second.ts")), 150);
    const took = (await client.closed) - started;
    expect(client.received).toContain("HTTP/1.1 408 Request Timeout\r\n");
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(1000 + 1500);
    expect(origin.requests.map((r) => r.url)).not.toContainEqual(
      expect.stringContaining("slow-second"),
    );
  });
});

describe("a client that reads nothing of a big answer", () => {
  it("is cut after CLIENT_TIMEOUT_MS and its origin request ends", async () => {
    const origin = await startOrigin();
    try {
      const gate = await startGate({ ORIGIN_URL: origin.url, CLIENT_TIMEOUT_MS: "500" });
      const client = await RawClient.open(gate.port);
      client.socket.pause(); // reads nothing: the socket buffers fill, then the gate's
      const started = Date.now();
      client.write(head("GET", link(`big-${200 * MiB}.ts`)));
      const originPath = `/videos/2675_3dk4NsRt6vWsffEr/big-${200 * MiB}.ts`;
      expect(await until(() => origin.aborted.includes(originPath), 10_000)).toBe(true);
      const took = Date.now() - started;
      const line = JSON.parse(await gate.waitFor(/client-timeout/));
      expect(line).toMatchObject({ status: 200, reason: "client-timeout" });
      // Cut, not finished: far less than the body got through.
      expect(line.bytes).toBeLessThan(200 * MiB);
      expect(origin.bigSent).toBeLessThan(200 * MiB);
      client.socket.resume();
      await client.closed;
      expect(took).toBeGreaterThanOrEqual(500);
      expect(took).toBeLessThan(500 + 4500);
    } finally {
      await origin.close();
    }
  });
});

describe("a client that disconnects mid-body", () => {
  it("has its origin request ended at once", async () => {
    const origin = await startOrigin();
    try {
      const gate = await startGate({ ORIGIN_URL: origin.url });
      const client = await RawClient.open(gate.port);
      client.write(head("GET", link(`big-${200 * MiB}.ts`)));
      expect(await until(() => client.received.length > 64 * 1024, 10_000)).toBe(true);
      const left = Date.now();
      client.destroy();
      const originPath = `/videos/2675_3dk4NsRt6vWsffEr/big-${200 * MiB}.ts`;
      expect(await until(() => origin.aborted.includes(originPath), 5000)).toBe(true);
      expect(Date.now() - left).toBeLessThan(1000);
      expect(origin.bigSent).toBeLessThan(200 * MiB);
      const line = JSON.parse(await gate.waitFor(/big-\d+\.ts/));
      expect(line.status).toBe(200);
      expect(line.bytes).toBeLessThan(200 * MiB);
    } finally {
      await origin.close();
    }
  });
});

describe("idle connections", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(() => origin.close());

  it("2,000 of them, half after a request and half before any, are all closed within their timeouts; the descriptors return; the gate still serves", async () => {
    const timeout = 2000;
    const gate = await startGate({
      ORIGIN_URL: origin.url,
      REQUEST_TIMEOUT_MS: String(timeout),
      KEEPALIVE_TIMEOUT_MS: String(timeout),
    });
    const pid = gate.proc.pid!;
    expect((await get(gate.url + "/healthz", { headers: { connection: "close" } })).status).toBe(
      200,
    );
    await sleep(200);
    const baseline = descriptorsOf(pid);

    const clients: { client: RawClient; idleSince: number; asked: boolean }[] = [];
    const opened = Date.now();
    for (let batch = 0; batch < 20; batch++) {
      const batchClients = await Promise.all(
        Array.from({ length: 100 }, () => RawClient.open(gate.port)),
      );
      await Promise.all(
        batchClients.map(async (client, i) => {
          const asked = i % 2 === 0;
          if (asked) {
            client.write(head("GET", "/healthz"));
            expect((await client.answer()).status).toBe(200);
          }
          clients.push({ client, idleSince: Date.now(), asked });
        }),
      );
    }
    const openingTook = Date.now() - opened;
    const peak = descriptorsOf(pid);

    await Promise.all(clients.map(({ client }) => client.closed));
    const idleFor = clients.map(({ client, idleSince }) => client.closedAt! - idleSince);
    // Closed by the server on time, not early: each after its own timeout, plus the checking
    // interval, Node's grace after the keep-alive timeout it advertises, and a loaded loop.
    expect(Math.min(...idleFor)).toBeGreaterThanOrEqual(timeout - 100);
    expect(Math.max(...idleFor)).toBeLessThan(timeout + KEEP_ALIVE_GRACE + 1500);
    // A connection that never sent a request got Node's 408 or nothing; one that had, nothing.
    for (const { client, asked } of clients) {
      if (!asked) expect(client.received).toMatch(/^(?:HTTP\/1\.1 408 Request Timeout\r\n.*)?$/s);
    }
    if (openingTook < timeout - 500) expect(peak).toBeGreaterThanOrEqual(baseline + 2000);
    expect(await until(() => descriptorsOf(pid) <= baseline, 2000)).toBe(true);
    expect(descriptorsOf(pid)).toBe(baseline);

    const res = await get(gate.url + link("after-idle.ts"));
    expect(res.status).toBe(200);
    scanner.scan(res.body, "after-idle body");
  });

  it("beyond MAX_CONNECTIONS are closed at once, those within it are served, and room frees as they close", async () => {
    const gate = await startGate({
      ORIGIN_URL: origin.url,
      MAX_CONNECTIONS: "20",
      KEEPALIVE_TIMEOUT_MS: "30000",
    });
    const pid = gate.proc.pid!;
    await sleep(100);
    const baseline = descriptorsOf(pid);
    const held = await Promise.all(Array.from({ length: 20 }, () => RawClient.open(gate.port)));
    for (const client of held) client.write(head("GET", "/healthz"));
    for (const client of held) expect((await client.answer()).status).toBe(200);

    const extra = await Promise.all(Array.from({ length: 5 }, () => RawClient.open(gate.port)));
    const started = Date.now();
    for (const client of extra) client.write(head("GET", link("over-the-limit.ts")));
    await Promise.all(extra.map((client) => client.closed));
    expect(Date.now() - started).toBeLessThan(1000);
    for (const client of extra) expect(client.received).toBe("");
    expect(origin.requests.map((r) => r.url)).not.toContainEqual(
      expect.stringContaining("over-the-limit"),
    );
    // One line says so, however many were closed.
    const line = JSON.parse(await gate.waitFor(/max-connections/));
    expect(line).toMatchObject({ level: "error" });
    expect(line.message).toMatch(/^max-connections: 20 client connections open; .* \(1 so far\)$/);
    expect(gate.lines.filter((l) => l.includes("max-connections"))).toHaveLength(1);
    // The held ones are still served.
    held[0]!.write(head("GET", link("held.ts")));
    expect((await held[0]!.answer()).status).toBe(200);

    for (const client of held.slice(0, 5)) client.destroy();
    // Room frees once the gate has seen them close: a new connection is asked until served.
    let servedAgain = false;
    for (const end = Date.now() + 10_000; !servedAgain && Date.now() < end;) {
      const later = await RawClient.open(gate.port);
      later.write(head("GET", link("room-again.ts")));
      // A connection over the limit is closed without an answer.
      servedAgain = await later.answer().then(
        (answer) => answer.status === 200,
        () => false,
      );
      later.destroy();
      if (!servedAgain) await sleep(20);
    }
    expect(servedAgain).toBe(true);
    for (const client of held) client.destroy();
    expect(await until(() => descriptorsOf(pid) <= baseline + 1, 2000)).toBe(true);
  });
});

describe("request bodies on GET and HEAD", () => {
  let origin: Awaited<ReturnType<typeof recordingOrigin>>;
  let gate: Served;
  beforeAll(async () => {
    origin = await recordingOrigin();
    gate = await serve({
      SECRET,
      ORIGIN_URL: origin.url,
      REQUEST_TIMEOUT_MS: "1500",
    });
  });
  afterAll(async () => {
    await gate?.stop();
    if (gate) scanLog(gate);
    await origin?.close();
  });

  /** A request for another video: what a smuggler would hide in a body. */
  const smuggled = () => head("GET", link("smuggled.ts", { video: "otherVideo" }));

  const framings = {
    "Content-Length": (body: string) => ({
      headers: `Content-Length: ${Buffer.byteLength(body)}\r\n`,
      body,
    }),
    chunked: (body: string) => ({
      headers: "Transfer-Encoding: chunked\r\n",
      body: `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    }),
  };

  it.each([
    ["GET", "Content-Length"],
    ["GET", "chunked"],
    ["HEAD", "Content-Length"],
    ["HEAD", "chunked"],
  ] as const)(
    "%s with a body framed by %s is answered, the body never forwarded, and the next request on the connection answered",
    async (method, framing) => {
      const before = origin.heads.length;
      const first = link(`with-body-${method}-${framing}.ts`);
      const next = link(`next-${method}-${framing}.ts`);
      const { headers, body } = framings[framing](smuggled());
      const client = await RawClient.open(gate.port);
      client.write(head(method, first, headers) + body + head("GET", next));
      const answers = [await client.answer(method), await client.answer()];
      client.destroy();
      for (const answer of answers) scanner.scan(answer.head + answer.body, "answer");
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(answers[1]!.body.toString()).toBe(
        `origin saw /videos/2675_3dk4NsRt6vWsffEr/next-${method}-${framing}.ts`,
      );
      const seen = origin.heads.slice(before);
      expect(seen.map((h) => h.split(" ").slice(0, 2).join(" "))).toEqual([
        `${method} /videos/2675_3dk4NsRt6vWsffEr/with-body-${method}-${framing}.ts`,
        `GET /videos/2675_3dk4NsRt6vWsffEr/next-${method}-${framing}.ts`,
      ]);
      for (const seenHead of seen)
        expect(seenHead).not.toMatch(/\r\n(?:content-length|transfer-encoding):/i);
      expect(origin.extraBytes).toBe(0);
    },
  );

  it.each(["GET", "HEAD"])(
    "%s with both Content-Length and chunked is refused 400 by Node's parser, the connection closed, nothing forwarded",
    async (method) => {
      const before = origin.heads.length;
      const inner = smuggled();
      const client = await RawClient.open(gate.port);
      client.write(
        head(
          method,
          link(`both-${method}.ts`),
          `Content-Length: ${inner.length}\r\nTransfer-Encoding: chunked\r\n`,
        ) +
          inner +
          head("GET", link(`after-both-${method}.ts`)),
      );
      await client.closed;
      scanner.scan(client.received, "400 answer");
      expect(client.received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(client.received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      expect(origin.heads.slice(before)).toEqual([]);
    },
  );

  it("a refused GET with a body is refused, and its body is not read as a request either", async () => {
    const before = origin.heads.length;
    const inner = smuggled();
    const client = await RawClient.open(gate.port);
    client.write(
      head(
        "GET",
        "/videos/2675_3dk4NsRt6vWsffEr/AAAAAAAAAAAAAAAAAAAAAA/1861919999/refused.ts",
        `Content-Length: ${inner.length}\r\n`,
      ) +
        inner +
        head("GET", link("after-refused.ts")),
    );
    const answers = [await client.answer(), await client.answer()];
    client.destroy();
    expect(answers.map((a) => a.status)).toEqual([403, 200]);
    expect(origin.heads.slice(before).map((h) => h.split(" ")[1])).toEqual([
      "/videos/2675_3dk4NsRt6vWsffEr/after-refused.ts",
    ]);
    expect(origin.extraBytes).toBe(0);
  });

  it("a GET with a 1 MiB body is answered, the body discarded, and the next request answered", async () => {
    const before = origin.heads.length;
    const client = await RawClient.open(gate.port);
    client.write(head("GET", link("big-body.ts"), `Content-Length: ${MiB}\r\n`));
    client.write(Buffer.alloc(MiB, 0x41));
    client.write(head("GET", link("after-big-body.ts")));
    const answers = [await client.answer(), await client.answer()];
    client.destroy();
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(origin.heads.slice(before)).toHaveLength(2);
    expect(origin.extraBytes).toBe(0);
  });

  it("a GET with a body bigger than Node's buffers streams to its end, however much longer than REQUEST_TIMEOUT_MS it takes", async () => {
    const slow = await startOrigin({ chunkDelayMs: 250 });
    try {
      const slowGate = await startGate({ ORIGIN_URL: slow.url, REQUEST_TIMEOUT_MS: "1000" });
      const client = await RawClient.open(slowGate.port);
      const started = Date.now();
      client.write(head("GET", link(`big-${8 * MiB}.ts`), `Content-Length: ${MiB}\r\n`));
      client.write(Buffer.alloc(MiB, 0x41));
      const answer = await client.answer();
      client.destroy();
      expect(answer.status).toBe(200);
      expect(answer.body.length).toBe(8 * MiB);
      expect(Date.now() - started).toBeGreaterThan(1000);
    } finally {
      await slow.close();
    }
  });

  it("a GET whose body never finishes arriving holds its connection no longer than REQUEST_TIMEOUT_MS", async () => {
    const client = await RawClient.open(gate.port);
    const started = Date.now();
    client.write(head("GET", link("endless-body.ts"), "Content-Length: 1000000\r\n") + "abc");
    const answer = await client.answer();
    expect(answer.status).toBe(200);
    const took = (await client.closed) - started;
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(1500 + 1500);
    expect(origin.extraBytes).toBe(0);
  });
});

describe("a client that pipelines without end", () => {
  function rssOf(pid: number): number {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  it("is cut once too many requests wait on its connection: memory, log and other clients are unharmed", async () => {
    const origin = await startOrigin();
    try {
      const gate = await startGate({ ORIGIN_URL: origin.url });
      const before = rssOf(gate.proc.pid!);
      const client = await RawClient.open(gate.port);
      const one = head("GET", link("720/seg-1.ts"));
      // 20,000 requests for a valid link, in writes of 1,000, without reading an answer.
      for (let i = 0; i < 20 && client.closedAt === undefined; i++) {
        client.write(one.repeat(1000));
        await sleep(5);
      }
      expect(await until(() => client.closedAt !== undefined, 5000)).toBe(true);
      expect(origin.requests.length).toBeLessThan(100);
      // Others are served at once, and the gate did not keep what the client sent.
      const other = await get(gate.url + link("720/seg-2.ts"));
      expect(other.status).toBe(200);
      expect(rssOf(gate.proc.pid!) - before).toBeLessThan(64 * MiB);
      // The other client's log line comes after the cut client's: wait for it, then count.
      await gate.waitFor(/seg-2\.ts/);
      const lines = gate.lines.filter((line) => line.includes("seg-1.ts"));
      expect(lines.length).toBeLessThan(100);
      expect(gate.lines.some((line) => /pipelin/.test(line))).toBe(true);
    } finally {
      await origin.close();
    }
  });

  it("is served in order up to the limit: a player that pipelines a few requests is unaffected", async () => {
    const origin = await startOrigin();
    try {
      const gate = await startGate({ ORIGIN_URL: origin.url });
      const client = await RawClient.open(gate.port);
      const targets = Array.from({ length: 8 }, (_, i) => link(`720/seg-${i}.ts`));
      client.write(targets.map((target) => head("GET", target)).join(""));
      for (let i = 0; i < targets.length; i++) {
        const answer = await client.answer();
        expect(answer.status).toBe(200);
        expect(answer.body.toString()).toBe(
          `content of /videos/2675_3dk4NsRt6vWsffEr/720/seg-${i}.ts`,
        );
      }
      client.destroy();
    } finally {
      await origin.close();
    }
  });
});
