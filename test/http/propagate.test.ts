import { describe, expect, it } from "vitest";
import { MANIFEST_MAX_BYTES } from "../../src/core/manifest.js";
import { propagated } from "../../src/http/propagate.js";

// The Worker's manifest propagation as a pure function of a Response (the runtimes' suites hold
// it end to end; mutation testing runs only the pure suites, and found it unheld there).
const P = "md5=abc&expires=1";
const PLAYLIST = "#EXTM3U\n#EXTINF:6,\nseg-1.ts\n";
const REWRITTEN = `#EXTM3U\n#EXTINF:6,\nseg-1.ts?${P}\n`;

function origin(body: string | null, headers: Record<string, string>, status = 200) {
  return new Response(body, { status, statusText: "Fine", headers });
}

async function run(response: Response, path = "/videos/v/index.m3u8") {
  const said: string[] = [];
  const out = await propagated(response, path, P, (why) => said.push(why));
  return { out, said, text: out.body === null ? null : await out.text() };
}

describe("propagated()", () => {
  it("rewrites a playlist: new length, weak ETag, private Cache-Control, status text kept", async () => {
    const { out, said, text } = await run(
      origin(PLAYLIST, {
        "content-type": "application/vnd.apple.mpegurl",
        "content-length": String(PLAYLIST.length),
        etag: '"v1"',
        "cache-control": "public, max-age=60, s-maxage=600",
      }),
    );
    expect(said).toEqual([]);
    expect(text).toBe(REWRITTEN);
    expect(out.status).toBe(200);
    expect(out.statusText).toBe("Fine");
    expect(out.headers.get("content-length")).toBe(String(REWRITTEN.length));
    expect(out.headers.get("etag")).toBe('W/"v1"');
    expect(out.headers.get("cache-control")).toBe("private, max-age=60");
  });

  it("keeps a weak ETag as it is, and knows a playlist by its path alone", async () => {
    const { out, text } = await run(origin(PLAYLIST, { etag: 'W/"v1"' }));
    expect(text).toBe(REWRITTEN);
    expect(out.headers.get("etag")).toBe('W/"v1"');
  });

  it("rewrites a DASH manifest known by its type", async () => {
    const mpd = '<MPD><SegmentTemplate media="s-$Number$.m4s"/></MPD>';
    const { text } = await run(
      origin(mpd, { "content-type": "application/dash+xml; charset=utf-8" }),
      "/videos/v/manifest",
    );
    expect(text).toBe(
      `<MPD><SegmentTemplate media="s-$Number$.m4s?${P.replace("&", "&amp;")}"/></MPD>`,
    );
  });

  it.each([
    [
      "another status",
      origin(PLAYLIST, { "content-type": "application/vnd.apple.mpegurl" }, 404),
      "/x.m3u8",
    ],
    ["not a manifest", origin(PLAYLIST, { "content-type": "video/mp2t" }), "/videos/v/seg.ts"],
  ])("passes %s on as it is", async (_, response, path) => {
    const { out, said } = await run(response, path);
    expect(out).toBe(response);
    expect(said).toEqual([]);
  });

  it("answers a HEAD with the headers a GET's rewrite would have, less the length", async () => {
    const { out, text } = await run(
      origin(null, {
        "content-type": "application/vnd.apple.mpegurl",
        "content-length": "999",
        etag: '"v1"',
      }),
    );
    expect(text).toBeNull();
    expect(out.status).toBe(200);
    expect(out.statusText).toBe("Fine");
    expect(out.headers.get("content-length")).toBeNull();
    expect(out.headers.get("etag")).toBe('W/"v1"');
    expect(out.headers.get("cache-control")).toBe("private");
  });

  it("passes a manifest it leaves alone unchanged, strong ETag kept, and says why", async () => {
    // A lone CR ends a line for hls.js: the rewrite cannot vouch for such a playlist.
    const text = '#EXTM3U\n#EXT-X-KEY:METHOD=NONE\r//evil.example/x.ts?a=,URI="k.bin"\nseg.ts\n';
    const { out, said, text: body } = await run(origin(text, { etag: '"v1"' }));
    expect(body).toBe(text);
    expect(out.headers.get("etag")).toBe('"v1"');
    expect(out.statusText).toBe("Fine");
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/: passed on without the token$/);
  });

  it("drops the shared caches' own headers from a rewritten playlist", async () => {
    const { out } = await run(
      origin(PLAYLIST, {
        "content-type": "application/vnd.apple.mpegurl",
        "CDN-Cache-Control": "max-age=600",
        "Surrogate-Control": "max-age=600",
      }),
    );
    expect(out.headers.get("cdn-cache-control")).toBeNull();
    expect(out.headers.get("surrogate-control")).toBeNull();
  });

  it("reads a playlist that comes in many chunks whole, in order", async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `#EXTINF:6,\nseg-${i}.ts\n`);
    const encoder = new TextEncoder();
    const chunks = ["#EXTM3U\n", ...lines].map((line) => encoder.encode(line));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const { text } = await run(new Response(body, { status: 200 }));
    expect(text).toBe(`#EXTM3U\n${lines.map((l) => l.replace(".ts\n", `.ts?${P}\n`)).join("")}`);
  });

  it("reads and rewrites a playlist of exactly the limit's size", async () => {
    const head = "#EXTM3U\n#EXTINF:6,\nseg-1.ts\n#";
    const playlist = head + "x".repeat(MANIFEST_MAX_BYTES - head.length - 1) + "\n";
    expect(playlist.length).toBe(MANIFEST_MAX_BYTES);
    const { said, text } = await run(
      origin(playlist, { "content-length": String(MANIFEST_MAX_BYTES) }),
    );
    expect(said).toEqual([]);
    expect(text).toBe(playlist.replace("seg-1.ts\n", `seg-1.ts?${P}\n`));
  });

  it("passes on a manifest stated over the limit without reading it", async () => {
    const response = origin(PLAYLIST, { "content-length": String(MANIFEST_MAX_BYTES + 1) });
    const { out, said } = await run(response);
    expect(out).toBe(response);
    expect(said).toEqual([
      `${MANIFEST_MAX_BYTES + 1} bytes, over ${MANIFEST_MAX_BYTES}: passed on without the token`,
    ]);
  });

  it("passes on, whole and unchanged, a manifest that grows over the limit as it is read", async () => {
    const chunk = new TextEncoder().encode("#EXTM3U\n" + "#".repeat(64 * 1024 - 9) + "\n");
    const count = Math.ceil(MANIFEST_MAX_BYTES / chunk.byteLength) + 3;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < count) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const { out, said, text } = await run(
      new Response(body, { status: 200, statusText: "Fine", headers: { etag: '"v1"' } }),
    );
    expect(out.status).toBe(200);
    expect(out.statusText).toBe("Fine");
    expect(out.headers.get("etag")).toBe('"v1"');
    expect(text!.length).toBe(count * chunk.byteLength);
    const read = Math.floor(MANIFEST_MAX_BYTES / chunk.byteLength) + 1;
    expect(said).toEqual([
      `${read * chunk.byteLength} bytes, over ${MANIFEST_MAX_BYTES}: passed on without the token`,
    ]);
  });

  it("cancels the origin's body when the client stops reading one it passes on", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x23);
    let cancelled: unknown = "not cancelled";
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(chunk);
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const said: string[] = [];
    const out = await propagated(new Response(body), "/v/index.m3u8", P, (why) => said.push(why));
    expect(said).toHaveLength(1);
    await out.body!.cancel("client gone");
    expect(cancelled).toBe("client gone");
  });
});
