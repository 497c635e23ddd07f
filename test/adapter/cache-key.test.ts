/**
 * CACHE_KEY_QUERY on every runtime that caches (the Node server, the Worker's Cache API,
 * nginx's proxy_cache): which query parameters make the key (`all`, `none`, a list), while the
 * origin is asked with the request's whole query. The rule itself is `core/cache-key.ts`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheKey, DEFAULT_CACHE_KEY_QUERY } from "../../src/core/cache-key.js";
import { parseCacheKeyQuery, readSettings, SettingError } from "../../src/core/settings.js";
import { signToken } from "../../src/core/token.js";
import { get } from "../helpers/http.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { serve } from "../helpers/serve.js";
import { startWorker } from "../helpers/worker.js";

const SECRET = "cache-key-secret";
const now = Math.floor(Date.now() / 1000);
function link(file: string, n = 0): string {
  const expires = now + 3600 + n;
  const token = signToken({ clientId: "2675", videoId: "v", secret: SECRET, expires });
  return `/videos/2675_v/${token}/${expires}/${file}`;
}

describe("the cache key rule", () => {
  it("keeps the whole query, none of it, or the listed parameters in the list's order", () => {
    const target = "/v/seg.ts?junk=1&q=hd&lang=en&q=sd";
    expect(cacheKey(target, "all")).toBe(target);
    expect(cacheKey(target, "none")).toBe("/v/seg.ts");
    expect(cacheKey(target, ["lang", "q"])).toBe("/v/seg.ts?lang=en&q=hd&q=sd");
    expect(cacheKey("/v/seg.ts?junk=1", ["q"])).toBe("/v/seg.ts");
    expect(cacheKey("/v/seg.ts", ["q"])).toBe("/v/seg.ts");
    // A name is the whole name: neither a prefix nor one spelled otherwise.
    expect(cacheKey("/v/seg.ts?qq=1&Q=2&q", ["q"])).toBe("/v/seg.ts?q");
    expect(DEFAULT_CACHE_KEY_QUERY).toBe("none");
  });

  it("reads CACHE_KEY_QUERY, and refuses a bad one in one line naming it", () => {
    expect(parseCacheKeyQuery(undefined)).toBe("none");
    expect(parseCacheKeyQuery(" all ")).toBe("all");
    expect(parseCacheKeyQuery("q, lang,q")).toEqual(["q", "lang"]);
    const base = { ORIGIN_URL: "http://127.0.0.1:9", SECRET, CACHE: "on" };
    expect(readSettings({ ...base, CACHE_KEY_QUERY: "q" }).cache?.keyQuery).toEqual(["q"]);
    expect(readSettings(base).cache?.keyQuery).toBe("none");
    for (const bad of ["q,,lang", "a&b", "q=1", "q lang", "quality,", "é", "%71"]) {
      let error: unknown;
      try {
        readSettings({ ...base, CACHE_KEY_QUERY: bad });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SettingError);
      expect((error as SettingError).setting).toBe("CACHE_KEY_QUERY");
      expect((error as Error).message).toMatch(/^CACHE_KEY_QUERY/);
      expect((error as Error).message).not.toMatch(/\n/);
    }
    // A key for a cache that is off is a mistake, not a choice.
    expect(() => readSettings({ ...base, CACHE: "off", CACHE_KEY_QUERY: "all" })).toThrow(
      /^CACHE_KEY_QUERY/,
    );
  });
});

interface Gate {
  url: string;
  /** Waits until the answer for `key` (origin path and query) is kept, where keeping lags. */
  kept(key: string): Promise<void>;
  stop(): Promise<unknown>;
}

interface Runtime {
  name: string;
  available: boolean;
  /** nginx keeps an object from its second request on (proxy_cache_min_uses 2). */
  warm: boolean;
  start(originUrl: string, keyQuery: string): Promise<Gate>;
}

const RUNTIMES: Runtime[] = [
  {
    name: "the Node server",
    available: true,
    warm: false,
    async start(originUrl, keyQuery) {
      const gate = await serve({
        ORIGIN_URL: originUrl,
        SECRET,
        CACHE: "on",
        CACHE_KEY_QUERY: keyQuery,
      });
      return { url: gate.url, kept: async () => {}, stop: () => gate.stop() };
    },
  },
  {
    name: "the Worker",
    available: true,
    warm: false,
    async start(originUrl, keyQuery) {
      const worker = await startWorker({
        ORIGIN_URL: originUrl,
        SECRET,
        CACHE: "on",
        CACHE_KEY_QUERY: keyQuery,
      });
      return {
        url: worker.url,
        // The Cache API's put runs after the answer (waitUntil): look for the key from outside.
        async kept(key) {
          const caches = await worker.mf.getCaches();
          for (let i = 0; i < 100; i++) {
            const hit = await caches.default.match(originUrl + key);
            if (hit !== undefined) return void (await hit.arrayBuffer());
            await new Promise((r) => setTimeout(r, 20));
          }
          throw new Error(`${key} was never kept`);
        },
        stop: () => worker.close(),
      };
    },
  },
  {
    name: "nginx",
    available: nginxAvailable(),
    warm: true,
    async start(originUrl, keyQuery) {
      const dir = mkdtempSync(join(tmpdir(), "tokengate-key-cache-"));
      const nginx = await startNginx({ ORIGIN_URL: originUrl, SECRET, CACHE_KEY_QUERY: keyQuery }, [
        "--cache-dir",
        dir,
      ]);
      return {
        url: nginx.url,
        kept: async () => {},
        stop: async () => {
          await nginx.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

/** Each mode: the kept key of `?q=1&junk=a`, and X-Cache for `?junk=b&q=1` and `?q=2` after it. */
const MODES: [mode: string, key: string, second: string, third: string, requests: number][] = [
  ["none", "", "HIT", "HIT", 1],
  ["all", "?q=1&junk=a", "MISS", "MISS", 3],
  ["q", "?q=1", "HIT", "MISS", 2],
];

for (const runtime of RUNTIMES) {
  describe.skipIf(!runtime.available)(`CACHE_KEY_QUERY on ${runtime.name}`, () => {
    const seen: string[] = [];
    let server: Server;
    let originUrl = "";
    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push(req.url ?? "");
        const body = Buffer.from(`bytes of ${req.url}`);
        res.writeHead(200, {
          "content-type": "video/mp2t",
          "content-length": String(body.length),
          "cache-control": "public, max-age=300",
          etag: '"k1"',
        });
        res.end(req.method === "HEAD" ? undefined : body);
      });
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      originUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise<void>((done) => server?.close(() => done()));
    });

    it.each(MODES)(
      "%s: the key %j; the origin asked with the whole query",
      async (mode, key, second, third, requests) => {
        const gate = await runtime.start(originUrl, mode);
        const file = `key-${mode}.ts`;
        const asked = () => seen.filter((url) => url.split("?")[0]!.endsWith(`/${file}`));
        try {
          if (runtime.warm) await get(gate.url + `${link(file, 9)}?q=1&junk=a`);
          const before = asked().length;
          const first = await get(gate.url + `${link(file)}?q=1&junk=a`);
          expect([first.status, first.headers["x-cache"]]).toEqual([200, "MISS"]);
          await gate.kept(`/videos/2675_v/${file}${key}`);
          const two = await get(gate.url + `${link(file, 1)}?junk=b&q=1`);
          const three = await get(gate.url + `${link(file, 2)}?q=2`);
          expect([
            two.status,
            two.headers["x-cache"],
            three.status,
            three.headers["x-cache"],
          ]).toEqual([200, second, 200, third]);
          // A shared answer: the second viewer's is the first one's, query and all.
          if (second === "HIT") expect(two.body.toString()).toBe(first.body.toString());
          expect(asked().length - before).toBe(requests);
          // The origin gets the client's whole query (token removed); the key is the cache's.
          expect(asked()[before]).toMatch(/\/videos\/2675_v\/key-\w+\.ts\?q=1&junk=a$/);
        } finally {
          await gate.stop();
        }
      },
    );
  });
}
