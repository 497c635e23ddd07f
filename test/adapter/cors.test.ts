/**
 * CORS_ORIGINS on both runtimes: a player on another origin can read every answer under a
 * guarded prefix, refusals included, and why it was refused (Tokengate-Reason); preflights are
 * answered without a token; with CORS_ORIGINS unset nothing changes. Held to hono/cors, the
 * well-kept implementation ours stands in for (it cannot reach refusals or Node's streaming path).
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPOSED_HEADERS, corsHeaders, preflightHeaders } from "../../src/http/cors.js";
import { parseCorsOrigins, SettingError } from "../../src/core/settings.js";
import { signQueryToken } from "../../src/core/query-token.js";
import { signToken } from "../../src/core/token.js";
import { answerFor, headerReader } from "../helpers/http-semantics.js";
import { get, type Answer } from "../helpers/http.js";
import { SECRET } from "../helpers/links.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";

const PLAYER = "https://player.example";
const OTHER = "https://elsewhere.example";
const now = Math.floor(Date.now() / 1000);
function link(file = "seg.ts", expires = now + 3600): string {
  const token = signToken({ clientId: "2675", videoId: "corsvideo", secret: SECRET, expires });
  return `/videos/2675_corsvideo/${token}/${expires}/${file}`;
}
/** The link with its token's first character changed. */
function tampered(): string {
  return link().replace(
    /\/([A-Za-z0-9_-])([A-Za-z0-9_-]{21})\//,
    (_, first: string, rest: string) => `/${first === "A" ? "B" : "A"}${rest}/`,
  );
}

/** An origin that sends its own CORS headers and Vary, and fails on `broken.ts`. */
async function corsOrigin() {
  const server: Server = createServer((req, res) => {
    if (req.url?.includes("broken.ts")) return void req.socket.destroy();
    const body = Buffer.from(`content of ${req.url}`);
    res.setHeader(
      "vary",
      req.url?.includes("two-vary") ? ["Accept-Encoding", "Accept-Language"] : "Accept-Encoding",
    );
    // Ranges, conditionals and HEAD as a real static server answers them.
    const header = headerReader(req.headers);
    const answer = answerFor(req.method ?? "GET", header, {
      body,
      headers: {
        "content-type": req.url?.includes(".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t",
        "access-control-allow-origin": req.url?.includes("star.ts")
          ? "*"
          : "https://origin-chosen.example",
        "access-control-allow-credentials": "true",
      },
    });
    res.writeHead(answer.status, answer.headers);
    res.end(req.method === "HEAD" ? undefined : answer.body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const runtimes = RUNTIMES;

const from = (origin?: string, extra: Record<string, string> = {}) => ({
  headers: origin === undefined ? extra : { origin, ...extra },
});
const acao = (answer: Answer) => answer.headers["access-control-allow-origin"];
const varyNames = (answer: Answer) =>
  String(answer.headers.vary ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);

describe.each(Object.keys(runtimes))("CORS_ORIGINS through %s", (runtime) => {
  let origin: Awaited<ReturnType<typeof corsOrigin>>;
  const gates: Record<string, Gate> = {};
  const base = () => ({ ORIGIN_URL: origin.url, SECRET, QUERY_TOKEN_PREFIXES: "public" });
  beforeAll(async () => {
    origin = await corsOrigin();
    const start = runtimes[runtime]!;
    [gates.off, gates.list, gates.any] = await Promise.all([
      start(base()),
      start({ ...base(), CORS_ORIGINS: `${PLAYER}, http://localhost:3000` }),
      start({ ...base(), CORS_ORIGINS: "*" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(Object.values(gates).map((gate) => gate.close()));
    await origin?.close();
  });

  it("unset: answers exactly as before, no CORS headers, OPTIONS is 405", async () => {
    for (const path of [link(), tampered(), link("seg.ts", now - 10)]) {
      const answer = await get(gates.off!.url + path, from(PLAYER));
      expect(acao(answer)).toBe(
        answer.status === 200 ? "https://origin-chosen.example" : undefined,
      );
      expect(answer.headers["tokengate-reason"]).toBeUndefined();
      expect(answer.headers["access-control-expose-headers"]).toBeUndefined();
    }
    const preflight = await get(gates.off!.url + link(), {
      method: "OPTIONS",
      ...from(PLAYER, { "access-control-request-method": "GET" }),
    });
    expect(preflight.status).toBe(405);
  });

  it("a listed origin reads a grant: its own origin allowed (the origin's choice replaced), Vary kept and added to", async () => {
    const answer = await get(gates.list!.url + link(), from(PLAYER));
    expect(answer.status).toBe(200);
    expect(acao(answer)).toBe(PLAYER);
    expect(answer.headers["access-control-expose-headers"]).toBe(EXPOSED_HEADERS);
    expect(varyNames(answer)).toEqual(["accept-encoding", "origin"]);
    expect(answer.body.toString()).toBe("content of /videos/2675_corsvideo/seg.ts");
  });

  const refusals: [reason: string, status: number, path: string][] = [
    ["bad-token", 403, tampered()],
    ["expired", 410, link("seg.ts", now - 10)],
    ["malformed", 403, "/videos/2675_corsvideo/short/123/seg.ts"],
    ["unsafe-path", 403, link("a//b.ts")],
  ];
  it.each(refusals)(
    "a refusal (%s) is readable too, with its reason",
    async (reason, status, path) => {
      const answer = await get(gates.list!.url + path, from(PLAYER));
      expect(answer.status).toBe(status);
      expect(acao(answer)).toBe(PLAYER);
      expect(answer.headers["tokengate-reason"]).toBe(reason);
      expect(String(answer.headers["access-control-expose-headers"])).toMatch(/Tokengate-Reason/);
      expect(varyNames(answer)).toContain("origin");
    },
  );

  // Outside attack: an origin that allows `*` (or echoes Origin) and credentials kept doing so
  // through a gate whose list was meant to close it.
  it("drops the origin's own Access-Control-* headers: the list is the only policy", async () => {
    const stranger = await get(gates.list!.url + link("star.ts"), from(OTHER));
    expect(stranger.status).toBe(200);
    expect(acao(stranger)).toBeUndefined();
    expect(stranger.headers["access-control-allow-credentials"]).toBeUndefined();
    const player = await get(gates.list!.url + link("star.ts"), from(PLAYER));
    expect(acao(player)).toBe(PLAYER);
    expect(player.headers["access-control-allow-credentials"]).toBeUndefined();
    const any = await get(gates.any!.url + link("star.ts"), from(OTHER));
    expect([acao(any), any.headers["access-control-allow-credentials"]]).toEqual(["*", undefined]);
  });

  // Outside attack: the Node server kept only the first of two Vary lines.
  it("keeps every Vary line of the origin and adds Origin", async () => {
    const answer = await get(gates.list!.url + link("two-vary.ts"), from(PLAYER));
    expect(varyNames(answer)).toEqual(["accept-encoding", "accept-language", "origin"]);
  });

  it("an origin not listed, or none, gets no Access-Control-Allow-Origin but the same Vary", async () => {
    for (const who of [
      OTHER,
      "null",
      `${PLAYER}:443`,
      PLAYER.toUpperCase(),
      `${PLAYER}, ${OTHER}`,
      undefined,
    ]) {
      const answer = await get(gates.list!.url + tampered(), from(who));
      expect(answer.status).toBe(403);
      expect(acao(answer)).toBeUndefined();
      expect(answer.headers["access-control-expose-headers"]).toBeUndefined();
      expect(varyNames(answer)).toEqual(["origin"]);
    }
  });

  it("a gate failure (502) under a prefix is readable", async () => {
    const answer = await get(gates.list!.url + link("broken.ts"), from(PLAYER));
    expect(answer.status).toBe(502);
    expect(acao(answer)).toBe(PLAYER);
  });

  it("a CDN-token path is under a prefix too", async () => {
    const expires = now + 3600;
    const md5 = signQueryToken({ path: "/public/a/index.m3u8", secret: SECRET, expires });
    const ok = await get(
      `${gates.list!.url}/public/a/index.m3u8?md5=${md5}&expires=${expires}`,
      from(PLAYER),
    );
    expect([ok.status, acao(ok)]).toEqual([200, PLAYER]);
    const bad = await get(
      `${gates.list!.url}/public/a/index.m3u8?md5=${md5}&expires=${expires + 1}`,
      from(PLAYER),
    );
    expect([bad.status, acao(bad), bad.headers["tokengate-reason"]]).toEqual([
      403,
      PLAYER,
      "bad-token",
    ]);
  });

  it("a preflight under a prefix is answered 204 without a token; outside the prefixes nothing changes", async () => {
    const preflight = await get(`${gates.list!.url}/videos/anything/at/all.ts`, {
      method: "OPTIONS",
      ...from(PLAYER, {
        "access-control-request-method": "GET",
        "access-control-request-headers": "range",
      }),
    });
    expect(preflight.status).toBe(204);
    expect(acao(preflight)).toBe(PLAYER);
    expect(preflight.headers["access-control-allow-methods"]).toBe("GET,HEAD");
    expect(preflight.headers["access-control-allow-headers"]).toBe("Range");
    expect(preflight.body.length).toBe(0);
    const stranger = await get(`${gates.list!.url}/videos/x/y.ts`, {
      method: "OPTIONS",
      ...from(OTHER),
    });
    expect([
      stranger.status,
      acao(stranger),
      stranger.headers["access-control-allow-methods"],
    ]).toEqual([204, undefined, undefined]);
    const outside = await get(`${gates.list!.url}/healthz`, from(PLAYER));
    expect(acao(outside)).toBeUndefined();
    const outsidePreflight = await get(`${gates.list!.url}/elsewhere/x.ts`, {
      method: "OPTIONS",
      ...from(PLAYER),
    });
    expect([outsidePreflight.status, acao(outsidePreflight)]).toEqual([404, undefined]);
  });

  it("*: any origin reads every answer, without Vary: Origin", async () => {
    for (const path of [link(), tampered()]) {
      const answer = await get(gates.any!.url + path, from(OTHER));
      expect(acao(answer)).toBe("*");
      expect(varyNames(answer)).not.toContain("origin");
    }
    const head = await get(gates.any!.url + link("seg.ts", now - 5), {
      method: "HEAD",
      ...from(OTHER),
    });
    expect([head.status, acao(head), head.headers["tokengate-reason"]]).toEqual([
      410,
      "*",
      "expired",
    ]);
  });
});

describe("CORS_ORIGINS values", () => {
  it.each([
    ["", undefined],
    [" * ", "*"],
    ["https://a.example, http://127.0.0.1:8080", ["https://a.example", "http://127.0.0.1:8080"]],
  ])("%j is read as %o", (text, expected) => {
    expect(parseCorsOrigins(text)).toEqual(expected);
  });
  it.each([
    ["https://a.example/", /a browser sends "https:\/\/a\.example"/],
    ["https://A.example", /a browser sends "https:\/\/a\.example"/],
    ["https://a.example:443", /a browser sends "https:\/\/a\.example"/],
    ["a.example", /not an origin/],
    ["ftp://a.example", /not an origin/],
    ["https://a.example,", /empty entry/],
    ["*, https://a.example", /stands alone/],
    ["null", /not an origin/],
  ])("%j is refused, naming the setting", (text, message) => {
    expect(() => parseCorsOrigins(text)).toThrow(SettingError);
    expect(() => parseCorsOrigins(text)).toThrow(/^CORS_ORIGINS: /);
    expect(() => parseCorsOrigins(text)).toThrow(message);
  });
});

describe("CORS headers held to hono/cors", () => {
  const LIST = [PLAYER, "http://localhost:3000"];
  const reference = (origin: string | string[]) => {
    const app = new Hono();
    app.use(
      cors({
        origin,
        allowMethods: ["GET", "HEAD"],
        allowHeaders: ["Range"],
        exposeHeaders: EXPOSED_HEADERS.split(","),
        maxAge: 7200,
      }),
    );
    app.get("*", (c) => c.text("ok"));
    return app;
  };
  // What a browser acts on: without an allowed origin it reads no other access-control-*
  // header (hono/cors sends Expose-Headers then too; ours leaves it out).
  const pick = (headers: Headers | [string, string][]) => {
    const all = new Headers(headers as HeadersInit);
    const picked: Record<string, string> = {};
    for (const [name, value] of all)
      if (name.startsWith("access-control-") || name === "vary") picked[name] = value;
    if (picked["access-control-allow-origin"] === undefined) {
      delete picked["access-control-expose-headers"];
    }
    return picked;
  };
  const ORIGINS = [PLAYER, "http://localhost:3000", OTHER, "null", PLAYER.toUpperCase(), undefined];

  it.each([
    ["a list", LIST],
    ["*", "*"],
  ] as const)("on a GET answer, for %s", async (_, setting) => {
    const ours = setting === "*" ? "*" : setting;
    for (const who of ORIGINS) {
      const res = await reference(setting as string | string[]).request("/videos/x", from(who));
      expect(pick(corsHeaders(ours, who)), String(who)).toEqual(pick(res.headers));
    }
  });

  it.each([
    ["a list", LIST],
    ["*", "*"],
  ] as const)("on a preflight, for %s", async (_, setting) => {
    const ours = setting === "*" ? "*" : setting;
    for (const who of ORIGINS) {
      const res = await reference(setting as string | string[]).request("/videos/x", {
        method: "OPTIONS",
        ...from(who, { "access-control-request-method": "GET" }),
      });
      expect(res.status).toBe(204);
      const theirs = pick(res.headers);
      // hono/cors names the methods and headers whether or not the origin is allowed; without
      // an allowed origin the browser ignores them, so ours leaves them out.
      if (theirs["access-control-allow-origin"] === undefined) {
        delete theirs["access-control-allow-methods"];
        delete theirs["access-control-allow-headers"];
        delete theirs["access-control-max-age"];
      }
      expect(pick(preflightHeaders(ours, who)), String(who)).toEqual(theirs);
    }
  });
});
