/**
 * Red team: cache poisoning through CACHE_KEY_QUERY=<list>. The key keeps a listed parameter
 * only when its name is spelled exactly (`quality`), but the origin is asked with the whole
 * query, and origins (Express, Flask, Rails, URLSearchParams, PHP…) decode names. So a viewer
 * holding any valid link to the video sends `?q%75ality=1080&quality=720`: the key is
 * `…?quality=720`, the origin reads the first `quality` = 1080 and that answer is kept under
 * the 720 key. Every later viewer asking for `?quality=720` gets the 1080 rendition.
 * (The md5/expires look-alike rule decodes names; the cache key rule does not.)
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RUNTIMES } from "../helpers/runtimes.js";
import { startNginx } from "../helpers/nginx.js";
import { SECRET, signedPath } from "../helpers/links.js";

async function renditionOrigin(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    // As Express/Flask/URLSearchParams read it: names decoded, the first value wins.
    const quality = url.searchParams.get("quality") ?? "none";
    const body = `rendition ${quality}`;
    res.writeHead(200, {
      "content-type": "video/mp2t",
      "content-length": String(body.length),
      "cache-control": "public, max-age=300",
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const gates: Record<string, (origin: string) => Promise<{ url: string; close(): Promise<unknown> }>> = {
  "the Node server (CACHE=on)": (origin) =>
    RUNTIMES["the Node server"]!({ ORIGIN_URL: origin, SECRET, CACHE: "on", CACHE_KEY_QUERY: "quality" }),
  "the Worker in Miniflare (CACHE=on)": (origin) =>
    RUNTIMES["the Worker in Miniflare"]!({ ORIGIN_URL: origin, SECRET, CACHE: "on", CACHE_KEY_QUERY: "quality" }),
  "nginx --cache-dir": async (origin) => {
    const dir = mkdtempSync(join(tmpdir(), "tg-rt-ckq-"));
    const nginx = await startNginx({ ORIGIN_URL: origin, SECRET, CACHE_KEY_QUERY: "quality" }, ["--cache-dir", dir]);
    return { url: nginx.url, close: async () => { await nginx.close(); rmSync(dir, { recursive: true, force: true }); } };
  },
};

for (const [name, start] of Object.entries(gates)) {
  it(`${name}: an escaped parameter name poisons another rendition's key`, async () => {
    const origin = await renditionOrigin();
    const gate = await start(origin.url);
    try {
      const attacker = signedPath("seg-1.ts", { expires: Math.floor(Date.now() / 1000) + 600 });
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${gate.url}${attacker}?q%75ality=1080&quality=720`);
        console.log(name, "attacker", r.status, r.headers.get("x-cache"), await r.text());
      }
      await new Promise((r) => setTimeout(r, 300));
      const victim = signedPath("seg-1.ts", { expires: Math.floor(Date.now() / 1000) + 7200 });
      const r = await fetch(`${gate.url}${victim}?quality=720`);
      const body = await r.text();
      console.log(name, "victim", r.status, r.headers.get("x-cache"), body);
      expect(body).toBe("rendition 720");
    } finally {
      await gate.close();
      await origin.close();
    }
  });
}
