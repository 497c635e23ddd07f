import { createHash } from "node:crypto";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bigChunk, startOrigin, type Origin } from "../../helpers/origin.js";
import { download, get } from "../../helpers/http.js";
import { SECRET, signedPath } from "../../helpers/links.js";

const BIG = 100 * 1024 * 1024;

function expectedMd5(total: number): string {
  const hash = createHash("md5");
  for (let offset = 0; offset < total; offset += 1024 * 1024) {
    hash.update(bigChunk(offset, Math.min(1024 * 1024, total - offset)));
  }
  return hash.digest("hex");
}

describe("the Worker in Miniflare against a real 127.0.0.1 origin", () => {
  let origin: Origin;
  let mf: Miniflare;
  let gate: string;

  beforeAll(async () => {
    origin = await startOrigin({ chunkDelayMs: 5 });
    mf = new Miniflare({
      scriptPath: "dist/worker.bundle.js",
      modules: true,
      compatibilityDate: "2026-04-26",
      bindings: { SECRET, ORIGIN_URL: origin.url, ORIGIN_TIMEOUT_MS: "2000" },
      host: "127.0.0.1",
      port: 0,
    });
    gate = (await mf.ready).origin;
  });
  afterAll(async () => {
    await mf?.dispose();
    await origin?.close();
  });

  it("passes a Range request through as 206 with Content-Range", async () => {
    const res = await get(gate + signedPath("720/seg-1.ts"), { headers: { range: "bytes=0-6" } });
    expect(res.status).toBe(206);
    expect(res.body.toString()).toBe("content");
    expect(res.headers["content-range"]).toMatch(/^bytes 0-6\/\d+$/);
    expect(origin.requests.at(-1)!.url).toBe("/videos/2675_3dk4NsRt6vWsffEr/720/seg-1.ts");
  });

  it("passes an unsatisfiable Range through as 416", async () => {
    const res = await get(gate + signedPath("720/seg-1.ts"), {
      headers: { range: "bytes=999999-" },
    });
    expect(res.status).toBe(416);
  });

  it("answers HEAD with the origin's headers and no body", async () => {
    const res = await get(gate + signedPath("720/seg-1.ts"), { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBe(
      String("content of /videos/2675_3dk4NsRt6vWsffEr/720/seg-1.ts".length),
    );
    expect(res.body.length).toBe(0);
    expect(origin.requests.at(-1)!.method).toBe("HEAD");
  });

  it("passes a conditional request through as 304", async () => {
    const first = await get(gate + signedPath("master.m3u8"));
    const etag = String(first.headers.etag);
    const res = await get(gate + signedPath("master.m3u8"), { headers: { "if-none-match": etag } });
    expect(res.status).toBe(304);
    expect(res.headers.etag).toBe(etag);
  });

  it("keeps the query string for the origin", async () => {
    const res = await get(gate + signedPath("live/chunk.ts") + "?part=4");
    expect(res.headers["x-origin-query"]).toBe("?part=4");
  });

  it("streams a 100 MB body byte-exact, the first bytes arriving while the origin still sends", async () => {
    let originSentAtFirstByte = -1;
    const sentBefore = origin.bigSent;
    const res = await download(gate + signedPath(`big-${BIG}.ts`), () => {
      originSentAtFirstByte = origin.bigSent - sentBefore;
    });
    expect(res.status).toBe(200);
    expect(res.bytes).toBe(BIG);
    expect(res.md5).toBe(expectedMd5(BIG));
    expect(originSentAtFirstByte).toBeGreaterThan(0);
    expect(originSentAtFirstByte).toBeLessThan(BIG / 2);
  });

  it("answers 502 when nothing listens at the origin", async () => {
    const closed = await startOrigin();
    await closed.close();
    const other = new Miniflare({
      scriptPath: "dist/worker.bundle.js",
      modules: true,
      compatibilityDate: "2026-04-26",
      bindings: { SECRET, ORIGIN_URL: closed.url },
    });
    try {
      const res = await other.dispatchFetch("http://gate.test" + signedPath("x.ts"));
      expect(res.status).toBe(502);
      expect(await res.text()).toMatch(/^Bad Gateway/);
    } finally {
      await other.dispose();
    }
  });

  it("answers 504 when the origin sends no headers in time", async () => {
    const res = await get(gate + signedPath("slow-headers.ts"));
    expect(res.status).toBe(504);
  });
});
