/**
 * The Node server's shared cache (CACHE_MAX_BYTES): keyed by origin path, never the token, so
 * many viewers with many tokens cost the origin one request; misses collapse; refusals never
 * reach or poison it; RFC 9111 decides what is kept and for how long.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQueryToken } from "../../../src/core/query-token.js";
import { signToken } from "../../../src/core/token.js";
import { answerFor, headerReader } from "../../helpers/http-semantics.js";
import { get } from "../../helpers/http.js";
import { serve, type Served } from "../../helpers/serve.js";

const SECRET = "cache-secret";
const now = Math.floor(Date.now() / 1000);

/** A link to `file` of video `v` with a token of its own (each `n` gives another expires). */
function link(file: string, n = 0, video = "v"): string {
  const expires = now + 3600 + n;
  const token = signToken({ clientId: "2675", videoId: video, secret: SECRET, expires });
  return `/videos/2675_${video}/${token}/${expires}/${file}`;
}

/** An origin whose answer headers each test chooses by file name; it records every request. */
async function cacheOrigin() {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  /** Slow objects: how many chunks each sent, and whether its client went away first. */
  const slow: { sent: number; cut: boolean; done: boolean }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    const file = (req.url ?? "").split("?")[0]!.split("/").pop()!;
    if (file.startsWith("slow")) {
      // 1 MiB in 16 chunks, 100 ms apart, fresh for 5 minutes.
      const record = { sent: 0, cut: false, done: false };
      slow.push(record);
      res.writeHead(200, { "content-length": String(16 * 65536), "cache-control": "max-age=300" });
      const timer = setInterval(() => {
        res.write(Buffer.alloc(65536, 1));
        if (++record.sent === 16) {
          clearInterval(timer);
          record.done = true;
          res.end();
        }
      }, 100);
      res.on("close", () => {
        clearInterval(timer);
        if (!record.done) record.cut = true;
      });
      return;
    }
    const body = file.startsWith("big")
      ? Buffer.alloc(64 * 1024, 7)
      : file.includes("big-stall")
        ? Buffer.alloc(12 * 1024 * 1024, 9)
        : file.endsWith(".m3u8")
          ? Buffer.from("#EXTM3U\n#EXTINF:6,\nseg-1.ts\n")
          : Buffer.from(`bytes of ${file} `.repeat(20));
    const headers: Record<string, string> = {
      "content-length": String(body.length),
      "content-type": file.endsWith(".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t",
      etag: '"e1"',
    };
    if (file.includes("fresh")) headers["cache-control"] = "public, max-age=300";
    if (file.includes("short")) headers["cache-control"] = "max-age=1";
    if (file.includes("nostore")) headers["cache-control"] = "no-store";
    if (file.includes("private")) headers["cache-control"] = "private, max-age=300";
    if (file.includes("cookie")) {
      headers["cache-control"] = "max-age=300";
      headers["set-cookie"] = "session=viewer-1";
    }
    if (file.includes("vary")) {
      headers["cache-control"] = "max-age=300";
      headers.vary = "Accept-Language";
    }
    if (file.includes("aged")) {
      headers["cache-control"] = "max-age=300";
      headers.age = "250";
    }
    if (file.includes("varyorigin")) {
      headers["cache-control"] = "max-age=300";
      headers.vary = "Origin";
    }
    if (file.includes("modified"))
      headers["last-modified"] = new Date((now - 86_400) * 1000).toUTCString();
    if (file.includes("bare")) delete headers.etag;
    if (file.includes("short") && req.headers["if-none-match"] === '"e1"') {
      // A revalidation: still the same object, fresh for longer now.
      res.writeHead(304, { etag: '"e1"', "cache-control": "max-age=300" });
      return void res.end();
    }
    // Ranges, conditionals and HEAD as a real static server answers them (http-semantics.ts).
    const { etag, "last-modified": lastModified, "content-length": _, ...rest } = headers;
    const header = headerReader(req.headers);
    const answer = answerFor(req.method ?? "GET", header, {
      body,
      etag,
      lastModified,
      headers: rest,
    });
    res.writeHead(answer.status, {
      ...answer.headers,
      ...(answer.body === undefined ? {} : { "content-length": String(answer.body.length) }),
    });
    res.end(req.method === "HEAD" ? undefined : answer.body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    seen,
    slow,
    count: (file: string) => seen.filter((r) => r.url.split("?")[0]!.endsWith(`/${file}`)).length,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

describe("CACHE_MAX_BYTES on the Node server", () => {
  let origin: Awaited<ReturnType<typeof cacheOrigin>>;
  let gate: Served;
  beforeAll(async () => {
    origin = await cacheOrigin();
    gate = await serve({
      ORIGIN_URL: origin.url,
      SECRET,
      CACHE: "on",
      CACHE_MAX_BYTES: "1m",
      QUERY_TOKEN_PREFIXES: "media",
    });
  });
  afterAll(async () => {
    await gate?.stop();
    await origin?.close();
  });

  it("1,000 viewers with 1,000 different tokens for one segment: one origin request", async () => {
    const first = await get(gate.url + link("fresh-seg.ts", 0));
    expect([first.status, first.headers["x-cache"]]).toEqual([200, "MISS"]);
    for (let n = 1; n < 1000; n += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) => get(gate.url + link("fresh-seg.ts", n + k))),
      );
      for (const answer of batch) {
        expect(answer.status).toBe(200);
        expect(answer.headers["x-cache"]).toBe("HIT");
        expect(answer.body.equals(first.body)).toBe(true);
      }
    }
    expect(origin.count("fresh-seg.ts")).toBe(1);
    // Asked for in no viewer's words: no token, no client address.
    const asked = origin.seen.find((r) => r.url.endsWith("/fresh-seg.ts"))!;
    expect(asked.url).toBe("/videos/2675_v/fresh-seg.ts");
    expect(asked.headers["x-forwarded-for"]).toBeUndefined();
  });

  it("100 concurrent misses for one object: one origin request", async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, n) => get(gate.url + link("fresh-burst.ts", n))),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(origin.count("fresh-burst.ts")).toBe(1);
  });

  it("a refused or expired link never reaches the origin, nor poisons the cache", async () => {
    const bad = link("fresh-guarded.ts").replace(
      /\/([A-Za-z0-9_-])([A-Za-z0-9_-]{21})\//,
      (_, c: string, rest: string) => `/${c === "A" ? "B" : "A"}${rest}/`,
    );
    expect((await get(gate.url + bad)).status).toBe(403);
    const expires = now - 10;
    const token = signToken({ clientId: "2675", videoId: "v", secret: SECRET, expires });
    expect(
      (await get(`${gate.url}/videos/2675_v/${token}/${expires}/fresh-guarded.ts`)).status,
    ).toBe(410);
    expect(origin.count("fresh-guarded.ts")).toBe(0);
    const good = await get(gate.url + link("fresh-guarded.ts"));
    expect([good.status, good.headers["x-cache"]]).toEqual([200, "MISS"]);
    // A cached object still needs a valid link.
    expect((await get(gate.url + bad)).status).toBe(403);
  });

  it("answers HEAD and single ranges from the cache, 416 past the end", async () => {
    const whole = await get(gate.url + link("fresh-range.ts"));
    const size = whole.body.length;
    const head = await get(gate.url + link("fresh-range.ts", 1), { method: "HEAD" });
    expect([
      head.status,
      head.headers["x-cache"],
      head.headers["content-length"],
      head.body.length,
    ]).toEqual([200, "HIT", String(size), 0]);
    const part = await get(gate.url + link("fresh-range.ts", 2), {
      headers: { range: "bytes=10-19" },
    });
    expect([part.status, part.headers["content-range"], part.headers["x-cache"]]).toEqual([
      206,
      `bytes 10-19/${size}`,
      "HIT",
    ]);
    expect(part.body.equals(whole.body.subarray(10, 20))).toBe(true);
    const tail = await get(gate.url + link("fresh-range.ts", 3), {
      headers: { range: "bytes=-5" },
    });
    expect(tail.body.equals(whole.body.subarray(size - 5))).toBe(true);
    const past = await get(gate.url + link("fresh-range.ts", 4), {
      headers: { range: `bytes=${size}-` },
    });
    expect([past.status, past.headers["content-range"]]).toEqual([416, `bytes */${size}`]);
    const notModified = await get(gate.url + link("fresh-range.ts", 5), {
      headers: { "if-none-match": '"e1"' },
    });
    expect(notModified.status).toBe(304);
    expect(origin.count("fresh-range.ts")).toBe(1);
  });

  // Players open with a Range: the origin honours it (206 on a miss), and the cache must give
  // the viewer its part and never keep a part as the whole object.
  it("gives a first request's range, and keeps no part as the whole", async () => {
    const bytes = "bytes of fresh-first.ts ".repeat(20);
    const part = await get(gate.url + link("fresh-first.ts"), { headers: { range: "bytes=3-9" } });
    expect([part.status, part.headers["content-range"]]).toEqual([
      206,
      `bytes 3-9/${bytes.length}`,
    ]);
    expect(part.body.toString()).toBe(bytes.slice(3, 10));
    for (let n = 1; n < 3; n++) {
      const whole = await get(gate.url + link("fresh-first.ts", n));
      expect([whole.status, whole.body.toString()]).toEqual([200, bytes]);
    }
  });

  it.each([
    ["nostore-seg.ts", "Cache-Control: no-store"],
    ["private-seg.ts", "Cache-Control: private"],
    ["cookie-seg.ts", "Set-Cookie"],
    ["vary-seg.ts", "Vary on a request header"],
    ["bare-seg.ts", "no freshness information"],
  ])("does not keep %s (%s): every viewer reaches the origin", async (file) => {
    for (let n = 0; n < 3; n++) {
      const answer = await get(gate.url + link(file, n));
      expect([answer.status, answer.headers["x-cache"]]).toEqual([200, "MISS"]);
    }
    // An answer that varies by request headers costs its first viewer a second request, in
    // its own words (the fill's carried none); then it passes straight through.
    expect(origin.count(file)).toBe(file.startsWith("vary") ? 4 : 3);
    if (file.startsWith("cookie")) {
      // The one answer with a cookie went to the viewer who asked, and no other.
      const answers = await Promise.all([0, 1, 2].map((n) => get(gate.url + link(file, 10 + n))));
      expect(answers.filter((a) => a.headers["set-cookie"] !== undefined).length).toBe(3);
    }
  });

  // Red team: a Cookie or Authorization header sent every viewer's request past the cache, so
  // one link and a header made the origin resend a cached object to clients that read nothing.
  // Neither header ever reaches the origin (the header policy drops both), so its answer cannot
  // depend on them: such a request is answered, and fills, like any other.
  it("answers a request with Cookie or Authorization from the cache like any other", async () => {
    await get(gate.url + link("fresh-credentials.ts"));
    const withCookie = await get(gate.url + link("fresh-credentials.ts", 1), {
      headers: { cookie: "a=b" },
    });
    const withAuth = await get(gate.url + link("fresh-credentials.ts", 2), {
      headers: { authorization: "Bearer x" },
    });
    expect([withCookie.headers["x-cache"], withAuth.headers["x-cache"]]).toEqual(["HIT", "HIT"]);
    expect(origin.count("fresh-credentials.ts")).toBe(1);
    // A first request with them fills the cache for everyone, asked in no viewer's words.
    await get(gate.url + link("fresh-auth-first.ts"), { headers: { authorization: "Bearer x" } });
    const next = await get(gate.url + link("fresh-auth-first.ts", 1));
    expect(next.headers["x-cache"]).toBe("HIT");
    const asked = origin.seen.filter((r) => r.url.endsWith("/fresh-auth-first.ts"));
    expect(asked.map((r) => [r.headers.authorization, r.headers.cookie])).toEqual([
      [undefined, undefined],
    ]);
  });

  it("revalidates a stale object with its ETag and serves it again on 304", async () => {
    await get(gate.url + link("short-seg.ts"));
    await new Promise((r) => setTimeout(r, 2100));
    const again = await get(gate.url + link("short-seg.ts", 1));
    expect([again.status, again.headers["x-cache"]]).toEqual([200, "HIT"]);
    const requests = origin.seen.filter((r) => r.url.endsWith("/short-seg.ts"));
    expect(requests.length).toBe(2);
    expect(requests[1]!.headers["if-none-match"]).toBe('"e1"');
    // The 304 said max-age=300: fresh again.
    await get(gate.url + link("short-seg.ts", 2));
    expect(origin.count("short-seg.ts")).toBe(2);
  });

  it("keeps an object with only Last-Modified for the heuristic's time", async () => {
    await get(gate.url + link("modified-seg.ts"));
    const again = await get(gate.url + link("modified-seg.ts", 1));
    expect(again.headers["x-cache"]).toBe("HIT");
    expect(origin.count("modified-seg.ts")).toBe(1);
  });

  it("streams an object too big to keep, and stops reading it whole for a while", async () => {
    // An eighth of 1 MiB is the largest kept object; 64 KiB fits, so ask a gate with less room.
    const small = await serve({
      ORIGIN_URL: origin.url,
      SECRET,
      CACHE: "on",
      CACHE_MAX_BYTES: "256k",
    });
    try {
      for (let n = 0; n < 3; n++) {
        const answer = await get(small.url + link("big-fresh.ts", n));
        expect([answer.status, answer.body.length, answer.headers["x-cache"]]).toEqual([
          200,
          65536,
          "MISS",
        ]);
      }
      // The first one was asked for twice (to keep, then to stream); then straight through.
      expect(origin.count("big-fresh.ts")).toBe(4);
    } finally {
      await small.stop();
    }
  });

  it("carries each viewer's own CDN token into a cached playlist", async () => {
    const expires = now + 600;
    const one = signQueryToken({ path: "/media/a/", secret: SECRET, expires });
    const two = signQueryToken({ path: "/media/a/", secret: SECRET, expires: expires + 1 });
    const first = await get(`${gate.url}/media/a/fresh.m3u8?md5=${one}&expires=${expires}`);
    const second = await get(`${gate.url}/media/a/fresh.m3u8?md5=${two}&expires=${expires + 1}`);
    expect(first.body.toString()).toContain(`seg-1.ts?md5=${one}&expires=${expires}`);
    expect(second.body.toString()).toContain(`seg-1.ts?md5=${two}&expires=${expires + 1}`);
    expect(second.headers["x-cache"]).toBe("HIT");
    expect(origin.count("fresh.m3u8")).toBe(1);
  });
});

describe("the cache against an outside attack", () => {
  let origin: Awaited<ReturnType<typeof cacheOrigin>>;
  beforeAll(async () => {
    origin = await cacheOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });
  const start = (env: Record<string, string> = {}) =>
    serve({ ORIGIN_URL: origin.url, SECRET, CACHE: "on", QUERY_TOKEN_PREFIXES: "media", ...env });

  // It counted bodies only: 15 KB queries on an 84-byte object took the process to 4.3 GB.
  it("counts keys and headers against CACHE_MAX_BYTES, and keeps no key over 1,024 characters", async () => {
    // Every query in the key, so that each is an object of its own.
    const gate = await start({ CACHE_MAX_BYTES: "256k", CACHE_KEY_QUERY: "all" });
    try {
      for (let n = 0; n < 600; n += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, k) =>
            get(gate.url + `${link("fresh-q.ts", n + k)}?q=${n + k}_${"a".repeat(900)}`),
          ),
        );
      }
      const long = `${link("fresh-long.ts")}?q=${"b".repeat(2000)}`;
      expect((await get(gate.url + long)).headers["x-cache"]).toBe("MISS");
      expect((await get(gate.url + long)).headers["x-cache"]).toBe("MISS");
      expect(origin.count("fresh-long.ts")).toBe(2);
      const metrics = (await get(gate.metricsUrl!)).body.toString();
      const held = Number(/^tokengate_cache_bytes (\d+)/m.exec(metrics)![1]);
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(256 * 1024);
    } finally {
      await gate.stop();
    }
  });

  // Viewers who left kept their fills reading: 40 abandoned requests cost the origin 640 MB.
  it("stops reading an object when every viewer waiting for it has gone", async () => {
    const gate = await start();
    try {
      const before = origin.slow.length;
      await Promise.all(
        [0, 1, 2].map((n) =>
          get(gate.url + link("slow-a.ts", n), { timeoutMs: 250 }).catch(() => undefined),
        ),
      );
      for (let i = 0; i < 40 && !origin.slow[before]?.cut; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(origin.slow.length - before).toBe(1);
      expect(origin.slow[before]).toMatchObject({ cut: true, done: false });
    } finally {
      await gate.stop();
    }
  });

  // One slow fill held every viewer until the whole object came (42 minutes for a trickle).
  // Then the fill was dropped at ORIGIN_TIMEOUT_MS and asked for again; now it streams to its
  // viewers as it arrives (issue 20), and is kept once whole.
  it("streams an object that does not arrive whole within ORIGIN_TIMEOUT_MS to those waiting", async () => {
    const gate = await start({ ORIGIN_TIMEOUT_MS: "400" });
    try {
      const before = origin.slow.length;
      const answer = await get(gate.url + link("slow-b.ts"), { timeoutMs: 10_000 });
      expect([answer.status, answer.body.length, answer.headers["x-cache"]]).toEqual([
        200,
        16 * 65536,
        "MISS",
      ]);
      // One origin request, read to its end, and kept.
      expect(origin.slow.length - before).toBe(1);
      expect(origin.slow[before]!.done).toBe(true);
      const again = await get(gate.url + link("slow-b.ts", 1));
      expect([again.headers["x-cache"], origin.slow.length - before]).toEqual(["HIT", 1]);
    } finally {
      await gate.stop();
    }
  });

  // Outside attack: a fill waiting for a free origin connection took 19 s to give up where the
  // streaming path took ORIGIN_TIMEOUT_MS (undici heeds a signal only once it has a connection).
  it("counts the wait for an origin connection in ORIGIN_TIMEOUT_MS", async () => {
    const gate = await start({ ORIGIN_TIMEOUT_MS: "500", ORIGIN_CONNECTIONS: "1" });
    try {
      const before = origin.slow.length;
      // Holds the only origin connection for 1.6 s, streamed as it comes.
      const holder = get(gate.url + link("slow-c.ts"));
      for (let i = 0; i < 40 && origin.slow.length - before < 1; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const waiting = await get(gate.url + link("fresh-waiting.ts"));
      // 504 at the timeout, while the connection is still busy: not once it comes free.
      expect(waiting.status).toBe(504);
      expect(origin.slow[before]!.done).toBe(false);
      expect((await holder).status).toBe(200);
    } finally {
      await gate.stop();
    }
  });

  it("carries the CDN token into a manifest it may not keep, for the viewer who asked", async () => {
    const gate = await start();
    try {
      const expires = now + 600;
      const md5 = signQueryToken({ path: "/media/b/", secret: SECRET, expires });
      const answer = await get(
        `${gate.url}/media/b/nostore-list.m3u8?md5=${md5}&expires=${expires}`,
      );
      expect(answer.body.toString()).toContain(`seg-1.ts?md5=${md5}&expires=${expires}`);
    } finally {
      await gate.stop();
    }
  });

  it("sends the whole object when If-Range names another version, and adds its time to the origin's Age", async () => {
    const gate = await start();
    try {
      await get(gate.url + link("fresh-ifrange.ts"));
      const other = await get(gate.url + link("fresh-ifrange.ts", 1), {
        headers: { range: "bytes=5-9", "if-range": '"e0"' },
      });
      expect(other.status).toBe(200);
      const same = await get(gate.url + link("fresh-ifrange.ts", 2), {
        headers: { range: "bytes=5-9", "if-range": '"e1"' },
      });
      expect(same.status).toBe(206);
      await get(gate.url + link("aged.ts"));
      const aged = await get(gate.url + link("aged.ts", 1));
      expect([aged.headers["x-cache"], Number(aged.headers.age) >= 250]).toEqual(["HIT", true]);
    } finally {
      await gate.stop();
    }
  });

  it("keeps no answer that varies by Origin: the key holds no Origin", async () => {
    const gate = await start();
    try {
      for (let n = 0; n < 2; n++)
        await get(gate.url + link("varyorigin.ts", n), {
          headers: { origin: `https://o${n}.example` },
        });
      // The first viewer's answer is asked for again with its own Origin; then straight through.
      expect(origin.count("varyorigin.ts")).toBe(3);
      const last = origin.seen.filter((r) => r.url.endsWith("/varyorigin.ts")).at(-1)!;
      expect(last.headers.origin).toBe("https://o1.example");
    } finally {
      await gate.stop();
    }
  });
});

describe("the cache against a third outside attack", () => {
  let origin: Awaited<ReturnType<typeof cacheOrigin>>;
  beforeAll(async () => {
    origin = await cacheOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });

  // Pass marks (404s under distinct queries) filled the whole budget and switched the cache off.
  it("keeps objects however many pass marks a flood leaves", async () => {
    const gate = await serve({
      ORIGIN_URL: origin.url,
      SECRET,
      CACHE: "on",
      CACHE_MAX_BYTES: "1m",
      // Every query in the key, so that each 404 leaves a mark of its own.
      CACHE_KEY_QUERY: "all",
    });
    try {
      for (let n = 0; n < 2000; n += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, k) =>
            get(gate.url + `${link("nostore-flood.ts", n + k)}?q=${n + k}_${"a".repeat(900)}`),
          ),
        );
      }
      await get(gate.url + link("fresh-after-flood.ts"));
      const again = await get(gate.url + link("fresh-after-flood.ts", 1));
      expect(again.headers["x-cache"]).toBe("HIT");
    } finally {
      await gate.stop();
    }
  });

  // A client that never read an answer from the cache held it, and its memory, for ever.
  it("cuts a client that takes no bytes of a cached answer for CLIENT_TIMEOUT_MS", async () => {
    const gate = await serve({
      ORIGIN_URL: origin.url,
      SECRET,
      CACHE: "on",
      CLIENT_TIMEOUT_MS: "500",
    });
    try {
      await get(gate.url + link("fresh-big-stall.ts"));
      const { port } = new URL(gate.url);
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(`GET ${link("fresh-big-stall.ts", 1)} HTTP/1.1\r\nHost: x\r\n\r\n`);
        socket.pause(); // never reads
      });
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      expect(await gate.waitFor(/"reason":"client-timeout"/, 8000)).toBeTruthy();
      // The gate closed the connection: read what the kernel holds, and it ends.
      socket.resume();
      await closed;
    } finally {
      await gate.stop();
    }
  });
});

describe("without CACHE_MAX_BYTES", () => {
  it("sends every request to the origin and no X-Cache", async () => {
    const origin = await cacheOrigin();
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET });
    try {
      for (let n = 0; n < 3; n++) {
        const answer = await get(gate.url + link("fresh-off.ts", n));
        expect(answer.headers["x-cache"]).toBeUndefined();
      }
      expect(origin.count("fresh-off.ts")).toBe(3);
    } finally {
      await gate.stop();
      await origin.close();
    }
  });
});
