/**
 * Manifest edges the generated cases of manifest.test.ts did not reach under mutation testing
 * (Stryker found these lines run by no test), each held to the pattern-based rewrite it
 * replaced (manifest-reference.ts) and to the answer spelled out.
 */
import { describe, expect, it } from "vitest";
import { propagateDash, propagateHls, propagateManifest } from "../../src/core/manifest.js";
import * as reference from "./manifest-reference.js";

const P = "md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000";

describe("propagateManifest()", () => {
  it("passes bytes that are not UTF-8 unchanged, saying so, for either kind", () => {
    const bytes = new Uint8Array([0x23, 0x45, 0xff, 0x0a]);
    expect(propagateManifest(bytes, "hls", P)).toEqual({ unchanged: "not UTF-8" });
    expect(propagateManifest(bytes, "dash", P)).toEqual({ unchanged: "not UTF-8" });
  });
});

describe("propagateHls() on a URI attribute whose quote does not close", () => {
  it.each([
    // Read as the attribute list was read before: up to the comma or the line's end, the last
    // character lost, and rewritten as a quoted string.
    ['#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="key.bin\nseg.ts\n', 'URI="key.bi?' + P + '"'],
    [
      '#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="key.bin,IV=0x1\nseg.ts\n',
      'URI="key.bi?' + P + '",IV',
    ],
    ['#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="\nseg.ts\n', 'URI=""'],
    ['#EXTM3U\n#EXT-X-MAP:URI="//evil.example/i.mp4\nseg.ts\n', 'URI="//evil.example/i.mp"'],
  ])("%j", (text, written) => {
    const ours = propagateHls(text, P);
    expect(ours).toEqual(reference.propagateHls(text, P));
    expect("text" in ours && ours.text).toContain(written);
  });

  it("rewrites a SERVER-URI-sized attribute other than SERVER-URI as it is", () => {
    const text =
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",PATHWAY-ID="x",URI="en.m3u8"\nseg.ts\n';
    const ours = propagateHls(text, P);
    expect(ours).toEqual(reference.propagateHls(text, P));
    expect("text" in ours && ours.text).toContain(`PATHWAY-ID="x",URI="en.m3u8?${P}"`);
  });
});

describe("propagateDash()", () => {
  it.each([
    // A quoted `>` inside a BaseURL start tag does not end it.
    '<MPD><BaseURL title="a>b">v/</BaseURL><SegmentTemplate media="s.m4s"/></MPD>',
    "<MPD><BaseURL title='a>b'>v/</BaseURL><SegmentTemplate media=\"s.m4s\"/></MPD>",
    '<MPD><BaseURL title="a" x="b>">v/</BaseURL><SegmentTemplate media="s.m4s"/></MPD>',
    // A letter lowercased into two (U+0130) beside a `b` that starts no BaseURL.
    '<MPD id="İ"><BaseURL>v/</BaseURL><S b="1" media="s.m4s"/></MPD>',
    '<MPD id="İ"><Period><SegmentTemplate media="s.m4s" bandwidth="1"/></Period></MPD>',
  ])("%j as the pattern-based rewrite did", (text) => {
    const ours = propagateDash(text, P);
    expect(ours).toEqual(reference.propagateDash(text, P));
    expect(ours).toHaveProperty("text");
  });
});
