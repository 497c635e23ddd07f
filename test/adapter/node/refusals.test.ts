/**
 * The Node server answers what it does not send to the origin (refusals, 404, preflights) from
 * the same policy as the Worker: for each kind, the status, every header but the transport's
 * own and the body are the Worker's, byte for byte, read off a raw socket. Also what only the
 * Node server serves (`/healthz`) and what only it can be sent (HTTP/1.0 without `Host`).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../../src/core/token.js";
import { rawExchange, type Exchange } from "../../helpers/raw-exchange.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import { startOrigin, type Origin } from "../../helpers/origin.js";
import { serve, type Served } from "../../helpers/serve.js";
import { startWorker, type StartedWorker } from "../../helpers/worker.js";

const PLAYER = "https://player.example";

function request(method: string, target: string, headers: string[] = [], version = "1.1") {
  const host = version === "1.1" ? ["Host: gate.test"] : [];
  const lines = [`${method} ${target} HTTP/${version}`, ...host, ...headers, "Connection: close"];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

/** Headers each server sets for its connection, not from the gate's policy. */
const TRANSPORT = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);

/** Status, the gate's headers (sorted, names lower-cased) and body of one raw answer. */
function shape(answer: Exchange) {
  const [line = "", ...fields] = answer.head.split("\r\n");
  const headers = fields
    .map((field) => {
      const colon = field.indexOf(":");
      return `${field.slice(0, colon).toLowerCase()}: ${field.slice(colon + 1).trim()}`;
    })
    .filter((field) => !TRANSPORT.has(field.slice(0, field.indexOf(":"))))
    .sort();
  return { status: line.split(" ")[1], headers, body: answer.body };
}

const expired = (() => {
  const expires = 1_000_000_000;
  const token = signToken({ clientId: "2675", videoId: "v", secret: SECRET, expires });
  return `/videos/2675_v/${token}/${expires}/a.ts`;
})();

/** One request for each answer the gate gives itself, with the status it must have. */
const KINDS: [string, string, string, number][] = [
  ["not-found", "GET", "/elsewhere/a.ts", 404],
  ["method", "POST", signedPath("a.ts"), 405],
  ["method (DELETE)", "DELETE", "/videos/2675_v/x", 405],
  // workerd resolves `..` before the Worker runs: an escaped `/` is unsafe on both.
  ["unsafe-path", "GET", "/videos/2675_v/t/1/a%2f..%2fb.ts", 403],
  ["malformed", "GET", "/videos/2675_v/a.ts", 403],
  ["bad-token", "GET", signedPath("a.ts", { secret: "another secret" }), 403],
  ["expired", "GET", expired, 410],
  ["upgrade", "GET", signedPath("a.ts"), 403],
];

describe.each([
  ["CORS_ORIGINS unset", {}],
  ["CORS_ORIGINS a list", { CORS_ORIGINS: PLAYER }],
  ["CORS_ORIGINS *", { CORS_ORIGINS: "*" }],
])("the Node server refuses as the Worker does, with %s", (_, settings) => {
  let origin: Origin;
  let node: Served;
  let worker: StartedWorker;
  beforeAll(async () => {
    origin = await startOrigin();
    const env = { ORIGIN_URL: origin.url, SECRET, ...settings };
    [node, worker] = await Promise.all([serve(env), startWorker(env)]);
  });
  afterAll(async () => {
    await Promise.all([node?.stop(), worker?.close()]);
    await origin?.close();
  });

  const both = async (bytes: Buffer) => {
    const [fromNode, fromWorker] = await Promise.all([
      rawExchange(node.port, bytes),
      rawExchange(worker.port, bytes),
    ]);
    return [shape(fromNode), shape(fromWorker)] as const;
  };

  it.each(
    KINDS.flatMap(([kind, method, target, status]) => {
      const heads = method === "GET" ? ["GET", "HEAD"] : [method];
      return heads.map((verb) => [kind, verb, target, status] as const);
    }),
  )("%s to %s: same status, headers and body", async (kind, method, target, status) => {
    const before = origin.requests.length;
    const extra = kind === "upgrade" ? ["Upgrade: websocket"] : [];
    const [fromNode, fromWorker] = await both(
      request(method, target, [`Origin: ${PLAYER}`, ...extra]),
    );
    expect(fromNode).toEqual(fromWorker);
    expect(fromNode.status).toBe(String(status));
    expect(fromNode.headers).toContain("cache-control: no-store");
    if (method === "HEAD") expect(fromNode.body).toBe("");
    else expect(fromNode.body).toMatch(/^[A-Z][^\n]*\n$/);
    if (status === 405) expect(fromNode.headers).toContain("allow: GET, HEAD");
    expect(origin.requests.length).toBe(before);
  });

  it("answers a preflight under a prefix as the Worker does, without a token", async () => {
    const preflight = request("OPTIONS", "/videos/2675_v/", [
      `Origin: ${PLAYER}`,
      "Access-Control-Request-Method: GET",
      "Access-Control-Request-Headers: range",
    ]);
    const [fromNode, fromWorker] = await both(preflight);
    expect(fromNode).toEqual(fromWorker);
    const cors = "CORS_ORIGINS" in settings;
    expect(fromNode.status).toBe(cors ? "204" : "405");
    if (cors) expect(fromNode.headers).toContain("access-control-allow-methods: GET,HEAD");
  });
});

describe("the Node server's own answers", () => {
  let origin: Origin;
  let node: Served;
  beforeAll(async () => {
    origin = await startOrigin();
    node = await serve({ ORIGIN_URL: origin.url, SECRET, LOG_FORMAT: "json" });
  });
  afterAll(async () => {
    await node?.stop();
    await origin?.close();
  });

  it.each(["/healthz", "/healthz?probe=1", "/x/../healthz", "/%68ealthz"])(
    "answers GET and HEAD %s with 200 ok, its length stated both times",
    async (target) => {
      const get = await rawExchange(node.port, request("GET", target));
      const head = await rawExchange(node.port, request("HEAD", target));
      expect([get.status, get.body, head.status, head.body]).toEqual([200, "ok", 200, ""]);
      expect(get.head).toMatch(/\r\ncontent-length: 2\r\n/i);
      expect(head.head).toMatch(/\r\ncontent-length: 2\r\n/i);
    },
  );

  it.each(["//healthz", "/healthz.txt", "/Healthz"])("answers %s 404", async (target) => {
    expect((await rawExchange(node.port, request("GET", target))).status).toBe(404);
  });

  it("decides an HTTP/1.0 request without Host like any other: health, grant, refusal, 404", async () => {
    const answers = await Promise.all(
      ["/healthz", signedPath("a.ts"), expired, "/elsewhere"].map((target) =>
        rawExchange(node.port, request("GET", target, [], "1.0")),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 410, 404]);
    expect(answers[2]!.body).toBe("Gone: link expired\n");
  });

  it("reads away the body of a refused POST, and answers the next request on its connection", async () => {
    const body = "x".repeat(100_000);
    const refused = `POST ${signedPath("a.ts")} HTTP/1.1\r\nHost: gate.test\r\nContent-Length: ${body.length}\r\n\r\n`;
    const text = await new Promise<string>((resolve) => {
      const socket = connect(node.port, "127.0.0.1");
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
      socket.on("close", () => resolve(received));
      socket.write(refused + body + request("GET", "/healthz").toString("latin1"));
    });
    expect(text.match(/^HTTP\/1\.1 \d{3}/gm)).toEqual(["HTTP/1.1 405", "HTTP/1.1 200"]);
    expect(text.endsWith("\r\n\r\nok")).toBe(true);
  });

  it("logs the reason and the bytes of every answer it gives itself", async () => {
    await rawExchange(node.port, request("GET", expired));
    await rawExchange(node.port, request("POST", "/videos/2675_v/x"));
    await rawExchange(node.port, request("GET", "/healthz"));
    const line = async (pattern: RegExp) => JSON.parse(await node.waitFor(pattern));
    expect(await line(/"status":410/)).toMatchObject({ reason: "expired", bytes: 19 });
    expect(await line(/"status":405/)).toMatchObject({ reason: "method", bytes: 19 });
    expect(await line(/"path":"\/healthz".*"status":200/)).toMatchObject({ bytes: 2 });
  });
});
