/**
 * Red team: with a cache on, a one-byte Range request for an object the cache does not keep
 * (an origin that sends no Cache-Control/Expires, as nginx's and most static servers' default)
 * makes the origin send the WHOLE object. nginx with --cache-dir forwards none of the viewer's
 * headers (Range included), so every `Range: bytes=0-0` costs the full file at the origin
 * (and nginx drains it at full speed, discarding it). The Node server's cache forwards a
 * missed range as asked (control).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { startNginx, type StartedNginx } from "../helpers/nginx.js";
import { serve } from "../helpers/serve.js";
import { SECRET, signedPath } from "../helpers/links.js";

const MiB = 1024 * 1024;
const SIZE = 32 * MiB;
const N = 5;

async function rangeRequests(base: string): Promise<number> {
  let read = 0;
  for (let i = 0; i < N; i++) {
    const res = await fetch(base + signedPath(`big-${SIZE}.ts`), { headers: { range: "bytes=0-0" } });
    read += (await res.arrayBuffer()).byteLength;
    expect(res.status).toBe(206);
  }
  return read;
}

describe("cache on, origin sends no freshness: Range bytes=0-0", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(() => origin.close());

  it("nginx --cache-dir: origin sends the whole object for every 1-byte range", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "tg-rt-cache-"));
    const nginx: StartedNginx = await startNginx({ ORIGIN_URL: origin.url, SECRET }, [
      "--cache-dir",
      cacheDir,
    ]);
    try {
      origin.bigSent = 0;
      const read = await rangeRequests(nginx.url);
      // give nginx a moment to finish draining the upstream
      await new Promise((r) => setTimeout(r, 1500));
      console.log(`nginx: client read ${read} B, origin sent ${origin.bigSent} B`);
      // What should hold: the origin sends about what the clients asked for.
      expect(origin.bigSent).toBeLessThan(2 * SIZE);
    } finally {
      await nginx.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("Node CACHE=on (control)", async () => {
    const node = await serve({ ORIGIN_URL: origin.url, SECRET, CACHE: "on" });
    try {
      origin.bigSent = 0;
      const read = await rangeRequests(node.url);
      await new Promise((r) => setTimeout(r, 500));
      console.log(`node: client read ${read} B, origin sent ${origin.bigSent} B`);
      expect(origin.bigSent).toBeLessThan(2 * SIZE);
    } finally {
      await node.stop();
    }
  });
});
