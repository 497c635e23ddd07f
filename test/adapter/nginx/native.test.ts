/**
 * tokengate in nginx, decided natively where nginx can: a plain stream link with a right token
 * under SECRET's first secret is checked by nginx's `secure_link` and proxied without entering
 * njs; everything else falls through to the module. The secret reaches nginx through a file
 * its master reads as root, so a secret file only root can read works.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createServer, request, type ClientRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../../helpers/http.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import {
  loggedFor,
  NGINX,
  nginxAvailable,
  startNginx,
  type StartedNginx,
} from "../../helpers/nginx.js";
import { startOrigin, type Origin } from "../../helpers/origin.js";
import { CLI } from "../../helpers/serve.js";
import { signToken } from "../../../src/core/token.js";
import { md5Base64url } from "../../../src/core/md5.js";
import { signMp4Token, signQueryToken } from "../../../src/core/query-token.js";

const here = nginxAvailable();
const OLDER = "an-older-secret";

/** Polls `probe` until it says yes; fails the test with `what` after 10 s. */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Unix seconds now. */
const now = () => Math.floor(Date.now() / 1000);

/** Stops what a suite started (what it did not get to start is undefined). */
async function closeAll(...running: ({ close(): Promise<unknown> } | undefined)[]): Promise<void> {
  await Promise.all(running.map((one) => one?.close()));
}

/**
 * The same settings twice: the config as printed (the native path on) and `--native off`
 * (every request through the module), the reference the native path is held to.
 */
async function bothPaths(
  env: Record<string, string>,
): Promise<{ native: StartedNginx; module: StartedNginx }> {
  const [native, module] = await Promise.all([
    startNginx(env),
    startNginx(env, ["--native", "off"]),
  ]);
  expect(native.conf).toContain("@tokengate_native");
  expect(module.conf).not.toContain("@tokengate_native");
  return { native, module };
}

/**
 * A describe's origin and {@link bothPaths} with SECRET, started before its tests and stopped
 * after them; read the fields inside the tests (or a later beforeAll).
 */
function bothPathsWithOrigin(): { origin: Origin; native: StartedNginx; module: StartedNginx } {
  const gates = {} as { origin: Origin; native: StartedNginx; module: StartedNginx };
  beforeAll(async () => {
    gates.origin = await startOrigin();
    Object.assign(gates, await bothPaths({ ORIGIN_URL: gates.origin.url, SECRET }));
  });
  afterAll(() => closeAll(gates.native, gates.module, gates.origin));
  return gates;
}

describe.skipIf(!here || process.getuid?.() !== 0)("a secret file only root can read", () => {
  let origin: Origin;
  let nginx: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET: `${SECRET},${OLDER}` }, [], {
      secretMode: 0o600,
    });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  it("grants a right link under either secret and refuses a wrong one (not a 500)", async () => {
    expect((await get(nginx.url + signedPath("root.ts"))).status).toBe(200);
    expect((await get(nginx.url + signedPath("root.ts", { secret: OLDER }))).status).toBe(200);
    expect((await get(nginx.url + signedPath("root.ts", { secret: "wrong" }))).status).toBe(403);
    expect(nginx.errorLog()).not.toContain("misconfigured");
  });
});

describe.skipIf(!here)("the common request, decided by nginx without njs", () => {
  let origin: Origin;
  let nginx: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET: `${SECRET},${OLDER}` });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  it("serves a plain right stream link without entering njs, and logs it without its token", async () => {
    const path = signedPath("720/native-seg.ts");
    const before = origin.requests.length;
    const answer = await get(nginx.url + path + "?part=2", { headers: { Range: "bytes=0-3" } });
    expect(answer.status).toBe(206);
    const seen = origin.requests.slice(before);
    expect(seen.map((request) => request.url)).toEqual([
      "/videos/2675_3dk4NsRt6vWsffEr/720/native-seg.ts?part=2",
    ]);
    expect(seen[0]!.headers.range).toBe("bytes=0-3");
    expect(seen[0]!.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen[0]!.headers["x-forwarded-proto"]).toBe("http");
    const [line] = await loggedFor(nginx, ["/720/native-seg.ts"]);
    expect(line).toMatchObject({
      status: 206,
      reason: "",
      njs: "",
      path: `/videos/2675_3dk4NsRt6vWsffEr/…/${path.split("/")[4]}/720/native-seg.ts`,
    });
  });

  it("falls through to njs for what nginx cannot decide alone", async () => {
    const expired = Math.floor(Date.now() / 1000) - 10;
    const answers = [
      await get(nginx.url + signedPath("fall-1.ts", { secret: OLDER })),
      // Wrong under the first secret: with two, the module tries the other.
      await get(nginx.url + signedPath("fall-2.ts", { secret: "wrong" })),
      // Right but expired under the first secret: nginx refuses it itself (no leeway).
      await get(nginx.url + signedPath("fall-3.ts", { expires: expired })),
      await get(nginx.url + signedPath("fall-4%2fy.ts")),
      await get(nginx.url + signedPath("fall-5%2e.ts")),
      await get(nginx.url + signedPath("fall-6.ts"), { headers: { Connection: "X-Foo" } }),
      await get(nginx.url + signedPath("fall-7.ts", { video: "v".repeat(30) })),
    ].map((answer) => answer.status);
    expect(answers).toEqual([200, 403, 410, 403, 200, 200, 200]);
    const lines = await loggedFor(
      nginx,
      [1, 2, 3, 4, 5, 6, 7].map((n) => `/fall-${n}`),
    );
    expect(lines.map((line) => line.njs)).toEqual(["1", "1", "", "1", "1", "1", "1"]);
    expect(lines.map((line) => line.reason)).toEqual([
      "",
      "bad-token",
      "expired",
      "unsafe-path",
      "",
      "",
      "",
    ]);
  });
});

describe.skipIf(!here)("a header past ASCII on the native path's link", () => {
  const gates = bothPathsWithOrigin();

  // One test of every passed header's value decides the path (a map a header cost more than
  // the rest of the header policy): such a request is the module's, which drops that value.
  it("goes through the module, which drops that header and passes the rest, as --native off does", async () => {
    const headers = { Referer: "http://player.example/\u00e9", Range: "bytes=0-3" };
    const seen = [];
    for (const gate of [gates.native, gates.module]) {
      const before = gates.origin.requests.length;
      const answer = await get(gate.url + signedPath("ascii-1.ts"), { headers });
      expect(answer.status).toBe(206);
      const [asked] = gates.origin.requests.slice(before);
      seen.push([asked!.headers.range, asked!.headers.referer]);
      const [line] = await loggedFor(gate, ["/ascii-1.ts"]);
      expect(line!.njs).toBe("1");
    }
    expect(seen).toEqual([
      ["bytes=0-3", undefined],
      ["bytes=0-3", undefined],
    ]);
    // The same link with the header in ASCII is nginx's alone, and passed on whole.
    const before = gates.origin.requests.length;
    const plain = await get(gates.native.url + signedPath("ascii-2.ts"), {
      headers: { Referer: "http://player.example/e", Range: "bytes=0-3" },
    });
    expect(plain.status).toBe(206);
    expect(gates.origin.requests[before]!.headers.referer).toBe("http://player.example/e");
    const [line] = await loggedFor(gates.native, ["/ascii-2.ts"]);
    expect(line!.njs).toBe("");
  });
});

// A refusal cost nginx about 25 times what secure_link's own `return 403` costs while the
// module made it (bench/README.md): a flood of bad links was njs work. nginx now refuses the
// plain link's wrong token (one secret) and its expiry (no leeway) itself, with the answer the
// module gives: the same status, body, headers and log line but for the `njs` mark.
describe.skipIf(!here)("refusals nginx makes itself, as the module makes them", () => {
  const gates = bothPathsWithOrigin();
  let origin: Origin;
  let native: StartedNginx;
  let module: StartedNginx;
  beforeAll(() => {
    ({ origin, native, module } = gates);
    expect(module.conf).not.toContain("@tokengate_bad_token");
  });

  it.each([
    ["GET", "bad-token", 403],
    ["HEAD", "bad-token", 403],
    ["GET", "expired", 410],
    ["HEAD", "expired", 410],
  ] as const)("%s of a link refused as %s (%i)", async (method, reason, status) => {
    const before = origin.requests.length;
    // Short: a run of 22 token characters is taken for a token, kept from the log.
    const file = `r-${reason}-${method}.ts`;
    const path =
      reason === "expired"
        ? signedPath(file, { expires: Math.floor(Date.now() / 1000) - 10 })
        : signedPath(file, { secret: "wrong" });
    const [ours, theirs] = await Promise.all(
      [native, module].map((gate) => get(gate.url + path, { method })),
    );
    expect(ours.status).toBe(status);
    expect(ours.body.toString()).toBe(theirs.body.toString());
    const shown = (answer: typeof ours) => {
      const { date: _date, ...rest } = answer.headers;
      return rest;
    };
    expect(shown(ours)).toEqual(shown(theirs));
    expect(ours.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(origin.requests.length).toBe(before);
    const [mine] = await loggedFor(native, [`/${file}`]);
    const [its] = await loggedFor(module, [`/${file}`]);
    expect(its).toMatchObject({ njs: "1", reason, status });
    expect(mine).toMatchObject({ njs: "", reason, status, path: its!.path, bytes: its!.bytes });
  });

  it("leaves an expired link to the module under EXPIRY_LEEWAY_S, which may still grant it", async () => {
    const leeway = await startNginx({ ORIGIN_URL: origin.url, SECRET, EXPIRY_LEEWAY_S: "30" });
    try {
      const path = signedPath("late.ts", { expires: Math.floor(Date.now() / 1000) - 10 });
      expect((await get(leeway.url + path)).status).toBe(200);
      const [line] = await loggedFor(leeway, ["/late.ts"]);
      expect(line).toMatchObject({ njs: "1", reason: "", status: 200 });
    } finally {
      await leeway.close();
    }
  });

  it("leaves what the pattern does not take to the module", async () => {
    const path = signedPath("a%2e.ts", { secret: "wrong" });
    expect((await get(native.url + path)).status).toBe(403);
    const [line] = await loggedFor(native, ["/a%2e.ts"]);
    expect(line).toMatchObject({ njs: "1", reason: "bad-token" });
  });
});

// CORS_ORIGINS sent every request through the module, so a player on another origin (every
// browser player) paid njs's cost on each segment. nginx now adds the CORS headers itself on
// the native path: the same as the module's for every Origin, whatever the origin sends of
// its own (Access-Control-*, one Vary line or two).
describe.skipIf(!here).each([
  ["a list", "https://player.example, http://localhost:3000"],
  ["*", "*"],
])("CORS_ORIGINS (%s) on the native path, as the module answers", (_, cors) => {
  let origin: Server;
  let originUrl: string;
  let native: StartedNginx;
  let module: StartedNginx;
  beforeAll(async () => {
    origin = createServer((req, res) => {
      const url = req.url ?? "";
      const headers: Record<string, string | string[]> = {
        "content-type": "video/mp2t",
        "access-control-allow-origin": "*",
        "access-control-allow-credentials": "true",
        "access-control-max-age": "600",
      };
      if (url.includes("two-vary")) headers.vary = ["Accept-Encoding", "Accept-Language"];
      else if (url.includes("vary-origin")) headers.vary = "Accept-Encoding,origin";
      else if (url.includes("vary-star")) headers.vary = "*";
      else if (!url.includes("no-vary")) headers.vary = "Accept-Encoding";
      res.writeHead(url.includes("missing") ? 404 : 200, headers);
      res.end(req.method === "HEAD" ? undefined : `content of ${url}`);
    });
    await new Promise<void>((done) => origin.listen(0, "127.0.0.1", done));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    ({ native, module } = await bothPaths({ ORIGIN_URL: originUrl, SECRET, CORS_ORIGINS: cors }));
  });
  afterAll(async () => {
    await native?.close();
    await module?.close();
    await new Promise((done) => origin?.close(done));
  });

  /** An answer's CORS as a browser reads it: each Access-Control-* and Vary's names. */
  const cors_ = (answer: Awaited<ReturnType<typeof get>>) => {
    const seen: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (name.startsWith("access-control-") || name === "tokengate-reason") seen[name] = value;
    }
    seen.vary = String(answer.headers.vary ?? "")
      .split(",")
      .map((part) => part.trim().toLowerCase())
      .filter(Boolean);
    return seen;
  };

  const origins = [
    "https://player.example",
    "http://localhost:3000",
    "https://PLAYER.example",
    "https://player.example.evil",
    "https://player.example, https://elsewhere.example",
    "null",
    undefined,
  ];
  const expired = () => Math.floor(Date.now() / 1000) - 10;
  const cases: [file: string, status: number, path: (file: string) => string][] = [
    ["one-vary.ts", 200, (file) => signedPath(file)],
    ["two-vary.ts", 200, (file) => signedPath(file)],
    ["vary-origin.ts", 200, (file) => signedPath(file)],
    ["vary-star.ts", 200, (file) => signedPath(file)],
    ["no-vary.ts", 200, (file) => signedPath(file)],
    ["missing.ts", 404, (file) => signedPath(file)],
    ["wrong.ts", 403, (file) => signedPath(file, { secret: "wrong" })],
    ["late.ts", 410, (file) => signedPath(file, { expires: expired() })],
  ];
  it.each(cases)("%s (%i) for every Origin", async (file, status, path) => {
    for (const [i, who] of origins.entries()) {
      const name = `c${i}-${file}`;
      const headers: Record<string, string> = who === undefined ? {} : { origin: who };
      const [ours, theirs] = await Promise.all(
        [native, module].map((gate) => get(gate.url + path(name), { headers })),
      );
      expect([ours.status, theirs.status]).toEqual([status, status]);
      expect(cors_(ours), `${file} from ${who}`).toEqual(cors_(theirs));
      const [mine] = await loggedFor(native, [`/${name}`]);
      expect(mine, `${file} from ${who}`).toMatchObject({ njs: "", status });
    }
  });
});

// --cache-dir sent every request through the module, which only set the cache's key and
// X-Cache. nginx now sets them itself on the native path, by the same rule: a request the
// native path takes and one the module takes (an older secret) share one kept answer.
describe.skipIf(!here).each([
  ["none", ["", "", "", ""]],
  ["all", ["?q=1", "?q=1", "?q=1", "?q=2"]],
] as const)("the cache on the native path (CACHE_KEY_QUERY=%s)", (keyQuery, queries) => {
  let origin: Server;
  let originUrl: string;
  const seen: { url: string; headers: Record<string, unknown> }[] = [];
  let nginx: StartedNginx;
  let cacheDir: string;
  beforeAll(async () => {
    origin = createServer((req, res) => {
      seen.push({ url: req.url ?? "", headers: req.headers });
      const body = Buffer.from(`content of ${req.url}`);
      const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ""));
      const headers = { "content-type": "video/mp2t", "cache-control": "public, max-age=60" };
      if (range === null) {
        res.writeHead(200, { ...headers, "content-length": body.length });
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
      // nginx's slices ask with a Range: answered as a static server answers it.
      const from = Number(range[1]);
      const to = Math.min(Number(range[2]), body.length - 1);
      res.writeHead(206, {
        ...headers,
        "content-range": `bytes ${from}-${to}/${body.length}`,
        "content-length": to - from + 1,
      });
      res.end(req.method === "HEAD" ? undefined : body.subarray(from, to + 1));
    });
    await new Promise<void>((done) => origin.listen(0, "127.0.0.1", done));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    cacheDir = mkdtempSync(join(tmpdir(), "tokengate-native-cache-"));
    nginx = await startNginx(
      { ORIGIN_URL: originUrl, SECRET: `${SECRET},${OLDER}`, CACHE_KEY_QUERY: keyQuery },
      ["--cache-dir", cacheDir],
    );
    expect(nginx.conf).toContain("@tokengate_native");
  });
  afterAll(async () => {
    await nginx?.close();
    await new Promise((done) => origin?.close(done));
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("keys and marks a grant as the module does, asked in no viewer's words", async () => {
    const file = `kept-${keyQuery}.ts`;
    // Native, module, native, module: kept from the second request on (min uses 2).
    const secrets = [SECRET, OLDER, SECRET, OLDER];
    const answers = [];
    for (const [i, secret] of secrets.entries()) {
      const path = signedPath(file, { secret, expires: Math.floor(Date.now() / 1000) + 600 + i });
      answers.push(
        await get(nginx.url + path + queries[i], {
          headers: { "X-Viewer": "v", "Accept-Encoding": "gzip", Range: "bytes=0-3" },
        }),
      );
    }
    const body = `content of /videos/2675_3dk4NsRt6vWsffEr/${file}`;
    expect(answers.map((answer) => [answer.status, answer.body.toString()])).toEqual(
      answers.map(() => [206, body.slice(0, 4)]),
    );
    const hits =
      keyQuery === "none" ? ["MISS", "MISS", "HIT", "HIT"] : ["MISS", "MISS", "HIT", "MISS"];
    expect(answers.map((answer) => answer.headers["x-cache"])).toEqual(hits);
    // nginx writes a line after the client has its answer: wait for all four.
    const marks = () =>
      nginx
        .accessLog()
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => String(line.path).includes(`/${file}`))
        .map((line) => line.njs);
    await until("four lines logged", async () => marks().length === 4);
    expect(marks()).toEqual(["", "1", "", "1"]);
    const fills = seen.filter((request) => request.url.includes(`/${file}`));
    for (const fill of fills) {
      expect(fill.headers["x-viewer"]).toBeUndefined();
      expect(fill.headers["accept-encoding"]).toBe("identity");
      expect(fill.headers["x-forwarded-for"]).toBeUndefined();
      expect(fill.headers.range).toBe("bytes=0-1048575");
    }
    expect(fills).toHaveLength(keyQuery === "none" ? 2 : 3);
  });
});

// CDN secure tokens went through the module whatever their form. A file under a CDN-token
// prefix carrying exactly `?md5=…&expires=…` whose token is its directory's (the form a player
// carries from a manifest to every segment) is now checked and proxied by nginx alone; a
// file's own token, a manifest (rewritten) and other queries are still the module's.
describe.skipIf(!here).each([["off"], ["on"]] as const)(
  "CDN tokens on the native path (BIND_IP=%s), as the module answers",
  (bindIp) => {
    let origin: Origin;
    let native: StartedNginx;
    let module: StartedNginx;
    beforeAll(async () => {
      origin = await startOrigin();
      const env = {
        ORIGIN_URL: origin.url,
        SECRET,
        QUERY_TOKEN_PREFIXES: "public",
        BIND_IP: bindIp,
      };
      ({ native, module } = await bothPaths(env));
    });
    afterAll(() => closeAll(native, module, origin));

    const ip = bindIp === "on" ? "127.0.0.1" : undefined;
    const signed = (path: string, signedFor: string, expires = now() + 600, extra = "") =>
      `${path}?md5=${signQueryToken({ path: signedFor, secret: SECRET, expires, ip })}&expires=${expires}${extra}`;
    const cases: [name: string, path: () => string, status: number, njs: string][] = [
      ["a directory token", () => signed("/public/d1/seg-1.ts", "/public/d1/"), 200, ""],
      ["a directory token, HEAD", () => signed("/public/d2/seg-1.ts", "/public/d2/"), 200, ""],
      [
        "the file's own token",
        () => signed("/public/d3/seg-1.ts", "/public/d3/seg-1.ts"),
        200,
        "1",
      ],
      [
        "another parameter",
        () => signed("/public/d4/seg.ts", "/public/d4/", undefined, "&a=1"),
        200,
        "1",
      ],
      ["a manifest", () => signed("/public/d5/index.m3u8", "/public/d5/"), 200, "1"],
      [
        "an expired directory token",
        () => signed("/public/d6/seg-1.ts", "/public/d6/", now() - 10),
        410,
        "",
      ],
      ["a wrong token", () => signed("/public/d7/seg-1.ts", "/public/other/"), 403, "1"],
      ["the directory itself", () => signed("/public/d8/", "/public/"), 403, "1"],
    ];
    it.each(cases)("%s", async (name, path, status, njs) => {
      const target = path();
      const method = name.endsWith("HEAD") ? "HEAD" : "GET";
      const before = origin.requests.length;
      const [ours, theirs] = await Promise.all(
        [native, module].map((gate) => get(gate.url + target, { method })),
      );
      expect([ours.status, theirs.status]).toEqual([status, status]);
      expect(ours.body.toString()).toBe(theirs.body.toString());
      const seen = origin.requests.slice(before).map((request) => request.url);
      expect(seen).toEqual(status === 200 ? [seen[0], seen[0]] : []);
      if (status === 200 && !name.includes("parameter")) {
        expect(seen[0]).toBe(target.slice(0, target.indexOf("?")));
      }
      const file = target.slice(0, target.indexOf("?"));
      const [mine] = await loggedFor(native, [file]);
      const [its] = await loggedFor(module, [file]);
      expect(its).toMatchObject({ njs: "1", status });
      expect(mine).toMatchObject({ njs, status, path: its!.path, reason: its!.reason });
    });
  },
);

// MP4 advanced links (MP4_TOKENS) went through the module. A plain one with exactly
// `?md5=&expires=` (then `speed`, `buffer`) is now checked by secure_link and paced by nginx's
// limit_rate and limit_rate_after without it; the same pace the module sets.
describe.skipIf(!here)("MP4 links on the native path, paced as the module paces them", () => {
  let origin: Origin;
  let native: StartedNginx;
  let module: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    const env = { ORIGIN_URL: origin.url, SECRET, MP4_TOKENS: "on" };
    ({ native, module } = await bothPaths(env));
  });
  afterAll(() => closeAll(native, module, origin));

  const mp4 = (file: string, speed?: string, buffer?: string, expires = now() + 600) => {
    const uri = `/videos/2675_abc/${file}`;
    const md5 = signMp4Token({ uri, secret: SECRET, expires, speed, buffer });
    return (
      `${uri}?md5=${md5}&expires=${expires}` +
      (speed === undefined ? "" : `&speed=${speed}`) +
      (buffer === undefined ? "" : `&buffer=${buffer}`)
    );
  };

  it("sends the first buffer bytes at once, then at most speed bytes a second, on both paths", async () => {
    // 384 KiB, 128 KiB at full speed, then 256 KiB/s: a second at that pace. Held to half of
    // it (nginx's limit_rate lets its buffers run ahead); unpaced, it takes milliseconds.
    for (const [gate, njs] of [
      [native, ""],
      [module, "1"],
    ] as const) {
      const file = `paced-${njs || "native"}/big-393216.mp4`;
      const started = Date.now();
      const answer = await get(gate.url + mp4(file, "256k", "128k"));
      const took = Date.now() - started;
      expect(answer.status).toBe(200);
      expect(answer.body.length).toBe(393_216);
      expect(took).toBeGreaterThanOrEqual(450);
      const [line] = await loggedFor(gate, [`/${file}`]);
      expect(line).toMatchObject({ njs, status: 200, path: `/videos/2675_abc/${file}` });
    }
  });

  it.each([
    ["unpaced", () => mp4("a.mp4"), 200, ""],
    ["speed only", () => mp4("b.mp4", "10m"), 200, ""],
    ["expired", () => mp4("c.mp4", undefined, undefined, now() - 10), 410, ""],
    ["wrong", () => mp4("d.mp4").replace(/md5=./, "md5=A"), 403, ""],
    [
      "reordered",
      () => mp4("e.mp4", "1m", "1m").replace(/&speed=1m&buffer=1m$/, "&buffer=1m&speed=1m"),
      200,
      "1",
    ],
    ["a hidden file", () => mp4(".mp4"), 403, "1"],
  ] as const)("%s", async (name, path, status, njs) => {
    let target = path();
    if (name === "wrong" && target.includes("md5=AA")) target = target.replace("md5=AA", "md5=BA");
    const [ours, theirs] = await Promise.all(
      [native, module].map((gate) => get(gate.url + target)),
    );
    expect([ours.status, theirs.status]).toEqual([status, status]);
    expect(ours.body.toString()).toBe(theirs.body.toString());
    const file = target.slice(0, target.indexOf("?"));
    const [mine] = await loggedFor(native, [file]);
    const [its] = await loggedFor(module, [file]);
    expect(mine).toMatchObject({ njs, status, path: its!.path, reason: its!.reason });
  });
});

// CLIENT_SECRETS sent every request through the module. nginx now checks a link with its
// client's first secret (a `map` by client id, in the same 0600 file as SECRET's); what it
// cannot check that way is the module's, never granted with SECRET or an empty secret.
describe.skipIf(!here)("CLIENT_SECRETS on the native path, as the module answers", () => {
  let origin: Origin;
  let native: StartedNginx;
  let module: StartedNginx;
  const clients = {
    "2675": "tenant-a-new tenant-a-old",
    abc: "tenant-abc",
    // Another client, spelled as `abc` in another case: nginx refuses two such map keys.
    Abc: "tenant-Abc",
    dollar: "a$secret",
    // Words of nginx's map block and a pattern's mark, as ids.
    default: "tenant-default",
    include: "tenant-include",
    "~x": "tenant-tilde",
  };
  beforeAll(async () => {
    origin = await startOrigin();
    const env = {
      ORIGIN_URL: origin.url,
      SECRET,
      CLIENT_SECRETS: JSON.stringify(clients),
      MP4_TOKENS: "on",
    };
    ({ native, module } = await bothPaths(env));
    expect(native.conf).not.toContain("tenant-");
  });
  afterAll(() => closeAll(native, module, origin));

  const stream = (client: string, secret: string, file: string, expires = now() + 600) => {
    // An empty secret by hand: signToken refuses one.
    const token =
      secret === ""
        ? md5Base64url(`${client}_v1__${expires}_`)
        : signToken({ clientId: client, videoId: "v1", secret, expires });
    return `/videos/${client}_v1/${token}/${expires}/${file}`;
  };
  const cases: [name: string, path: () => string, status: number, njs: string][] = [
    ["a client's first secret", () => stream("2675", "tenant-a-new", "cs-1.ts"), 200, ""],
    ["its older secret", () => stream("2675", "tenant-a-old", "cs-2.ts"), 200, "1"],
    ["SECRET, for a listed client", () => stream("2675", SECRET, "cs-3.ts"), 403, "1"],
    ["SECRET, for a client not listed", () => stream("9001", SECRET, "cs-4.ts"), 403, "1"],
    // A token anyone can compute, were an unlisted client's secret taken as empty.
    ["an empty secret, for a client not listed", () => stream("9001", "", "cs-5.ts"), 403, "1"],
    ["another case of a listed id", () => stream("ABC", "tenant-abc", "cs-6.ts"), 403, "1"],
    ["the listed id", () => stream("abc", "tenant-abc", "cs-7.ts"), 200, ""],
    ["an id listed in another case too", () => stream("Abc", "tenant-Abc", "cs-15.ts"), 200, "1"],
    [
      "a secret with $ (not in nginx's map)",
      () => stream("dollar", "a$secret", "cs-8.ts"),
      200,
      "1",
    ],
    ["expired", () => stream("2675", "tenant-a-new", "cs-9.ts", now() - 10), 410, ""],
    ["a client named default", () => stream("default", "tenant-default", "cs-11.ts"), 200, ""],
    ["a client named include", () => stream("include", "tenant-include", "cs-12.ts"), 200, ""],
    ["a client named ~x", () => stream("~x", "tenant-tilde", "cs-13.ts"), 200, ""],
    ["SECRET, for a client named default", () => stream("default", SECRET, "cs-14.ts"), 403, "1"],
    [
      "an MP4 link",
      () => {
        const uri = "/videos/2675_v1/cs-10.mp4";
        const expires = now() + 600;
        return `${uri}?md5=${signMp4Token({ uri, secret: "tenant-a-new", expires })}&expires=${expires}`;
      },
      200,
      "",
    ],
  ];
  it.each(cases)("%s", async (_, path, status, njs) => {
    const target = path();
    const [ours, theirs] = await Promise.all(
      [native, module].map((gate) => get(gate.url + target)),
    );
    expect([ours.status, theirs.status]).toEqual([status, status]);
    expect(ours.body.toString()).toBe(theirs.body.toString());
    const file = target.slice(
      target.lastIndexOf("/"),
      target.indexOf("?") < 0 ? undefined : target.indexOf("?"),
    );
    const [mine] = await loggedFor(native, [file]);
    const [its] = await loggedFor(module, [file]);
    expect(its).toMatchObject({ njs: "1", status });
    expect(mine).toMatchObject({ njs, status, path: its!.path, reason: its!.reason });
  });

  it("keeps the secrets out of the printed config and in files only root can read", () => {
    const dir = native.dir;
    for (const name of ["tokengate-secret.conf", "tokengate-clients.json"]) {
      expect(statSync(join(dir, "run", name)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(dir, "run", "tokengate-secret.conf"), "utf8")).toContain(
      '"c:2675" "2675 tenant-a-new";',
    );
  });
});

// TRUST_PROXY sent every request through the module. nginx now reads the client's address
// itself where it reads it as the module does (clientAddressOf): an untrusted peer, a trusted
// one with no X-Forwarded-For, or with one plain IPv4 hop; other chains are the module's.
describe.skipIf(!here).each([
  // The test client (127.0.0.1) is a trusted proxy.
  [
    "127.0.0.1",
    [
      [undefined, "127.0.0.1", ""],
      ["203.0.113.7", "203.0.113.7", ""],
      [" 203.0.113.7\t", "203.0.113.7", ""],
      ["127.0.0.1", "127.0.0.1", ""],
      ["198.51.100.1, 203.0.113.7", "203.0.113.7", "1"],
      ["203.0.113.7, 127.0.0.1", "203.0.113.7", "1"],
      ["009.1.1.1", undefined, "1"],
      ["::ffff:203.0.113.7", "203.0.113.7", "1"],
      ["junk", undefined, "1"],
    ],
  ],
  // It is not: X-Forwarded-For is anyone's to write, and the peer is the client.
  [
    "10.0.0.0/8, ::1",
    [
      [undefined, "127.0.0.1", ""],
      ["203.0.113.7", "127.0.0.1", ""],
      ["junk", "127.0.0.1", ""],
    ],
  ],
] as const)("TRUST_PROXY=%s on the native path, as the module reads it", (trust, cases) => {
  let origin: Origin;
  let native: StartedNginx;
  let module: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    const env = { ORIGIN_URL: origin.url, SECRET, TRUST_PROXY: trust, BIND_IP: "on" };
    ({ native, module } = await bothPaths(env));
  });
  afterAll(() => closeAll(native, module, origin));

  it.each(cases.map((c, i) => [i, ...c] as const))(
    "case %i: X-Forwarded-For %j is the client %j",
    async (i, forwarded, client, njs) => {
      // Bound to the address the module reads; with none, no bound link can verify.
      const file = `tp-${trust.length}-${i}.ts`;
      const path = signedPath(file, { ip: client ?? "192.0.2.1" });
      const headers: Record<string, string> =
        forwarded === undefined ? {} : { "X-Forwarded-For": forwarded };
      const before = origin.requests.length;
      const [ours, theirs] = await Promise.all(
        [native, module].map((gate) => get(gate.url + path, { headers })),
      );
      const status = client === undefined ? 403 : 200;
      expect([ours.status, theirs.status]).toEqual([status, status]);
      const seen = origin.requests.slice(before);
      expect(seen.map((request) => request.headers["x-forwarded-for"])).toEqual(
        client === undefined ? [] : [client, client],
      );
      const [mine] = await loggedFor(native, [`/${file}`]);
      expect(mine).toMatchObject({ njs, status });
    },
  );
});

// IP-bound links (BIND_IP): the address is one more part of secure_link_md5's string, so
// nginx decides them too; what its one check cannot (the other form under `optional`) falls
// through to the module, as every refusal does.
describe.skipIf(!here).each([
  // `on`: a token right for no other address than the client's, so nginx refuses the others.
  ["on", [200, 403, 403], ["", "", ""]],
  ["optional", [200, 200, 403], ["1", "", "1"]],
] as const)("BIND_IP=%s on the native path", (bindIp, statuses, njs) => {
  let origin: Origin;
  let nginx: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET, BIND_IP: bindIp });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  it("grants a link bound to the client's address, unbound as the setting says, no other", async () => {
    const answers = [
      await get(nginx.url + signedPath("ip-1.ts", { ip: "127.0.0.1" })),
      await get(nginx.url + signedPath("ip-2.ts")),
      await get(nginx.url + signedPath("ip-3.ts", { ip: "127.0.0.2" })),
    ];
    expect(answers.map((answer) => answer.status)).toEqual(statuses);
    const lines = await loggedFor(nginx, ["/ip-1.ts", "/ip-2.ts", "/ip-3.ts"]);
    expect(lines.map((line) => line.njs)).toEqual(njs);
  });
});

describe.skipIf(!here)("nginx -t on every kind of config the printer emits", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tokengate-matrix-"));
    writeFileSync(join(dir, "secret"), "first-secret, second $ 'secret\\ \"x\n");
    chmodSync(join(dir, "secret"), 0o600);
    writeFileSync(join(dir, "clients.json"), '{"2675": "client-secret-one"}');
    writeFileSync(join(dir, "one-secret"), "the-only-secret");
    writeFileSync(join(dir, "long-secret"), "x".repeat(6000));
    chmodSync(join(dir, "long-secret"), 0o600);
    chmodSync(join(dir, "one-secret"), 0o600);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const matrix: [string, string[]][] = [
    ["plain", []],
    // One secret: nginx refuses a wrong token itself (two let the module try the second).
    ["one secret", ["--secret-file", "ONE"]],
    ["one secret, bound", ["--secret-file", "ONE", "--bind-ip", "on"]],
    // Longer than nginx reads a config parameter (red team): the module's alone.
    ["a 6,000-character secret", ["--secret-file", "LONG"]],
    ["several prefixes", ["--prefixes", "videos,live.hls,a~b"]],
    ["forwarded headers", []],
    ["CORS", ["--cors-origins", "https://player.example.com"]],
    ["cache", ["--cache-dir", "CACHE"]],
    ["client secrets", ["--client-secrets-file", "CLIENTS"]],
    ["client secrets alone", ["--client-secrets-file", "CLIENTS", "--no-secret"]],
    ["bind ip", ["--bind-ip", "optional"]],
    ["query tokens", ["--query-token-prefixes", "images"]],
    ["mp4 and leeway", ["--mp4-tokens", "on", "--expiry-leeway-s", "30"]],
    ["per-client limit", ["--requests-per-client", "8"]],
    ["https origin", ["--origin-url", "https://127.0.0.1:9/base"]],
    ["trust proxy", ["--trust-proxy", "10.1.2.3/8, ::ffff:10.0.0.0/104, ::1, 2001:db8::/33"]],
    ["module only", ["--native", "off"]],
    [
      "everything at once",
      [
        "--client-secrets-file",
        "CLIENTS",
        "--cors-origins",
        "https://player.example.com",
        "--cache-dir",
        "CACHE",
        "--query-token-prefixes",
        "*",
        "--mp4-tokens",
        "on",
        "--bind-ip",
        "on",
        "--trust-proxy",
        "10.0.0.0/8",
        "--requests-per-client",
        "8",
      ],
    ],
  ];
  it.each(matrix)("%s", (name, extra) => {
    const args = extra
      .filter((arg) => arg !== "--no-secret")
      .map((arg) =>
        arg === "CACHE"
          ? join(dir, "cache")
          : arg === "CLIENTS"
            ? join(dir, "clients.json")
            : arg === "ONE"
              ? join(dir, "one-secret")
              : arg === "LONG"
                ? join(dir, "long-secret")
                : arg,
      );
    const secret =
      extra.includes("--no-secret") || extra.includes("--secret-file")
        ? []
        : ["--secret-file", join(dir, "secret")];
    const origin = args.includes("--origin-url") ? [] : ["--origin-url", "http://127.0.0.1:9"];
    const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
    if (name === "forwarded headers") env.FORWARD_HEADERS = "X-Req,x-session";
    const printed = spawnSync(
      process.execPath,
      [CLI, "nginx-config", ...secret, ...origin, "--prefix", join(dir, name), ...args],
      { env, encoding: "utf8" },
    );
    expect(printed.stderr).toBe("");
    expect(printed.status).toBe(0);
    expect(printed.stdout).not.toContain("first-secret");
    writeFileSync(join(dir, "test.conf"), printed.stdout);
    const result = spawnSync(NGINX, ["-t", "-c", join(dir, "test.conf")], { encoding: "utf8" });
    expect(result.stderr).toContain("test is successful");
    // Not even a warning: nginx repeats one on every start, test and reload.
    expect(result.stderr).not.toContain("[warn]");
  });
});

describe.skipIf(!here)("rotation: nginx-config again, then nginx -s reload, under load", () => {
  let origin: Origin;
  let nginx: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET: OLDER });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  it("drops no request while the new secret takes over, and the removed one stops at reload", async () => {
    const NEWER = "the-newer-secret";
    const rotate = (secrets: string) => {
      writeFileSync(join(nginx.dir, "secret"), secrets);
      // The command the README gives: the same nginx-config command again, then a reload.
      const printed = spawnSync(
        process.execPath,
        [
          CLI,
          "nginx-config",
          "--origin-url",
          origin.url,
          "--secret-file",
          join(nginx.dir, "secret"),
          "--listen",
          `127.0.0.1:${nginx.port}`,
          "--workers",
          "1",
          "--prefix",
          join(nginx.dir, "run"),
        ],
        { env: { PATH: process.env.PATH, REQUESTS_PER_CLIENT: "0" }, encoding: "utf8" },
      );
      expect(printed.status).toBe(0);
      writeFileSync(join(nginx.dir, "nginx.conf"), printed.stdout);
      const reload = spawnSync(NGINX, ["-c", join(nginx.dir, "nginx.conf"), "-s", "reload"], {
        encoding: "utf8",
      });
      expect(reload.status).toBe(0);
    };
    const older = signedPath("load.ts", { secret: OLDER });
    let stop = false;
    const statuses: number[] = [];
    let resent = 0;
    // At a reload nginx's old workers close the connections that have not sent a request yet;
    // a client sends a GET that got no answer at all again on a new connection (as browsers and
    // players do). Every request of this test does, the probes too; the load's are counted.
    const resending = async (path: string, counted: boolean) => {
      for (let tries = 1; ; tries++) {
        try {
          return await get(nginx.url + path, { headers: { Connection: "close" } });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if ((code !== "ECONNRESET" && code !== "EPIPE") || tries === 3) throw error;
          if (counted) resent++;
        }
      }
    };
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        // A connection each; a request resent must then be answered 200 like every other.
        while (!stop) statuses.push((await resending(older, true)).status);
      }),
    );
    await until("requests under load before the reload", async () => statuses.length >= 20);
    rotate(`${NEWER},${OLDER}`);
    // The reload has taken over once a link under the new secret is decided natively (the new
    // workers' config), and the load has gone on through it.
    let probes = 0;
    await until("the new secret decided natively", async () => {
      const file = `new-${++probes}.ts`;
      const answer = await resending(signedPath(file, { secret: NEWER }), false);
      if (answer.status !== 200) return false;
      const [entry] = await loggedFor(nginx, [`/${file}`]);
      return entry!.njs === "";
    });
    const afterReload = statuses.length;
    await until(
      "requests under load after the reload",
      async () => statuses.length >= afterReload + 20,
    );
    stop = true;
    await load;
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    // One in-flight connection per client at most, at the one reload.
    expect(resent).toBeLessThanOrEqual(8);
    // The old secret removed: refused once nginx has reloaded, on either path; the new one
    // still served.
    rotate(NEWER);
    await until(
      "the removed secret refused",
      async () => (await resending(older, false)).status === 403,
    );
    expect((await resending(signedPath("new.ts", { secret: NEWER }), false)).status).toBe(200);
  });
});

describe.skipIf(!here)("REQUESTS_PER_CLIENT on the native path", () => {
  let origin: Origin;
  let nginx: StartedNginx;
  const held: ClientRequest[] = [];
  beforeAll(async () => {
    origin = await startOrigin();
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET, REQUESTS_PER_CLIENT: "1" });
  });
  afterAll(async () => {
    for (const req of held.splice(0)) req.destroy();
    await nginx?.close();
    await origin?.close();
  });

  it("counts a natively granted download: one more from the address gets 503 + Retry-After", async () => {
    const url = nginx.url + signedPath(`big-${8 * 1024 * 1024}.ts`);
    // A download whose answer has begun and which then reads nothing more.
    held.push(
      await new Promise<ClientRequest>((resolve, reject) => {
        const req = request(url, { agent: false }, (res) => {
          res.pause();
          if (res.statusCode === 200) resolve(req);
          else reject(new Error(`held download answered ${res.statusCode}`));
        });
        req.on("error", () => {});
        req.end();
      }),
    );
    const second = await get(nginx.url + signedPath("720/seg-1.ts"), { timeoutMs: 5000 });
    expect(second.status).toBe(503);
    expect(second.headers["retry-after"]).toBe("5");
    held.splice(0).forEach((req) => req.destroy());
    // Its place is given back once the held download's end is logged.
    const [download] = await loggedFor(nginx, ["/big-"]);
    expect(download).toMatchObject({ njs: "" });
    expect((await get(nginx.url + signedPath("720/seg-1.ts"))).status).toBe(200);
  });
});

describe.skipIf(!here)("the origin's address in the answer headers of the native path", () => {
  let server: Server;
  let port = 0;
  let nginx: StartedNginx;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const at = `http://127.0.0.1:${port}/base/videos/internal/x.ts`;
      res.writeHead(200, {
        "content-type": "video/mp2t",
        "content-location": at,
        link: `<${at}>; rel=preload`,
        "content-length": "2",
      });
      res.end(req.method === "HEAD" ? undefined : "ok");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
    nginx = await startNginx({ ORIGIN_URL: `http://127.0.0.1:${port}/base`, SECRET });
  });
  afterAll(async () => {
    await nginx?.close();
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
  });

  it("rewrites Content-Location and drops a Link that names the origin", async () => {
    const answer = await get(nginx.url + signedPath("a.ts"));
    expect(answer.status).toBe(200);
    expect(answer.headers["content-location"]).toBe("/videos/internal/x.ts");
    expect(answer.headers.link).toBeUndefined();
    expect((await loggedFor(nginx, ["/a.ts"])).map((entry) => entry.njs)).toEqual([""]);
  });
});
