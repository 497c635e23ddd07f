/**
 * Red team (low): a rewritten manifest carries this viewer's token and is made private, with
 * the shared-cache headers of docs/link-forms.md removed; but the CDN-specific headers that
 * Vercel's and Netlify's CDNs read in preference to Cache-Control pass on, on every runtime.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { get } from "../helpers/http.js";
import { SECRET } from "../helpers/links.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";
import { scriptedOrigin, type ScriptedOrigin } from "../helpers/scripted-origin.js";

const expires = Math.floor(Date.now() / 1000) + 3600;
const md5 = signQueryToken({ path: "/images/", secret: SECRET, expires });

describe.each(Object.keys(RUNTIMES))("rewritten manifest headers through %s", (which) => {
  let origin: ScriptedOrigin;
  let gate: Gate;
  beforeAll(async () => {
    const body = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg-1.ts\n";
    origin = await scriptedOrigin(() => ({
      pieces: [
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\n" +
          "Cache-Control: public\r\nCache-Control: s-maxage=600, max-age=60\r\n" +
          "Surrogate-Control: max-age=600\r\nExpires: Thu, 01 Jan 2037 00:00:00 GMT\r\n" +
          "Netlify-CDN-Cache-Control: public, max-age=600\r\nVercel-CDN-Cache-Control: max-age=600\r\n" +
          `Content-Length: ${body.length}\r\n\r\n${body}`,
      ],
    }));
    gate = await RUNTIMES[which]!({ ORIGIN_URL: origin.url, SECRET, QUERY_TOKEN_PREFIXES: "images" });
  });
  afterAll(async () => {
    await gate?.close();
    await origin?.close();
  });
  it("keep no CDN-specific shared-cache header", async () => {
    const a = await get(`${gate.url}/images/a.m3u8?md5=${md5}&expires=${expires}`);
    expect(a.status).toBe(200);
    expect(String(a.body)).toContain(`md5=${md5}`);
    expect(a.headers["cache-control"]).toBe("private, max-age=60");
    expect(a.headers["vercel-cdn-cache-control"]).toBeUndefined();
    expect(a.headers["netlify-cdn-cache-control"]).toBeUndefined();
  });
});
