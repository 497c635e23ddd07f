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
import { answerFor, headerReader } from "../helpers/http-semantics.js";
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
    const target = "/v/seg.ts?junk=1&q=hd&lang=en&quality=sd";
    expect(cacheKey(target, "all")).toBe(target);
    expect(cacheKey(target, "none")).toBe("/v/seg.ts");
    expect(cacheKey(target, ["lang", "q"])).toBe("/v/seg.ts?lang=en&q=hd");
    expect(cacheKey(target, ["quality", "lang", "q"])).toBe("/v/seg.ts?quality=sd&lang=en&q=hd");
    expect(cacheKey("/v/seg.ts?junk=1", ["q"])).toBe("/v/seg.ts");
    expect(cacheKey("/v/seg.ts", ["q"])).toBe("/v/seg.ts");
    // A name is the whole name: a longer one is another parameter.
    expect(cacheKey("/v/seg.ts?qq=1&q&qa=2", ["q"])).toBe("/v/seg.ts?q");
    expect(DEFAULT_CACHE_KEY_QUERY).toBe("none");
  });

  it("names no key for a query whose key parameter an origin could read twice", () => {
    // The origin decodes and folds names; the key would name one value, the origin read another.
    const twice = [
      "q%75ality=1080&quality=720",
      "quality=720&q%2575ality=1080",
      "Quality=1080&quality=720",
      "quality[]=1080&quality=720",
      "QUALITY=1080",
      "quality=720&quality=1080",
      "quality=720;quality=1080",
      "a=1;quality=1080&quality=720",
      "amp;quality=1080&quality=720",
      "%71uality",
      "x%26quality=1080&quality=720",
    ];
    for (const query of twice) {
      expect([query, cacheKey(`/v/seg.ts?${query}`, ["quality"])]).toEqual([query, undefined]);
    }
    // Neither with every parameter in the key nor none of it is there another reading.
    expect(cacheKey("/v/seg.ts?Quality=1&quality=2", "all")).toBe("/v/seg.ts?Quality=1&quality=2");
    expect(cacheKey("/v/seg.ts?Quality=1&quality=2", "none")).toBe("/v/seg.ts");
    // Values are the origin's to read: an escaped `&` in one is no second parameter.
    expect(cacheKey("/v/seg.ts?quality=7%26quality%3D2", ["quality"])).toBe(
      "/v/seg.ts?quality=7%26quality%3D2",
    );
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
        // Ranges, conditionals and HEAD as a real static server answers them.
        const header = headerReader(req.headers);
        const answer = answerFor(req.method ?? "GET", header, {
          body,
          etag: '"k1"',
          headers: { "content-type": "video/mp2t", "cache-control": "public, max-age=300" },
        });
        res.writeHead(answer.status, answer.headers);
        res.end(req.method === "HEAD" ? undefined : answer.body);
      });
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      originUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise<void>((done) => server?.close(() => done()));
    });

    it("a key parameter spelled twice passes uncached: never kept, never served a kept answer", async () => {
      const gate = await runtime.start(originUrl, "quality");
      const file = "key-twice.ts";
      const asked = () => seen.filter((url) => url.split("?")[0]!.endsWith(`/${file}`));
      try {
        const poison = `${link(file)}?q%75ality=1080&quality=720`;
        // Three times: nginx keeps an object from its second request on.
        for (let i = 0; i < 3; i++) {
          const attack = await get(gate.url + poison);
          expect([attack.status, attack.headers["x-cache"]]).toEqual([200, "MISS"]);
          expect(attack.body.toString()).toMatch(/\?q%75ality=1080&quality=720$/);
        }
        expect(asked()).toHaveLength(3);
        // Where keeping lags (the Worker's waitUntil), a put would have happened by now.
        await new Promise((r) => setTimeout(r, 300));
        for (let i = 0; i < 3; i++) {
          const viewer = await get(gate.url + `${link(file, 1)}?quality=720`);
          expect(viewer.status).toBe(200);
          expect(viewer.body.toString()).toMatch(/key-twice\.ts\?quality=720$/);
        }
        await gate.kept(`/videos/2675_v/${file}?quality=720`);
        // The viewer's kept answer is not the attacker's either: the origin is asked again.
        const before = asked().length;
        const again = await get(gate.url + poison);
        expect([again.status, again.headers["x-cache"]]).toEqual([200, "MISS"]);
        expect(again.body.toString()).toMatch(/\?q%75ality=1080&quality=720$/);
        expect(asked().length - before).toBe(1);
      } finally {
        await gate.stop();
      }
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
