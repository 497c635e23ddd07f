/**
 * CACHE=on on the Worker (the Cache API, in Miniflare): keyed by origin URL, never the token;
 * Range answered from the kept object; the same storability rules as the Node server.
 */
import { createServer, type Server } from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { gatherBudget } from "../../../src/adapter/workers/edge-cache.js";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../../src/core/token.js";
import { answerFor, headerReader } from "../../helpers/http-semantics.js";
import { get } from "../../helpers/http.js";
import { startWorker, type StartedWorker } from "../../helpers/worker.js";

const SECRET = "edge-cache-secret";
const now = Math.floor(Date.now() / 1000);
function link(file: string, n = 0): string {
  const expires = now + 3600 + n;
  const token = signToken({ clientId: "2675", videoId: "v", secret: SECRET, expires });
  return `/videos/2675_v/${token}/${expires}/${file}`;
}

describe("CACHE=on on the Worker", () => {
  const seen: string[] = [];
  /** The request headers of each origin request, by URL. */
  const asked = new Map<string, Record<string, unknown>>();
  const slow: { sent: number; cut: boolean }[] = [];
  let server: Server;
  let worker: StartedWorker;
  let off: StartedWorker;
  let originUrl = "";
  const count = (file: string) => seen.filter((url) => url.endsWith(`/${file}`)).length;
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? "");
      asked.set(req.url ?? "", req.headers);
      const file = (req.url ?? "").split("/").pop()!;
      if (file.startsWith("slow")) {
        const record = { sent: 0, cut: false };
        slow.push(record);
        res.writeHead(200, {
          "content-length": String(16 * 65536),
          "cache-control": "max-age=300",
        });
        const timer = setInterval(() => {
          res.write(Buffer.alloc(65536, 1));
          if (++record.sent === 16) {
            clearInterval(timer);
            res.end();
          }
        }, 100);
        res.on("close", () => {
          clearInterval(timer);
          if (record.sent < 16) record.cut = true;
        });
        return;
      }
      const body = Buffer.from(`bytes of ${file} `.repeat(50));
      const headers: Record<string, string> = {
        "content-length": String(body.length),
        "content-type": "video/mp2t",
        "cache-control": file.includes("nostore") ? "no-store" : "public, max-age=300",
        etag: '"e1"',
      };
      if (file.includes("aged")) headers.age = "100";
      if (file.includes("gz") && /gzip/.test(String(req.headers["accept-encoding"] ?? ""))) {
        const zipped = gzipSync(body);
        headers["content-encoding"] = "gzip";
        headers["content-length"] = String(zipped.length);
        headers.vary = "Accept-Encoding";
        res.writeHead(200, headers);
        return void res.end(zipped);
      }
      if (file.includes("cookie")) headers["set-cookie"] = "session=1";
      // Ranges, conditionals and HEAD as a real static server answers them (http-semantics.ts).
      const { etag, "content-length": _, ...rest } = headers;
      const header = headerReader(req.headers);
      const answer = answerFor(req.method ?? "GET", header, { body, etag, headers: rest });
      res.writeHead(answer.status, answer.headers);
      res.end(req.method === "HEAD" ? undefined : answer.body);
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    originUrl = origin;
    [worker, off] = await Promise.all([
      startWorker({ ORIGIN_URL: origin, SECRET, CACHE: "on" }),
      startWorker({ ORIGIN_URL: origin, SECRET }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([worker?.close(), off?.close()]);
    server?.closeAllConnections();
    await new Promise<void>((done) => server?.close(() => done()));
  });

  /**
   * The Cache API put runs after the viewer has the whole answer (waitUntil): wait until the
   * object is in Miniflare's cache, looking from outside, so no request of the test's own fills it.
   */
  async function untilKept(file: string) {
    const caches = await worker.mf.getCaches();
    for (let i = 0; i < 100; i++) {
      const kept = await caches.default.match(`${originUrl}/videos/2675_v/${file}`);
      if (kept !== undefined) return void (await kept.arrayBuffer());
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${file} was never kept`);
  }

  it("1,000 viewers with 1,000 different tokens: one origin request, the origin's headers given back", async () => {
    const first = await get(worker.url + link("seg.ts"));
    expect([first.status, first.headers["x-cache"]]).toEqual([200, "MISS"]);
    await untilKept("seg.ts");
    for (let n = 1; n < 1000; n += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) => get(worker.url + link("seg.ts", n + k))),
      );
      for (const answer of batch) {
        expect([answer.status, answer.headers["x-cache"]]).toEqual([200, "HIT"]);
        expect(answer.body.equals(first.body)).toBe(true);
        expect(answer.headers["cache-control"]).toBe("public, max-age=300");
      }
    }
    expect(count("seg.ts")).toBe(1);
  });

  it("answers a range and HEAD from the kept object", async () => {
    const whole = await get(worker.url + link("range.ts"));
    await untilKept("range.ts");
    const part = await get(worker.url + link("range.ts", 1), { headers: { range: "bytes=5-14" } });
    expect([part.status, part.headers["x-cache"]]).toEqual([206, "HIT"]);
    expect(part.body.equals(whole.body.subarray(5, 15))).toBe(true);
    const head = await get(worker.url + link("range.ts", 2), { method: "HEAD" });
    expect([head.status, head.headers["x-cache"], head.body.length]).toEqual([200, "HIT", 0]);
    expect(count("range.ts")).toBe(1);
  });

  // Players open with a Range: on a miss the origin answers 206 (it honours Range), and the
  // cache must pass that on, never keep the part as the whole object.
  it("passes a first request's range on from the origin, and keeps no part as the whole", async () => {
    const part = await get(worker.url + link("first-range.ts"), {
      headers: { range: "bytes=3-9" },
    });
    const bytes = "bytes of first-range.ts ".repeat(50);
    expect([part.status, part.headers["content-range"]]).toEqual([
      206,
      `bytes 3-9/${bytes.length}`,
    ]);
    expect(part.body.toString()).toBe(bytes.slice(3, 10));
    const whole = await get(worker.url + link("first-range.ts", 1));
    expect(whole.status).toBe(200);
    expect(whole.body.toString()).toBe(bytes);
  });

  // Red team: the copy every viewer is served was asked for with its first viewer's headers and
  // address, so an origin that varies on them without `Vary` had that viewer's answer shared.
  it("fills the cache in no viewer's words", async () => {
    const viewer: Record<string, string> = {
      "user-agent": "first-viewer",
      "accept-language": "xx",
      referer: "https://viewer.example/",
      origin: "https://viewer.example",
      accept: "x/y",
    };
    const first = await get(worker.url + link("words.ts"), {
      headers: { ...viewer, "cf-connecting-ip": "203.0.113.9" },
    });
    expect(first.headers["x-cache"]).toBe("MISS");
    const headers = asked.get("/videos/2675_v/words.ts")!;
    for (const [name, value] of Object.entries(viewer)) expect(headers[name], name).not.toBe(value);
    expect(headers["x-forwarded-for"]).toBeUndefined();
    await untilKept("words.ts");
    expect((await get(worker.url + link("words.ts", 1))).headers["x-cache"]).toBe("HIT");
  });

  // Red team, round two: a HIT asked with the object's ETag got the whole object again (200),
  // where the Node server and nginx answer 304.
  it("answers a HIT whose ETag the viewer holds with 304", async () => {
    await get(worker.url + link("etag.ts"));
    await untilKept("etag.ts");
    for (const tag of ['"e1"', 'W/"e1"', '"x", "e1"', "*"]) {
      const answer = await get(worker.url + link("etag.ts", 1), {
        headers: { "if-none-match": tag },
      });
      expect([answer.status, answer.headers["x-cache"], answer.body.length], tag).toEqual([
        304,
        "HIT",
        0,
      ]);
    }
    const other = await get(worker.url + link("etag.ts", 2), {
      headers: { "if-none-match": '"x"' },
    });
    expect([other.status, other.headers["x-cache"]]).toEqual([200, "HIT"]);
    expect(count("etag.ts")).toBe(1);
  });

  // Review: the kept copy answered a Range before the viewer's If-None-Match (206, not 304,
  // RFC 9110 §13.2.2), and a Range it should ignore with 416 (§14.2), where a miss, the Node
  // server's cache and nginx send 304 and the whole object.
  it("answers If-None-Match before Range, and ignores a Range it cannot read, as Node's cache does", async () => {
    const whole = await get(worker.url + link("cond-range.ts"));
    await untilKept("cond-range.ts");
    const held = await get(worker.url + link("cond-range.ts", 1), {
      headers: { "if-none-match": '"e1"', range: "bytes=0-1" },
    });
    expect([held.status, held.headers["x-cache"], held.body.length]).toEqual([304, "HIT", 0]);
    expect(held.headers["content-range"]).toBeUndefined();
    for (const range of ["items=0-1", "bytes=abc", "bytes=5-2", "bytes=0-1,4-5", "bytes=-"]) {
      const answer = await get(worker.url + link("cond-range.ts", 2), { headers: { range } });
      expect([range, answer.status, answer.headers["x-cache"]]).toEqual([range, 200, "HIT"]);
      expect(answer.body.equals(whole.body), range).toBe(true);
    }
    expect(count("cond-range.ts")).toBe(1);
  });

  it("keeps no answer with no-store or Set-Cookie", async () => {
    const caches = await worker.mf.getCaches();
    const keptCopy = (file: string) => caches.default.match(`${originUrl}/videos/2675_v/${file}`);
    // A storable answer asked after it is kept: the signal that a store of the one before,
    // had there been one, has run too (both go through the same waitUntil put).
    let control = 0;
    const afterAStore = async () => {
      const file = `control-${control++}.ts`;
      await get(worker.url + link(file));
      await untilKept(file);
    };
    for (const file of ["nostore.ts", "cookie.ts"]) {
      for (let n = 0; n < 3; n++) {
        const answer = await get(worker.url + link(file, n));
        expect(answer.headers["x-cache"]).toBe("MISS");
        await afterAStore();
        expect(await keptCopy(file)).toBeUndefined();
      }
      expect(count(file)).toBe(3);
    }
  });

  // Red team: a Cookie or Authorization header sent a request past the cache (an amplification
  // switch: the origin never gets either header, so its answer cannot depend on them).
  it("answers and fills for a request with Cookie or Authorization like any other", async () => {
    await get(worker.url + link("with-credentials.ts"), { headers: { cookie: "a=b" } });
    await untilKept("with-credentials.ts");
    const asked: Record<string, string>[] = [{ cookie: "a=b" }, { authorization: "Bearer x" }, {}];
    for (const headers of asked) {
      const answer = await get(worker.url + link("with-credentials.ts", 1), { headers });
      expect(answer.headers["x-cache"]).toBe("HIT");
    }
    expect(count("with-credentials.ts")).toBe(1);
  });

  // Outside attack: the copy for the cache kept reading after the viewer left (40 abandoned
  // requests for a 16 MB object cost the origin 640 MB).
  it("stops the origin transfer when the viewer leaves, and keeps nothing", async () => {
    const before = slow.length;
    await get(worker.url + link("slow.ts"), { timeoutMs: 250 }).catch(() => undefined);
    for (let i = 0; i < 40 && !slow[before]?.cut; i++) await new Promise((r) => setTimeout(r, 50));
    expect(slow[before]).toMatchObject({ cut: true });
    expect(slow[before]!.sent).toBeLessThan(16);
    const next = await get(worker.url + link("slow.ts", 1));
    expect(next.headers["x-cache"]).toBe("MISS");
  });

  it("sends the whole object for If-Range, and adds the cache's time to the origin's Age", async () => {
    await get(worker.url + link("ifr-aged.ts"));
    await untilKept("ifr-aged.ts");
    const ranged = await get(worker.url + link("ifr-aged.ts", 1), {
      headers: { range: "bytes=1-3", "if-range": '"e0"' },
    });
    expect([ranged.status, ranged.headers["x-cache"]]).toEqual([200, "HIT"]);
    expect(Number(ranged.headers.age)).toBeGreaterThanOrEqual(100);
  });

  // Third outside attack: workerd undoes the gzip but the stated length was the compressed one,
  // and the FixedLengthStream ended the answer empty, looking whole.
  it("passes an answer the origin compresses whole, without keeping it", async () => {
    for (let n = 0; n < 2; n++) {
      const answer = await get(worker.url + link("gz.ts", n), {
        headers: { "accept-encoding": "gzip" },
      });
      const body =
        answer.headers["content-encoding"] === "gzip" ? gunzipSync(answer.body) : answer.body;
      expect([answer.status, body.toString()]).toEqual([200, "bytes of gz.ts ".repeat(50)]);
      expect(answer.headers["x-cache"]).toBe("MISS");
    }
  });

  it("advances Age while an object is kept", async () => {
    await get(worker.url + link("aged-2.ts"));
    await untilKept("aged-2.ts");
    await new Promise((r) => setTimeout(r, 1100));
    const hit = await get(worker.url + link("aged-2.ts", 1));
    expect(hit.headers["x-cache"]).toBe("HIT");
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(101);
  });

  it("gathers copies within a budget, given back when done", () => {
    const budget = gatherBudget(10);
    expect([budget.take(6), budget.take(6)]).toEqual([true, false]);
    budget.give(6);
    expect(budget.take(10)).toBe(true);
  });

  it("a refused link never reaches the origin or the cache", async () => {
    const expires = now - 5;
    const token = signToken({ clientId: "2675", videoId: "v", secret: SECRET, expires });
    expect((await get(`${worker.url}/videos/2675_v/${token}/${expires}/guarded.ts`)).status).toBe(
      410,
    );
    expect(count("guarded.ts")).toBe(0);
  });

  it("off (the default): no X-Cache, every request to the origin", async () => {
    for (let n = 0; n < 2; n++) {
      const answer = await get(off.url + link("off.ts", n));
      expect(answer.headers["x-cache"]).toBeUndefined();
    }
    expect(count("off.ts")).toBe(2);
  });
});
