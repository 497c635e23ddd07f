/**
 * Red team: "redirects are passed back … never showing the origin's address". Only Location and
 * Refresh are rewritten: the origin's address in Content-Location or Link (rel=preload,
 * canonical), which servers and packagers emit from the Host they were asked with, reaches the
 * viewer unchanged on every runtime. (Low: an information leak of the hidden origin.)
 */
import { expect, it } from "vitest";
import { RUNTIMES } from "../helpers/runtimes.js";
import { scriptedOrigin } from "../helpers/scripted-origin.js";
import { SECRET, signedPath } from "../helpers/links.js";

for (const [name, start] of Object.entries(RUNTIMES)) {
  it(`${name}: no response header names the origin`, async () => {
    let originHost = "";
    const origin = await scriptedOrigin(() => ({
      pieces: [
        "HTTP/1.1 302 Found\r\n" +
          `Location: http://${originHost}/videos/2675_3dk4NsRt6vWsffEr/other.ts\r\n` +
          `Content-Location: http://${originHost}/videos/2675_3dk4NsRt6vWsffEr/seg.ts\r\n` +
          `Link: <http://${originHost}/videos/2675_3dk4NsRt6vWsffEr/next.ts>; rel=preload\r\n` +
          "Content-Length: 0\r\n\r\n",
      ],
    }));
    originHost = `127.0.0.1:${origin.port}`;
    const gate = await start({ ORIGIN_URL: origin.url, SECRET });
    try {
      const res = await fetch(gate.url + signedPath("seg.ts"), { redirect: "manual" });
      const shown: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        if (v.includes(originHost)) shown[k] = v;
      });
      console.log(name, res.status, "location:", res.headers.get("location"), "origin address in:", JSON.stringify(shown));
      expect(shown).toEqual({});
    } finally {
      await gate.close();
      await origin.close();
    }
  });
}
