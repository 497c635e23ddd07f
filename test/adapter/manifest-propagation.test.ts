/**
 * A directory token carried into the manifests it fetches (Gcore's "query string forwarding"),
 * on both runtimes: the player asks for the segments with the same md5 and expires, and gets them.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANIFEST_MAX_BYTES } from "../../src/core/manifest.js";
import { signQueryToken } from "../../src/core/query-token.js";
import { get } from "../helpers/http.js";
import { answerFor } from "../helpers/http-semantics.js";
import { headerValue } from "../helpers/origin.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { serve, type Served } from "../helpers/serve.js";
import { startWorker } from "../helpers/worker.js";

const SECRET = "manifest-secret";
const expires = Math.floor(Date.now() / 1000) + 3600;
const TOKEN = signQueryToken({ path: "/videos/v-1/", secret: SECRET, expires });
const PARAMS = `md5=${TOKEN}&expires=${expires}`;

const MASTER =
  '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:6,\nseg-1.ts\n#EXTINF:6,\nhttps://other.example/seg-2.ts\n';
const MPD =
  '<MPD><Period><SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4"/></Period></MPD>';
const MULTI_CDN =
  '<MPD><BaseURL>https://cdn-b.example/v-1/</BaseURL><SegmentTemplate media="seg-$Number$.m4s"/></MPD>';
const STEERED_HLS =
  '#EXTM3U\n#EXT-X-CONTENT-STEERING:SERVER-URI="https://steer.example/s.json",PATHWAY-ID="a"\n' +
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,PATHWAY-ID="a"\n720.m3u8\n';
const STEERED_MPD =
  '<MPD><ContentSteering defaultServiceLocation="a">https://steer.example/s.json</ContentSteering>' +
  '<BaseURL serviceLocation="a">./</BaseURL><SegmentTemplate media="seg-$Number$.m4s"/></MPD>';
const BIG = "#EXTM3U\n" + "#EXTINF:6,\nseg.ts\n".repeat(Math.ceil(MANIFEST_MAX_BYTES / 16));
/** Over MANIFEST_MAX_BYTES with few URIs: its rewrite would stay under the output's bound. */
const PADDED = "#EXTM3U\n" + `# ${"x".repeat(MANIFEST_MAX_BYTES)}\n` + "#EXTINF:6,\nseg-1.ts\n";

/** Every manifest's `Cache-Control` at the origin: public, for shared caches too. */
const ORIGIN_CACHE_CONTROL = "public, max-age=60, s-maxage=600";

/**
 * The lifetimes the origin gives shared caches alone, each read instead of `Cache-Control` by
 * the caches it names (RFC 9213's CDNs, Cloudflare, Vercel, Netlify, any CDN's own
 * `*-CDN-Cache-Control`, Fastly/Varnish, an nginx proxy_cache, Akamai).
 */
const TARGETED: Record<string, string> = {
  "cdn-cache-control": "public, max-age=600",
  "cloudflare-cdn-cache-control": "max-age=600",
  "vercel-cdn-cache-control": "max-age=600",
  "netlify-cdn-cache-control": "public, max-age=600",
  "acme-cdn-cache-control": "max-age=600",
  "surrogate-control": "max-age=600",
  "x-accel-expires": "600",
  "edge-control": "cache-maxage=600s",
};

/**
 * The origin, answering as a real static server (Range 206/416, If-Range, conditional 304,
 * HEAD: `http-semantics.ts`), its manifests marked public.
 */
async function manifestOrigin() {
  const seen: string[] = [];
  const asked: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? "");
    asked.push({ url: req.url ?? "", headers: req.headers });
    const path = (req.url ?? "").split("?")[0]!;
    const send = (type: string, body: string, chunked = false) => {
      const answer = answerFor(req.method ?? "GET", (name) => headerValue(req, name), {
        body: Buffer.from(body),
        etag: '"v1"',
        lastModified: "Wed, 21 Oct 2015 07:28:00 GMT",
        headers: { "content-type": type, "cache-control": ORIGIN_CACHE_CONTROL, ...TARGETED },
      });
      if (chunked && answer.status === 200) delete answer.headers["content-length"];
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    };
    if (path.endsWith("/index.m3u8")) return send("application/vnd.apple.mpegurl", MASTER);
    if (path.endsWith("/live.m3u8")) return send("application/vnd.apple.mpegurl", MASTER, true);
    if (path.endsWith("/big.m3u8")) return send("application/vnd.apple.mpegurl", BIG);
    if (path.endsWith("/padded.m3u8")) return send("application/vnd.apple.mpegurl", PADDED);
    if (path.endsWith("/manifest.mpd")) return send("application/dash+xml", MPD);
    if (path.endsWith("/multi-cdn.mpd")) return send("application/dash+xml", MULTI_CDN);
    if (path.endsWith("/steered.m3u8")) {
      return send("application/vnd.apple.mpegurl", STEERED_HLS);
    }
    if (path.endsWith("/steered.mpd")) return send("application/dash+xml", STEERED_MPD);
    if (path.endsWith("/gz.m3u8")) {
      // As nginx with gzip_types for playlists: compressed whenever the request allows it.
      const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
      const body = gzip ? gzipSync(MASTER) : Buffer.from(MASTER);
      const headers: Record<string, string> = {
        "content-type": "application/vnd.apple.mpegurl",
        "content-length": String(body.length),
      };
      if (gzip) headers["content-encoding"] = "gzip";
      res.writeHead(200, headers);
      return void res.end(body);
    }
    send("video/mp2t", `segment ${path}`);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    seen,
    asked,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const SETTINGS = { PREFIXES: "cmaf", QUERY_TOKEN_PREFIXES: "videos" };
type Gate = {
  url: string;
  close(): Promise<unknown>;
  waitFor?: (pattern: RegExp) => Promise<string>;
};
const runtimes: Record<string, (origin: string) => Promise<Gate>> = {
  "the Node server": async (origin) => {
    const served: Served = await serve({ ORIGIN_URL: origin, SECRET, ...SETTINGS });
    return { url: served.url, close: served.stop, waitFor: (pattern) => served.waitFor(pattern) };
  },
  "the Worker in Miniflare": async (origin) => {
    const worker = await startWorker({ ORIGIN_URL: origin, SECRET, ...SETTINGS });
    return { url: worker.url, close: worker.close };
  },
};
if (nginxAvailable()) {
  runtimes["nginx with the njs module"] = async (origin) => {
    const nginx = await startNginx({ ORIGIN_URL: origin, SECRET, ...SETTINGS });
    return { url: nginx.url, close: nginx.close };
  };
}

describe.each(Object.keys(runtimes))("manifest propagation through %s", (runtime) => {
  let origin: Awaited<ReturnType<typeof manifestOrigin>>;
  let gate: Gate;
  beforeAll(async () => {
    origin = await manifestOrigin();
    gate = await runtimes[runtime]!(origin.url);
  });
  afterAll(async () => {
    await gate?.close();
    await origin?.close();
  });

  it.each(["index.m3u8", "live.m3u8"])(
    "carries the token on the relative URIs of an HLS playlist (%s), with its new length and a weak ETag",
    async (file) => {
      const res = await get(`${gate.url}/videos/v-1/${file}?${PARAMS}`);
      expect(res.status).toBe(200);
      const body = res.body.toString();
      expect(body).toBe(
        `#EXTM3U\n#EXT-X-MAP:URI="init.mp4?${PARAMS}"\n#EXTINF:6,\nseg-1.ts?${PARAMS}\n#EXTINF:6,\nhttps://other.example/seg-2.ts\n`,
      );
      if (runtime === "nginx with the njs module") {
        // nginx sends the headers before the body is rewritten: no length (README: "Self-host
        // in nginx").
        expect(res.headers["content-length"]).toBeUndefined();
        expect(res.headers["transfer-encoding"]).toBe("chunked");
      } else {
        expect(Number(res.headers["content-length"])).toBe(Buffer.byteLength(body));
      }
      expect(res.headers.etag).toBe('W/"v1"');
      // The origin never sees the token; the player's next request carries it and is served.
      expect(origin.seen.at(-1)).toBe(`/videos/v-1/${file}`);
      const segment = await get(`${gate.url}/videos/v-1/seg-1.ts?${PARAMS}`);
      expect(segment.status).toBe(200);
      expect(segment.body.toString()).toBe("segment /videos/v-1/seg-1.ts");
    },
  );

  it("carries the token on a DASH manifest's media and initialization, as XML", async () => {
    const res = await get(`${gate.url}/videos/v-1/manifest.mpd?${PARAMS}`);
    const amp = PARAMS.replace("&", "&amp;");
    expect(res.body.toString()).toBe(
      `<MPD><Period><SegmentTemplate media="seg-$Number$.m4s?${amp}" initialization="init.mp4?${amp}"/></Period></MPD>`,
    );
  });

  it("answers HEAD for a manifest without a length it cannot know", async () => {
    const res = await get(`${gate.url}/videos/v-1/index.m3u8?${PARAMS}`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBeUndefined();
  });

  it("passes a manifest over MANIFEST_MAX_BYTES on unchanged", async () => {
    const res = await get(`${gate.url}/videos/v-1/big.m3u8?${PARAMS}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(BIG);
    if (gate.waitFor)
      expect(await gate.waitFor(/manifest-unchanged/)).toMatch(/passed on without the token/);
  });

  // Outside attack: relative URLs under an absolute BaseURL resolve to that host, and dash.js
  // fetched them there with the viewer's token.
  it("passes a manifest whose BaseURL names another host unchanged, its ETag strong", async () => {
    const res = await get(`${gate.url}/videos/v-1/multi-cdn.mpd?${PARAMS}`);
    expect(res.body.toString()).toBe(MULTI_CDN);
    // nginx weakens it before the body shows the text unchanged (README: "Self-host in nginx").
    expect(res.headers.etag).toBe(runtime === "nginx with the njs module" ? 'W/"v1"' : '"v1"');
    if (gate.waitFor) expect(await gate.waitFor(/BaseURL reaches another host/)).toBeTruthy();
  });

  // Outside attack: a steering server (any host) answers with pathway clones that re-host the
  // URIs the gate would stamp with the token (hls.js and dash.js follow them).
  it.each([
    ["steered.m3u8", STEERED_HLS],
    ["steered.mpd", STEERED_MPD],
  ])("passes a manifest with content steering (%s) unchanged", async (file, text) => {
    const res = await get(`${gate.url}/videos/v-1/${file}?${PARAMS}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(text);
    if (gate.waitFor) expect(await gate.waitFor(/steering/)).toBeTruthy();
  });

  // Outside attack: the Node server rewrote gzip bytes as text and sent garbage marked gzip.
  it("carries the token into a playlist the origin would compress", async () => {
    const res = await get(`${gate.url}/videos/v-1/gz.m3u8?${PARAMS}`, {
      headers: { "accept-encoding": "gzip" },
    });
    expect(res.status).toBe(200);
    const body = res.headers["content-encoding"] === "gzip" ? gunzipSync(res.body) : res.body;
    expect(body.toString()).toContain(`seg-1.ts?${PARAMS}`);
  });
});

/** The same runtimes, and each with its cache on (Node and the Worker: CACHE=on; nginx: --cache-dir). */
const withCaches: Record<string, (origin: string) => Promise<Gate>> = { ...runtimes };
withCaches["the Node server with CACHE=on"] = async (origin) => {
  const served = await serve({ ORIGIN_URL: origin, SECRET, CACHE: "on", ...SETTINGS });
  return { url: served.url, close: served.stop, waitFor: (pattern) => served.waitFor(pattern) };
};
withCaches["the Worker in Miniflare with CACHE=on"] = async (origin) => {
  const worker = await startWorker({ ORIGIN_URL: origin, SECRET, CACHE: "on", ...SETTINGS });
  return { url: worker.url, close: worker.close };
};
if (nginxAvailable()) {
  withCaches["nginx with --cache-dir"] = async (origin) => {
    const dir = mkdtempSync(join(tmpdir(), "tokengate-manifest-cache-"));
    chmodSync(dir, 0o777);
    const nginx = await startNginx({ ORIGIN_URL: origin, SECRET, ...SETTINGS }, [
      "--cache-dir",
      dir,
    ]);
    return {
      url: nginx.url,
      close: async () => {
        await nginx.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

const AMP = PARAMS.replace("&", "&amp;");
/** What a player must get for each manifest: all of it, the token on every URI of the gate's host. */
const REWRITTEN: Record<string, string> = {
  "index.m3u8": `#EXTM3U\n#EXT-X-MAP:URI="init.mp4?${PARAMS}"\n#EXTINF:6,\nseg-1.ts?${PARAMS}\n#EXTINF:6,\nhttps://other.example/seg-2.ts\n`,
  "manifest.mpd": `<MPD><Period><SegmentTemplate media="seg-$Number$.m4s?${AMP}" initialization="init.mp4?${AMP}"/></Period></MPD>`,
};
const MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT";

// Issue 20, item 1: ffmpeg asks for every playlist with `Range: bytes=0-`; an origin that
// honours Range answers 206, which the gate passed on unrewritten, so every segment was
// refused. A manifest the gate rewrites is asked for whole and answered 200 whole.
describe.each(Object.keys(withCaches))(
  "a manifest asked for in part or on condition, through %s",
  (runtime) => {
    let origin: Awaited<ReturnType<typeof manifestOrigin>>;
    let gate: Gate;
    beforeAll(async () => {
      origin = await manifestOrigin();
      gate = await withCaches[runtime]!(origin.url);
    });
    afterAll(async () => {
      await gate?.close();
      await origin?.close();
    });

    const asks: [string, Record<string, string>][] = [
      ["Range: bytes=0- (as ffmpeg asks)", { range: "bytes=0-" }],
      ["a Range mid-file", { range: "bytes=10-40" }],
      ["a suffix Range", { range: "bytes=-20" }],
      ["a Range past the end (416 at the origin)", { range: "bytes=99999-" }],
      ["If-Range with the origin's ETag", { range: "bytes=0-", "if-range": '"v1"' }],
      ["If-Range with the origin's date", { range: "bytes=0-", "if-range": MODIFIED }],
      ["If-None-Match with the origin's ETag", { "if-none-match": '"v1"' }],
      ["If-None-Match with the weak ETag the gate gave out", { "if-none-match": 'W/"v1"' }],
      ["If-None-Match: *", { "if-none-match": "*" }],
      ["If-Modified-Since", { "if-modified-since": MODIFIED }],
    ];
    describe.each(Object.keys(REWRITTEN))("%s", (file) => {
      it.each(asks)("%s: 200, whole, the token on every URI", async (_, headers) => {
        const before = origin.asked.length;
        const res = await get(`${gate.url}/videos/v-1/${file}?${PARAMS}`, { headers });
        expect(res.status).toBe(200);
        expect(res.headers["content-range"]).toBeUndefined();
        expect(res.body.toString()).toBe(REWRITTEN[file]);
        expect(res.headers["cache-control"]).toBe("private, max-age=60");
        // What reached the origin (nothing, from a cache) asked for the whole text.
        for (const { headers: sent } of origin.asked.slice(before)) {
          expect(sent.range).toBeUndefined();
          expect(sent["if-range"]).toBeUndefined();
          expect(sent["accept-encoding"]).toBe("identity");
        }
      });
    });

    // Issue 20, item 7: a rewritten manifest carries a viewer's token; a shared cache in front
    // that ignores the query would hand it to the next viewer.
    it("marks a rewritten manifest private, with the origin's lifetime, for GET and HEAD", async () => {
      for (const method of ["GET", "HEAD"]) {
        const res = await get(`${gate.url}/videos/v-1/index.m3u8?${PARAMS}`, { method });
        expect(res.status).toBe(200);
        expect(res.headers["cache-control"]).toBe("private, max-age=60");
        // Nor a lifetime only shared caches read, which they read instead of Cache-Control.
        for (const name of Object.keys(TARGETED))
          expect([name, res.headers[name]]).toEqual([name, undefined]);
      }
    });

    // A review found the Node cache rewriting a kept manifest of any size on every hit.
    it("passes a manifest over MANIFEST_MAX_BYTES on unchanged, fetched and then kept", async () => {
      for (const round of ["first", "second"]) {
        const res = await get(`${gate.url}/videos/v-1/padded.m3u8?${PARAMS}`);
        expect([round, res.status]).toEqual([round, 200]);
        expect(res.body.length, round).toBe(PADDED.length);
        expect(res.body.toString() === PADDED, round).toBe(true);
      }
      if (gate.waitFor) {
        expect(await gate.waitFor(/manifest-unchanged/)).toMatch(
          new RegExp(
            `${PADDED.length} bytes, over ${MANIFEST_MAX_BYTES}: passed on without the token`,
          ),
        );
      }
    });

    it("leaves the origin's Cache-Control on what it does not rewrite", async () => {
      const segment = await get(`${gate.url}/videos/v-1/seg-1.ts?${PARAMS}`);
      expect(segment.status).toBe(200);
      expect(segment.headers["cache-control"]).toBe(ORIGIN_CACHE_CONTROL);
      // (nginx's proxy reads X-Accel-Expires itself and passes it on to no one.)
      for (const name of Object.keys(TARGETED)) {
        if (name === "x-accel-expires" && runtime.startsWith("nginx")) continue;
        expect([name, segment.headers[name]]).toEqual([name, TARGETED[name]]);
      }
      // A segment still answers ranges: only manifests are asked for whole.
      const part = await get(`${gate.url}/videos/v-1/seg-1.ts?${PARAMS}`, {
        headers: { range: "bytes=0-6" },
      });
      expect([part.status, part.body.toString()]).toEqual([206, "segment"]);
      const unchanged = await get(`${gate.url}/videos/v-1/multi-cdn.mpd?${PARAMS}`);
      expect(unchanged.body.toString()).toBe(MULTI_CDN);
      // nginx sends the headers before the body shows the text unchanged, so marks it private
      // as it weakens its ETag (README: "Self-host in nginx").
      expect(unchanged.headers["cache-control"]).toBe(
        runtime.startsWith("nginx") ? "private, max-age=60" : ORIGIN_CACHE_CONTROL,
      );
    });
  },
);
