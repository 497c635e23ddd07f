/**
 * Red team: a rewritten manifest carries this viewer's CDN token, so the gate makes its
 * `Cache-Control` private ("no shared cache in front hands viewer A's token to viewer B").
 * But it passes on the origin's targeted cache headers, which shared caches read INSTEAD of
 * Cache-Control: `CDN-Cache-Control` (RFC 9213; Cloudflare, Akamai, Fastly),
 * `Cloudflare-CDN-Cache-Control`, `Surrogate-Control` (Fastly, Varnish, Akamai) and, on Node and
 * the Worker, `X-Accel-Expires` (an nginx proxy_cache in front: it ignores Cache-Control when
 * X-Accel-Expires is present). A CDN in front then keeps viewer A's token-bearing playlist for
 * 600 s and, keyed without the query (a common setting), serves it to viewer B.
 */
import { describe, expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { RUNTIMES } from "../helpers/runtimes.js";
import { scriptedOrigin } from "../helpers/scripted-origin.js";

const SECRET = "rt-secret";
const TARGETED = ["cdn-cache-control", "cloudflare-cdn-cache-control", "surrogate-control", "x-accel-expires"];

for (const [name, start] of Object.entries(RUNTIMES)) {
  it(`${name}: a rewritten manifest keeps no shared-cache lifetime`, async () => {
    const origin = await scriptedOrigin(() => {
      const body = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nseg-1.ts\n";
      return {
        pieces: [
          "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.apple.mpegurl\r\n" +
            "cache-control: public, max-age=60, s-maxage=600\r\n" +
            "cdn-cache-control: public, max-age=600\r\n" +
            "cloudflare-cdn-cache-control: max-age=600\r\n" +
            "surrogate-control: max-age=600\r\n" +
            "x-accel-expires: 600\r\n" +
            `content-length: ${body.length}\r\n\r\n${body}`,
        ],
      };
    });
    const gate = await start({ ORIGIN_URL: origin.url, SECRET, PREFIXES: "videos", QUERY_TOKEN_PREFIXES: "hls" });
    try {
      const expires = Math.floor(Date.now() / 1000) + 3600;
      const md5 = signQueryToken({ path: "/hls/v1/", secret: SECRET, expires });
      const res = await fetch(`${gate.url}/hls/v1/index.m3u8?md5=${md5}&expires=${expires}`);
      const text = await res.text();
      expect(text).toContain(md5); // the viewer's token is in the body
      const kept: Record<string, string> = {};
      for (const h of TARGETED) if (res.headers.get(h) !== null) kept[h] = res.headers.get(h)!;
      console.log(name, res.status, "cache-control:", res.headers.get("cache-control"), "kept:", JSON.stringify(kept));
      expect(res.headers.get("cache-control")).toMatch(/^private/);
      expect(kept).toEqual({});
    } finally {
      await gate.close();
      await origin.close();
    }
  });
}
