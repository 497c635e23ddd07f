import { describe, expect, it } from "vitest";
import { manifestKind, propagateDash, propagateHls } from "../../src/core/manifest.js";

const P = "md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000";

describe("propagateHls", () => {
  it("appends the token to URI lines and to the URI attributes players fetch", () => {
    const master = [
      "#EXTM3U",
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8"',
      '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="iframes.m3u8"',
      '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="key.bin"',
      "#EXT-X-STREAM-INF:BANDWIDTH=800000",
      "720/index.m3u8",
      "#EXT-X-STREAM-INF:BANDWIDTH=400000",
      "https://other.example/360/index.m3u8",
      "",
    ].join("\r\n");
    expect(propagateHls(master, P)).toBe(
      [
        "#EXTM3U",
        `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8?${P}"`,
        `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="iframes.m3u8?${P}"`,
        `#EXT-X-SESSION-KEY:METHOD=AES-128,URI="key.bin?${P}"`,
        "#EXT-X-STREAM-INF:BANDWIDTH=800000",
        `720/index.m3u8?${P}`,
        "#EXT-X-STREAM-INF:BANDWIDTH=400000",
        "https://other.example/360/index.m3u8",
        "",
      ].join("\r\n"),
    );
  });

  it("handles media playlists: MAP, KEY, PART, PRELOAD-HINT, existing queries and fragments", () => {
    const media = [
      "#EXTM3U",
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k"',
      '#EXT-X-PART:DURATION=1,URI="part-1.m4s?x=1"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-2.m4s"',
      "#EXTINF:6,",
      "seg-1.ts#t=0",
      "#EXT-X-ENDLIST",
    ].join("\n");
    expect(propagateHls(media, P)).toBe(
      [
        "#EXTM3U",
        `#EXT-X-MAP:URI="init.mp4?${P}"`,
        '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k"',
        `#EXT-X-PART:DURATION=1,URI="part-1.m4s?x=1&${P}"`,
        `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-2.m4s?${P}"`,
        "#EXTINF:6,",
        `seg-1.ts?${P}#t=0`,
        "#EXT-X-ENDLIST",
      ].join("\n"),
    );
  });

  it("leaves comments and other tags alone", () => {
    const text = '#EXTM3U\n# URI="x.ts"\n#EXT-X-DATERANGE:ID="a",X-URI="y"\n';
    expect(propagateHls(text, P)).toBe(text);
  });
});

describe("propagateDash", () => {
  it("appends the token to media, initialization, sourceURL and BaseURL, as XML", () => {
    const mpd = [
      "<MPD>",
      "<BaseURL>video/</BaseURL>",
      '<BaseURL serviceLocation="b">https://cdn.example/video/</BaseURL>',
      '<SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" startNumber="1"/>',
      '<Initialization sourceURL="init-2.mp4?v=2"/>',
      "</MPD>",
    ].join("\n");
    const amp = P.replace("&", "&amp;");
    expect(propagateDash(mpd, P)).toBe(
      [
        "<MPD>",
        `<BaseURL>video/?${amp}</BaseURL>`,
        '<BaseURL serviceLocation="b">https://cdn.example/video/</BaseURL>',
        `<SegmentTemplate media="seg-$Number$.m4s?${amp}" initialization="init.mp4?${amp}" startNumber="1"/>`,
        `<Initialization sourceURL="init-2.mp4?v=2&amp;${amp}"/>`,
        "</MPD>",
      ].join("\n"),
    );
  });
});

describe("manifestKind", () => {
  it.each([
    ["/v/index.m3u8", undefined, "hls"],
    ["/v/index", "application/vnd.apple.mpegurl", "hls"],
    ["/v/index", "audio/mpegurl; charset=utf-8", "hls"],
    ["/v/manifest.MPD", undefined, "dash"],
    ["/v/manifest", "application/dash+xml", "dash"],
    ["/v/seg.ts", "video/mp2t", undefined],
  ])("%s (%s) is %s", (path, type, kind) => {
    expect(manifestKind(path, type)).toBe(kind);
  });
});
