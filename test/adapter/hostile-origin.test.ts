/**
 * A hostile origin in front of both runtimes. One table: what a raw-TCP origin gets wrong (one
 * behaviour a row) and what the client then gets from the Node server and from the Worker in
 * Miniflare: a 502/504 while no header has gone out, after that an answer the client sees cut
 * short, never a complete one holding other bytes. After each fault a normal request through
 * the same gate must get its own bytes. Then 10,000 faulty exchanges through the Node server,
 * with its open descriptors and heap measured before and after. The Node origin leg's finer
 * cases (split answers, header syntax, retries, slow clients) are in
 * test/adapter/node/origin.test.ts.
 */
import { readdirSync } from "node:fs";
import { createServer as createHttpServer, request, type IncomingHttpHeaders } from "node:http";
import { createServer as createNetServer } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Miniflare } from "miniflare";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startGateServer, type GateServer } from "../../src/adapter/node/server.js";
import { readSettings } from "../../src/core/settings.js";
import { leakScanner } from "../helpers/leaks.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { scriptedOrigin, type Scripted, type ScriptedOrigin } from "../helpers/scripted-origin.js";

const TIMEOUT_MS = 800;
const OK = "HTTP/1.1 200 OK\r\n";
const CHUNKED = `${OK}Transfer-Encoding: chunked\r\n\r\n`;
/** A whole second answer, for an origin to send where nothing asked for it. */
const POISON = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nPOISONED";

/** Response header lines adding up to at least `bytes`. */
function headerLines(bytes: number): string {
  let lines = "";
  for (let i = 0; lines.length < bytes; i++) lines += `X-Filler-${i}: ${"h".repeat(100)}\r\n`;
  return lines;
}

/** What a runtime must answer to the faulty request. */
interface Expected {
  status: number;
  /** The whole body: the answer is complete. */
  body?: string;
  headers?: Record<string, string>;
  /** The body the client has when the answer is cut: fewer bytes than framed, then the end. */
  cut?: string;
  /** The body the client has when no more bytes and no end come (it gives up). */
  stalls?: string;
  /**
   * workerd only: a chunked body that breaks after its head is closed with the last chunk,
   * so the client holds these bytes as if they were the whole body.
   */
  closedAsWhole?: string;
  /** What the gate logs about the fault; the Node server also puts it on the access line. */
  reason?: "origin-error" | "origin-timeout";
}

interface Behaviour {
  name: string;
  /** The origin's answer to the faulty request; `refused`: nothing listens on its port. */
  fault: Scripted | "refused";
  /** Headers of the faulty request. */
  headers?: Record<string, string>;
  node: Expected;
  workerd: Expected;
  /**
   * workerd reuses an origin connection after bytes past a complete answer (README, "Where the
   * runtimes differ"), so its follow-up request goes to a clean origin; this says why.
   */
  workerdFollowUpElsewhere?: string;
}

/** A row whose answer is the origin's to give: both runtimes pass it on as sent. */
function passedOn(
  name: string,
  answer: string,
  expected: Expected,
  headers?: Record<string, string>,
): Behaviour {
  return { name, fault: { pieces: [answer] }, headers, node: expected, workerd: expected };
}

const BAD_GATEWAY = "Bad Gateway: the origin could not be reached\n";
const GATEWAY_TIMEOUT = "Gateway Timeout: the origin did not answer in time\n";
const badGateway: Expected = { status: 502, body: BAD_GATEWAY, reason: "origin-error" };
const CARRIES_ON = "workerd reads the bytes after the answer as the next answer on that connection";

const BEHAVIOURS: Behaviour[] = [
  { name: "refuses the connection", fault: "refused", node: badGateway, workerd: badGateway },
  {
    name: "resets before its headers",
    fault: { reset: true },
    node: badGateway,
    workerd: badGateway,
  },
  {
    name: "never sends its headers",
    fault: { silent: true },
    node: { status: 504, body: GATEWAY_TIMEOUT, reason: "origin-timeout" },
    workerd: { status: 504, body: GATEWAY_TIMEOUT, reason: "origin-timeout" },
  },
  {
    name: "resets mid-body (Content-Length)",
    fault: { pieces: [`${OK}Content-Length: 100\r\n\r\nsome`], resetAfter: true },
    node: { status: 200, cut: "some", reason: "origin-error" },
    workerd: { status: 200, cut: "some" },
  },
  {
    name: "resets mid-body (chunked)",
    fault: { pieces: [`${CHUNKED}4\r\nsome\r\n`], resetAfter: true },
    node: { status: 200, cut: "some", reason: "origin-error" },
    workerd: { status: 200, closedAsWhole: "some" },
  },
  {
    name: "stalls mid-body",
    fault: { pieces: [`${OK}Content-Length: 100\r\n\r\nsome`] },
    // Node cuts after ORIGIN_TIMEOUT_MS without body bytes. The Worker's timeout ends at the
    // head, so the client waits until it gives up; workerd notices it left only when it next
    // has bytes for it, so the origin connection stays open until the origin sends or closes.
    node: { status: 200, cut: "some", reason: "origin-timeout" },
    workerd: { status: 200, stalls: "some" },
  },
  {
    name: "sends fewer bytes than its Content-Length, then closes",
    fault: { pieces: [`${OK}Content-Length: 100\r\n\r\nonly this`], close: true },
    node: { status: 200, cut: "only this", reason: "origin-error" },
    workerd: { status: 200, cut: "only this" },
  },
  {
    name: "sends more bytes than its Content-Length",
    fault: { pieces: [`${OK}Content-Length: 5\r\n\r\nHELLO and then some`] },
    node: { status: 200, body: "HELLO" },
    workerd: { status: 200, body: "HELLO" },
    workerdFollowUpElsewhere: CARRIES_ON,
  },
  {
    name: "sends both Content-Length and Transfer-Encoding",
    fault: {
      pieces: [`${OK}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`],
    },
    node: badGateway,
    // workerd lets the chunked framing win, as RFC 9112 §6.3 reads such an answer.
    workerd: { status: 200, body: "abc" },
  },
  {
    name: "sends two different Content-Lengths",
    fault: { pieces: [`${OK}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`] },
    node: badGateway,
    workerd: badGateway,
  },
  ...[
    ["zz", "that is not hex"],
    ["-5", "that is negative"],
    ["10000000000000005", "past 64 bits"],
  ].map(([size, what]): Behaviour => ({
    name: `sends a first chunk size ${what} (${size})`,
    fault: { pieces: [`${CHUNKED}${size}\r\nhello\r\n0\r\n\r\n`], close: true },
    node: badGateway,
    workerd: { status: 200, closedAsWhole: "" },
  })),
  {
    name: "sends a bad chunk size after a good chunk",
    fault: { pieces: [`${CHUNKED}5\r\nhello\r\n`, "zz\r\nworld\r\n0\r\n\r\n"], close: true },
    node: { status: 200, cut: "hello", reason: "origin-error" },
    workerd: { status: 200, closedAsWhole: "hello" },
  },
  {
    name: "sends bytes after a complete response",
    fault: { pieces: [`${OK}Content-Length: 5\r\n\r\nHELLO`, POISON] },
    node: { status: 200, body: "HELLO" },
    workerd: { status: 200, body: "HELLO" },
    workerdFollowUpElsewhere: CARRIES_ON,
  },
  {
    name: "sends 100 Continue, then a response",
    fault: { pieces: ["HTTP/1.1 100 Continue\r\n\r\n", `${OK}Content-Length: 2\r\n\r\nok`] },
    // undici refuses a 100 nobody asked for; workerd's fetch hands it over as the final answer.
    node: badGateway,
    workerd: badGateway,
  },
  {
    name: "sends 103 Early Hints, then a response",
    fault: {
      pieces: [
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        `${OK}Content-Length: 2\r\n\r\nok`,
      ],
    },
    node: { status: 200, body: "ok" },
    workerd: badGateway,
  },
  {
    name: "sends 12 KiB of headers (within both limits)",
    fault: { pieces: [`${OK}${headerLines(12 * 1024)}Content-Length: 2\r\n\r\nok`] },
    node: { status: 200, body: "ok", headers: { "x-filler-0": "h".repeat(100) } },
    workerd: { status: 200, body: "ok", headers: { "x-filler-0": "h".repeat(100) } },
  },
  {
    name: "sends 64 KiB of headers (past undici's 16 KiB)",
    fault: { pieces: [`${OK}${headerLines(64 * 1024)}Content-Length: 2\r\n\r\nok`] },
    node: badGateway,
    workerd: { status: 200, body: "ok", headers: { "x-filler-0": "h".repeat(100) } },
  },
  {
    name: "sends 1 MiB of headers (past workerd's limit too)",
    fault: { pieces: [`${OK}${headerLines(1024 * 1024)}Content-Length: 2\r\n\r\nok`] },
    node: badGateway,
    workerd: badGateway,
  },
  passedOn(
    "answers 500 Internal Server Error with a body",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops",
    { status: 500, body: "oops" },
  ),
  passedOn(
    "answers 503 Service Unavailable with a body",
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nbusy",
    { status: 503, body: "busy", headers: { "retry-after": "7" } },
  ),
  passedOn(
    "answers 304 Not Modified",
    'HTTP/1.1 304 Not Modified\r\nETag: "e1"\r\n\r\n',
    { status: 304, body: "", headers: { etag: '"e1"' } },
    { "if-none-match": '"e1"' },
  ),
  passedOn(
    "answers 206 Partial Content",
    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/10\r\nContent-Length: 2\r\n\r\nab",
    { status: 206, body: "ab", headers: { "content-range": "bytes 0-1/10" } },
    { range: "bytes=0-1" },
  ),
  passedOn(
    "answers 416 Range Not Satisfiable",
    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */10\r\nContent-Length: 0\r\n\r\n",
    { status: 416, body: "", headers: { "content-range": "bytes */10" } },
    { range: "bytes=50-" },
  ),
];

const running: { close(): Promise<unknown> }[] = [];
const scanner = leakScanner(SECRET);

/** The answer a normal request for `file` gets: its own name, so another's bytes show. */
function ownAnswer(file: string): string {
  const body = `own ${file}`;
  return `${OK}Content-Length: ${body.length}\r\n\r\n${body}`;
}

function fileOf(requestHead: string): string {
  return /^GET \S*\/(\S+) HTTP/.exec(requestHead)?.[1] ?? "?";
}

/** A scripted origin that commits `fault` on `fault.ts` and answers every other file properly. */
function hostileOrigin(fault: Scripted): Promise<ScriptedOrigin> {
  return scriptedOrigin((head) =>
    fileOf(head) === "fault.ts" ? fault : { pieces: [ownAnswer(fileOf(head))] },
  );
}

/** A port nothing listens on (it did a moment ago). */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A well-behaved origin on `port`, for a refused origin that comes back. */
async function ownOriginOn(port: number): Promise<void> {
  const server = createHttpServer((req, res) => {
    const body = `own ${req.url!.split("/").at(-1)}`;
    res.writeHead(200, { "content-length": body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  running.push({
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  });
}

/** How an answer reached the client. */
interface Seen {
  status: number;
  head: string;
  headers: IncomingHttpHeaders;
  body: string;
  /**
   * complete: framed and ended; cut: the connection ended before the framing did; stalled: no
   * end within the wait; failed: no answer the client could parse.
   */
  end: "complete" | "cut" | "stalled" | "failed";
  error?: string;
}

/**
 * GETs a signed link for `file` from the gate at `base` over a fresh connection, scanning the
 * answer for leaks. Gives up after `waitMs` without an end.
 */
function ask(
  base: string,
  file: string,
  options: { host?: string; headers?: Record<string, string>; waitMs?: number } = {},
): Promise<Seen> {
  const target = signedPath(file);
  scanner.sent(target);
  return new Promise((resolve) => {
    let done = false;
    const req = request(base + target, {
      agent: false,
      // workerd passes big heads on; the client must be able to read them to judge the answer.
      maxHeaderSize: 2 * 1024 * 1024,
      headers: { ...options.headers, ...(options.host ? { host: options.host } : {}) },
    });
    const finish = (seen: Seen) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      scanner.scan(`${seen.head}\r\n\r\n${seen.body}`, `answer to ${file}`);
      resolve(seen);
      req.destroy();
    };
    let timer = setTimeout(
      () => finish({ status: 0, head: "", headers: {}, body: "", end: "stalled" }),
      options.waitMs ?? 10_000,
    );
    req.on("error", (error) =>
      finish({ status: 0, head: "", headers: {}, body: "", end: "failed", error: error.message }),
    );
    req.on("response", (res) => {
      let body = "";
      const seen = (end: Seen["end"], error?: string): Seen => {
        let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}`;
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          head += `\r\n${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`;
        }
        return { status: res.statusCode ?? 0, head, headers: res.headers, body, end, error };
      };
      clearTimeout(timer);
      timer = setTimeout(() => finish(seen("stalled")), options.waitMs ?? 10_000);
      res.setEncoding("latin1");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => finish(seen(res.complete ? "complete" : "cut")));
      res.on("error", (error) => finish(seen("cut", error.message)));
      res.on("close", () => finish(seen(res.complete ? "complete" : "cut")));
    });
    req.end();
  });
}

/** Checks an answer against what the row expects of this runtime. */
function expectAnswer(seen: Seen, expected: Expected): void {
  const what = JSON.stringify({ ...seen, head: seen.head.slice(0, 300) });
  expect(seen.status, what).toBe(expected.status);
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    expect(seen.headers[name], what).toBe(value);
  }
  if (expected.body !== undefined) {
    expect([seen.end, seen.body], what).toEqual(["complete", expected.body]);
  }
  const length = Number(seen.headers["content-length"] ?? NaN);
  if (expected.cut !== undefined || expected.stalls !== undefined) {
    // Never a complete answer: fewer bytes than the head framed, and an end the client sees.
    const kept = expected.cut ?? expected.stalls;
    expect([seen.end, seen.body], what).toEqual([expected.cut ? "cut" : "stalled", kept]);
    if (Number.isFinite(length)) expect(seen.body.length, what).toBeLessThan(length);
    else expect(seen.headers["transfer-encoding"], what).toBe("chunked");
  }
  if (expected.closedAsWhole !== undefined) {
    // What the origin sent before its fault, and not a byte of anything else; chunked, with
    // its last chunk, so the client cannot tell it from a whole body.
    expect([seen.end, seen.body], what).toEqual(["complete", expected.closedAsWhole]);
    expect(seen.headers["transfer-encoding"], what).toBe("chunked");
    expect(seen.headers["content-length"], what).toBeUndefined();
  }
}

/** Whether a follow-up request got its own file, whole. */
function expectOwn(seen: Seen, file: string): void {
  expect([seen.status, seen.end, seen.body], JSON.stringify(seen)).toEqual([
    200,
    "complete",
    `own ${file}`,
  ]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

/** Long enough for a Node cut after a body stall (undici's body timer ticks every ~0.5 s). */
const WAIT_MS = 2 * TIMEOUT_MS + 1000;
/** Lets a fault play out (bytes after an answer arrive a few ms later) before the follow-up. */
const SETTLE_MS = 30;

afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.close();
  expect(scanner.leaks).toEqual([]);
});

describe("a hostile origin behind the Node server", () => {
  it.each(BEHAVIOURS)("when the origin $name", async (row) => {
    const port = row.fault === "refused" ? await closedPort() : undefined;
    const origin = row.fault === "refused" ? undefined : await hostileOrigin(row.fault);
    if (origin !== undefined) running.push(origin);
    const log: string[] = [];
    const gate: GateServer = await startGateServer({
      settings: readSettings({
        ORIGIN_URL: origin?.url ?? `http://127.0.0.1:${port}`,
        SECRET,
        ORIGIN_TIMEOUT_MS: String(TIMEOUT_MS),
      }),
      port: 0,
      log: (line) => log.push(line),
      listenSockets: 1,
      shutdownMs: 100,
    });
    running.push(gate);

    const started = Date.now();
    expectAnswer(
      await ask(gate.url, "fault.ts", { headers: row.headers, waitMs: WAIT_MS }),
      row.node,
    );
    // The gate's own timer gives the 504 at ORIGIN_TIMEOUT_MS; undici's, behind it, ticks every
    // ~0.5 s and may come up to a tick sooner.
    if (row.node.status === 504) {
      expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 500);
    }
    // An answer cut or given up leaves no connection open at the origin.
    if (row.node.cut !== undefined) expect(await until(() => origin!.open === 0)).toBe(true);

    await sleep(SETTLE_MS);
    if (port !== undefined) await ownOriginOn(port); // the origin comes back
    expectOwn(await ask(gate.url, "after.ts"), "after.ts");

    await until(() => log.filter((line) => line.includes('"method"')).length === 2);
    const access = log.map((line) => JSON.parse(line) as Record<string, unknown>);
    const faultLine = access.find((line) => String(line.path).endsWith("/fault.ts"));
    expect(faultLine?.status, log.join("\n")).toBe(row.node.status);
    expect(faultLine?.reason, log.join("\n")).toBe(row.node.reason);
    if (row.node.reason !== undefined) {
      expect(log.join("\n")).toContain(`"message":"${row.node.reason}: `);
    }
    for (const line of log) scanner.scan(line, "Node log");
  });
});

describe("a hostile origin behind the Worker in Miniflare", () => {
  let mf: Miniflare;
  let gate: string;
  /** workerd's stdout and stderr, where the Worker's own log lines go. */
  const output: string[] = [];
  /** Each row's origin, or the port of one that refuses, to bring it back for the follow-up. */
  const origins = new Map<Behaviour, ScriptedOrigin>();
  const refusedPorts = new Map<Behaviour, number>();
  const hostOf = (i: number) => `row${i}.test`;
  const CLEAN = "clean.test";
  let clean: ScriptedOrigin;

  beforeAll(async () => {
    const urls: string[] = [];
    for (const row of BEHAVIOURS) {
      if (row.fault === "refused") {
        const port = await closedPort();
        refusedPorts.set(row, port);
        urls.push(`http://127.0.0.1:${port}`);
      } else {
        const origin = await hostileOrigin(row.fault);
        origins.set(row, origin);
        urls.push(origin.url);
      }
    }
    clean = await scriptedOrigin((head) => ({ pieces: [ownAnswer(fileOf(head))] }));
    // One worker a row, each with its own origin, chosen by Host: one workerd for the table.
    const worker = (name: string, url: string, route: string) => ({
      name,
      scriptPath: "dist/worker.bundle.js",
      modules: true,
      compatibilityDate: "2026-04-26",
      bindings: { SECRET, ORIGIN_URL: url, ORIGIN_TIMEOUT_MS: String(TIMEOUT_MS) },
      routes: [`${route}/*`],
    });
    mf = new Miniflare({
      host: "127.0.0.1",
      port: 0,
      handleRuntimeStdio(stdout, stderr) {
        stdout.on("data", (data) => output.push(String(data)));
        stderr.on("data", (data) => output.push(String(data)));
      },
      workers: [
        ...urls.map((url, i) => worker(`row${i}`, url, hostOf(i))),
        worker("clean", clean.url, CLEAN),
      ],
    });
    gate = (await mf.ready).origin;
  });
  afterAll(async () => {
    await mf?.dispose();
    await clean?.close();
    for (const origin of origins.values()) await origin.close();
    for (const text of output) scanner.scan(text, "workerd output");
    expect(scanner.leaks).toEqual([]);
  });

  it.each(BEHAVIOURS)("when the origin $name", async (row) => {
    const i = BEHAVIOURS.indexOf(row);
    const logged = output.length;
    const started = Date.now();
    const seen = await ask(gate, "fault.ts", {
      host: hostOf(i),
      headers: row.headers,
      waitMs: WAIT_MS,
    });
    expectAnswer(seen, row.workerd);
    if (row.workerd.status === 504) {
      expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    }
    if (row.workerd.cut !== undefined) {
      expect(await until(() => origins.get(row)!.open === 0)).toBe(true);
    }
    if (row.workerd.reason !== undefined) {
      const said = `tokengate: ${row.workerd.reason}: `;
      expect(await until(() => output.slice(logged).join("").includes(said))).toBe(true);
    }

    await sleep(SETTLE_MS);
    const port = refusedPorts.get(row);
    if (port !== undefined) await ownOriginOn(port);
    const host = row.workerdFollowUpElsewhere === undefined ? hostOf(i) : CLEAN;
    expectOwn(await ask(gate, "after.ts", { host }), "after.ts");
    for (const text of output.slice(logged)) scanner.scan(text, "workerd output");
  });
});

describe("10,000 faulty exchanges through the Node server", () => {
  /** Rows that fail fast, cycled through; each answer is checked against its row. */
  const FAST = [
    "refuses the connection",
    "resets before its headers",
    "resets mid-body (Content-Length)",
    "resets mid-body (chunked)",
    "sends fewer bytes than its Content-Length, then closes",
    "sends more bytes than its Content-Length",
    "sends both Content-Length and Transfer-Encoding",
    "sends two different Content-Lengths",
    "sends a first chunk size that is not hex (zz)",
    "sends a bad chunk size after a good chunk",
  ].map((name) => BEHAVIOURS.find((row) => row.name.includes(name))!);
  const FAULTY = 10_000;
  const CONCURRENCY = 50;
  /** Every so many exchanges a normal request, which must get its own bytes. */
  const NORMAL_EVERY = 11;
  /** Exchanges in all: FAULTY faulty ones and every NORMAL_EVERY-th normal. */
  const EXCHANGES = (FAULTY * NORMAL_EVERY) / (NORMAL_EVERY - 1);

  it("leave open descriptors and heap where they were", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const descriptors = () => readdirSync("/proc/self/fd").length;
    const settle = async () => {
      for (let i = 0; i < 4; i++) {
        gc();
        await sleep(20);
      }
    };

    // `Keep-Alive: timeout=3` makes undici drop an idle origin connection after 1 s (it keeps
    // a 2 s margin), so idle connections are gone when the figures are read.
    const origin = await scriptedOrigin((head) => {
      const file = fileOf(head);
      const row = /^fault-(\d+)-/.exec(file);
      if (row) return FAST[Number(row[1])]!.fault as Scripted;
      const body = `own ${file}`;
      return {
        pieces: [`${OK}Keep-Alive: timeout=3\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
      };
    });
    running.push(origin);
    let logLines = 0;
    const gateFor = async (url: string) => {
      const gate = await startGateServer({
        settings: readSettings({ ORIGIN_URL: url, SECRET, ORIGIN_TIMEOUT_MS: "5000" }),
        port: 0,
        // Scanned as they come, not kept: kept lines would count against the heap.
        log: (line) => (logLines++, scanner.scan(line, "Node log")),
        listenSockets: 1,
        shutdownMs: 100,
      });
      running.push(gate);
      return gate;
    };
    const gate = await gateFor(origin.url);
    const refusing = await gateFor(`http://127.0.0.1:${await closedPort()}`);

    const exchange = async (n: number) => {
      if (n % NORMAL_EVERY === 0) {
        expectOwn(await ask(gate.url, `own-${n}.ts`), `own-${n}.ts`);
        return;
      }
      const k = n % FAST.length;
      const row = FAST[k]!;
      const via = row.fault === "refused" ? refusing : gate;
      expectAnswer(await ask(via.url, `fault-${k}-${n}.ts`, { waitMs: 10_000 }), row.node);
    };
    const run = async (from: number, count: number) => {
      let next = from;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < from + count) await exchange(next++);
        }),
      );
      // The origin's record of requests is the test's, not the gate's: dropped before measuring.
      origin.requests.splice(0);
    };
    /** Waits for idle connections to close (or for `fds` descriptors), then collects garbage. */
    const quiet = async (fds = Infinity) => {
      gate.server.closeIdleConnections();
      refusing.server.closeIdleConnections();
      await until(() => origin.open === 0 && descriptors() <= fds, 10_000);
      await settle();
    };

    // A first round creates what lives as long as the process (undici's timers, parsers).
    await run(0, 550);
    await quiet();
    const before = { fds: descriptors(), heap: process.memoryUsage().heapUsed };

    const started = Date.now();
    await run(550, EXCHANGES);
    const ms = Date.now() - started;
    const openRightAfter = descriptors();
    await quiet(before.fds);
    const after = { fds: descriptors(), heap: process.memoryUsage().heapUsed };

    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);
    console.log(
      `${FAULTY} faulty exchanges and ${EXCHANGES - FAULTY} normal ones, ${CONCURRENCY} at a time, in ` +
        `${(ms / 1000).toFixed(1)} s; descriptors ${before.fds} before, ${openRightAfter} right ` +
        `after, ${after.fds} once idle; heap ${mib(before.heap)} MiB before, ` +
        `${mib(after.heap)} MiB after (${mib(after.heap - before.heap)} MiB); ` +
        `origin connections ${origin.connections}; ${logLines} log lines`,
    );
    // Descriptors: the count is the whole test process's, which the test runner shares (its
    // IPC channel, files it may open meanwhile): a slack of two for that, not per exchange.
    expect(after.fds).toBeLessThanOrEqual(before.fds + 2);
    // Heap: it moves by a MiB or so from run to run whatever the number of exchanges; keeping
    // even the options of each origin request (a few hundred bytes) adds some 6 MiB, measured.
    expect(after.heap - before.heap).toBeLessThan(4 * 1024 * 1024);
    // 11,000 exchanges: seconds on a quiet machine, many times that on a loaded one.
  }, 240_000);
});
