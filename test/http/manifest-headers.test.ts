import { describe, expect, it } from "vitest";
import {
  isSharedCacheHeader,
  manifestHeaderEdit,
  manifestPlan,
  manifestRequestHeaders,
  privateCacheControl,
  rewritesManifest,
} from "../../src/http/manifest-headers.js";

describe("a manifest the gate rewrites is asked for whole", () => {
  it("is one named like a manifest, under a grant that carries a token on", () => {
    expect(rewritesManifest("md5=a&expires=1", "/videos/v/index.m3u8")).toBe(true);
    expect(rewritesManifest("md5=a&expires=1", "/videos/v/manifest.mpd")).toBe(true);
    expect(rewritesManifest("md5=a&expires=1", "/videos/v/seg-1.ts")).toBe(false);
    expect(rewritesManifest(undefined, "/videos/v/index.m3u8")).toBe(false);
    expect(rewritesManifest("", "/videos/v/index.m3u8")).toBe(false);
  });

  it("leaves out Range, If-Range, every condition and Accept-Encoding, asking for identity", () => {
    expect(
      manifestRequestHeaders([
        ["Range", "bytes=0-"],
        ["If-Range", '"v1"'],
        ["If-None-Match", 'W/"v1"'],
        ["If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"],
        ["If-Match", '"v1"'],
        ["If-Unmodified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"],
        ["Accept-Encoding", "gzip"],
        ["User-Agent", "Lavf/59"],
        ["x-forwarded-for", "203.0.113.7"],
      ]),
    ).toEqual([
      ["User-Agent", "Lavf/59"],
      ["x-forwarded-for", "203.0.113.7"],
      ["accept-encoding", "identity"],
    ]);
  });
});

// Issue 20, item 7: a rewritten manifest carries one viewer's token.
describe("a rewritten manifest's Cache-Control", () => {
  it.each([
    ["public, max-age=60", "private, max-age=60"],
    ["public, max-age=60, s-maxage=600", "private, max-age=60"],
    ["PUBLIC, Max-Age=60, S-MAXAGE=1, proxy-revalidate", "private, Max-Age=60"],
    ["max-age=5, must-revalidate", "private, max-age=5, must-revalidate"],
    ["private, max-age=5", "private, max-age=5"],
    ['private="Set-Cookie", max-age=5', "private, max-age=5"],
    ["no-store", "private, no-store"],
    ['no-cache="Set-Cookie, X-Y", public', 'private, no-cache="Set-Cookie, X-Y"'],
    [" , public,, max-age=1 ", "private, max-age=1"],
    ["max-age=60, S-Maxage =600", "private, max-age=60"],
    // A comma inside a quoted value, after an escaped quote too, does not end the directive.
    ['no-cache="x,s-maxage=1", max-age=1', 'private, no-cache="x,s-maxage=1", max-age=1'],
    ['no-cache="a\\",s-maxage=1", max-age=1', 'private, no-cache="a\\",s-maxage=1", max-age=1'],
    // An unterminated quote runs to the end, where the directive still ends.
    ['max-age=5, no-cache="x, public', 'private, max-age=5, no-cache="x, public'],
  ])("%j → %j", (origin, expected) => {
    expect(privateCacheControl(origin)).toBe(expected);
  });

  it("is private when the origin said nothing (a shared cache may keep such an answer by heuristic)", () => {
    expect(privateCacheControl(undefined)).toBe("private");
  });
});

describe("the headers shared caches read instead of Cache-Control", () => {
  it("are the listed ones and any *-CDN-Cache-Control, in any case", () => {
    for (const name of [
      "Vercel-CDN-Cache-Control",
      "netlify-cdn-cache-control",
      "Acme-Cdn-Cache-Control",
      "Surrogate-Control",
      "CDN-Cache-Control",
    ]) {
      expect([name, isSharedCacheHeader(name)]).toEqual([name, true]);
    }
    for (const name of [
      "Cache-Control",
      "-cdn-cache-control",
      "X-CDN-Cache-Controls",
      "Content-Type",
    ]) {
      expect([name, isSharedCacheHeader(name)]).toEqual([name, false]);
    }
  });
});

describe("manifestPlan(): the one answer to whether a grant's answer is rewritten", () => {
  const HLS = "application/vnd.apple.mpegurl";
  it.each([
    [200, "/v/index.m3u8", undefined, undefined, { kind: "hls" }],
    [200, "/v/manifest.mpd", undefined, "identity", { kind: "dash" }],
    [200, "/v/playlist", HLS, " Identity ", { kind: "hls" }],
    [200, "/v/seg-1.ts", "video/mp2t", undefined, undefined],
    [206, "/v/index.m3u8", HLS, undefined, undefined],
    [304, "/v/index.m3u8", HLS, undefined, undefined],
    [404, "/v/index.m3u8", HLS, undefined, undefined],
    [
      200,
      "/v/index.m3u8",
      HLS,
      "GZIP",
      { unchanged: "Content-Encoding gzip: passed on without the token" },
    ],
  ] as const)("%i %s (%s, %s): %j", (status, path, type, coding, plan) => {
    expect(manifestPlan(status, path, type, coding)).toEqual(plan);
  });
});

describe("manifestHeaderEdit(): the one rule for a rewritten manifest's headers", () => {
  it("drops the length and the shared caches' headers, weakens the ETag, makes it private", () => {
    expect(
      manifestHeaderEdit(
        ["Content-Type", "ETag", "CDN-Cache-Control", "Surrogate-Control", "Cache-Control"],
        '"v1"',
        "public, s-maxage=600, max-age=60",
      ),
    ).toEqual({
      drop: ["content-length", "CDN-Cache-Control", "Surrogate-Control"],
      set: [
        ["etag", 'W/"v1"'],
        ["cache-control", "private, max-age=60"],
      ],
    });
  });

  it("leaves a weak ETag and gives a private Cache-Control where there was none", () => {
    expect(manifestHeaderEdit([], 'W/"v1"', undefined)).toEqual({
      drop: ["content-length"],
      set: [["cache-control", "private"]],
    });
  });
});
