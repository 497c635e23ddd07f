/**
 * Manifest edges the generated cases of manifest.test.ts did not reach under mutation testing
 * (Stryker found these lines run by no test), each held to the pattern-based rewrite it
 * replaced (manifest-reference.ts) and to the answer spelled out.
 */
import { describe, expect, it } from "vitest";
import {
  dashUrlAttributes,
  manifestKind,
  MANIFEST_MAX_BYTES,
  MANIFEST_MAX_OUTPUT_BYTES,
  nextBaseUrl,
  plainIds,
  propagateDash,
  propagateHls,
  propagateManifest,
} from "../../src/core/manifest.js";
import * as reference from "./manifest-reference.js";

const P = "md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000";

describe("propagateManifest()", () => {
  it("passes bytes that are not UTF-8 unchanged, saying so, for either kind", () => {
    const bytes = new Uint8Array([0x23, 0x45, 0xff, 0x0a]);
    expect(propagateManifest(bytes, "hls", P)).toEqual({ unchanged: "not UTF-8" });
    expect(propagateManifest(bytes, "dash", P)).toEqual({ unchanged: "not UTF-8" });
  });

  // Whoever holds it: the Node cache rewrote a kept manifest of any size on every hit.
  it("rewrites a manifest of MANIFEST_MAX_BYTES and passes one byte more unchanged", () => {
    const head = "#EXTM3U\n#EXTINF:6,\nseg.ts\n# ";
    const at = new TextEncoder().encode(
      head + "x".repeat(MANIFEST_MAX_BYTES - head.length - 1) + "\n",
    );
    expect(at.length).toBe(MANIFEST_MAX_BYTES);
    const rewritten = propagateManifest(at, "hls", P);
    expect(
      "text" in rewritten && rewritten.text.startsWith(`#EXTM3U\n#EXTINF:6,\nseg.ts?${P}\n`),
    ).toBe(true);
    const over = new Uint8Array(MANIFEST_MAX_BYTES + 1);
    over.set(at);
    over[MANIFEST_MAX_BYTES] = 0x0a;
    for (const kind of ["hls", "dash"] as const) {
      expect(propagateManifest(over, kind, P)).toEqual({
        unchanged: `${MANIFEST_MAX_BYTES + 1} bytes, over ${MANIFEST_MAX_BYTES}`,
      });
    }
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

// Inputs on which mutants of manifest.ts that every other test let live (Stryker, 2026-12-07)
// answer otherwise than the code: found by running each mutant beside the code over generated
// manifests, kept here held to the pattern-based rewrite (and the DASH scanners to the patterns
// they replace), so each mutant now fails.
describe("manifests that tell the rewrite's mutants from it", () => {
  it.each([
    '#EXT-X-#EXT-X-MAP:SERVER-URI="s"{$v}#=#-=URI="a.ts",URI="b.ts"',
    '\u0000@=\r\n#EXT-X-MAPX:URI="a.ts"\r\n',
    "\tURX=\u00e9\u0085-=",
    '#EXT-X-KEYS:SERVER-URI="s"[=@=\u000b',
    ' #EXT-X-MEDIA:URI="a.ts"',
    '\f#EXTM3U\f#EXT-X-SESSION-KEY:URI="a.ts",URI="b.ts"{$v}',
    ' #EXT-X-KEYS:URI="a.ts",URI="b.ts"\u00a0URI="a.ts",URI="b.ts"\\a.tsZ=1,#EXT-X-SESSION-KEY:',
    '#EXT-X-I-FRAME-STREAM-INF:URI=" #EXT-X-MEDIA:uri=\t#EXT-X-PART:\u00e9',
    '\t#EXT-X-PART:[=`="#EXT-X-MAP:URI="a.ts",URI="b.ts"\\',
    '`=?x=1\n#EXT-X-I-FRAME-STREAM-INF:Z=1,URI="a.ts",URI="b.ts"',
    '#EXT-X-SESSION-DATA:0=URI="a.ts",URI="b.ts"',
    '#EXT-X-KEY:/=URI="a.ts",URI="b.ts"=',
    '\n #EXT-X-MEDIA:A9=URI="a.ts",URI="b.ts"#EXT-X-SESSION-KEY:[=\ufeff-=a.ts#EXTINF:6,#EXT-X-MAP:#EXT-X-SESSION-DATA:\f',
    '#EXT-X-MAP:X0=\n #EXT-X-MEDIA:= \u00e9URI="a.ts",URI="b.ts"\r\n,',
    '#EXT-X-MAP:SERVER-URI="s"\ufeff0= 0=\u00a0',
    ' #EXT-X-MEDIA:URI="a.ts",URI="b.ts"=',
    ' #EXT-X-MEDIA:URI="a.ts"#EXT-X-KEY:"0=#EXT-X-SESSION-KEY://hURI="a.ts",URI="b.ts"uri=uri="\u0001#',
    "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n,",
    '#EXT-X-KEY:URI="#EXT-X-MAP:[=1,',
    ' #EXT-X-MEDIA:X/=1,URI="a.tsa"',
    '#EXT-X-SESSION-DATA:URIX="a"\u0000{=',
    '#EXT-X-I-FRAME-STREAM-INF:ABC="a"',
    '#EXT-X-SESSION-KEY:SERVER-URIX="a"',
    '#EXT-X-KEY:URI="a.ts\r\nb.ts\n',
    '#XXXXXXKEY:URI="a.ts"\n',
    ' #XXXXXXKEY:URI="a.ts"\n',
    "\u000bStryker was here!\n",
    '#EXT-X-KEY:URI="#x"\n',
    "#EXTM3U\nundefined.ts\n",
  ])("HLS %j as the pattern-based rewrite did", (text) => {
    expect(propagateHls(text, P)).toEqual(reference.propagateHls(text, P));
  });

  it.each([
    " id= <S/>@&lt;<a:b:BaseURL>z<_a:BaseURL>&quot;</_a:BaseURL><S/>",
    "&gt;\"r-1\"<<Sr_1<d:BaseURL>//h<Z9.-:BaseURL><BaseURL>A id= 'r/1'r/1$RepresentationID%05d$Ahttp:",
    "&am;<S/>&quot;BASEURLz&am; id='&quot;r_1$RepresentationID$'r/1'&#58;",
    "<Z9.-:BaseURL>ra</Z9.-:BaseURL>>",
    "r/1 id=<Z9.-:BaseURL> id=",
    "</_a:BaseURL>",
    "$RepresentationID$<_a:BaseURL>r-1",
    "\u00a0 id='r/1'",
    "<S<MPD>\tid ='r/1'\tmedia=\"&quot;",
    "{  id= \t'<BaseURL/>'r/1'",
    "<MPD><S media=\"a.m4s\"/> id=<BaseURL 'r/1'&am; '\u00a0?>?<a:b:BaseURL>\"</MPD>",
    '<MPD><S media="a.m4s"/>&apos;&amp;&amp;\u2003</BaseURL>v/`rZ<BaseURL "<d:BaseURL>0<MPD>\'<S media="a.m4s"/>?></MPD>',
    '<MPD><S media="a.m4s"/>"><!----><BaseURL/>$RepresentationID$</MPD>',
    "<S{BaseURLBaseURL<_a:BaseURL>&</_a:BaseURL>",
    " media='Aa'<BaseURL>\u00a0//h/</BaseURL>",
    ' media="\u00a0//h"',
    "<Ax:BaseURL>",
    "</Z:BaseURL><ax:BaseURL>id=",
    "<z:BaseURL>",
    "\"' id='0'",
    " id='A'<x~:BaseURL>\u00a0",
    ' id="`"',
    "<x~:BaseURL>",
    ' id="z"',
    "<MPD><S media=\"a.m4s\"/>\u0130<1:BaseURL># id='_'a&amp;b</MPD>",
    "<MPD><BaseURL>//h&amp;/</BaseURL></MPD>",
    '<MPD><S media="//h/a&amp;b"/></MPD>',
    'BaseURL\u0130<S b="1" media="a.m4s"/>',
    '<!--<BaseURL>//h/</BaseURL>--><?x?><S media="a.m4s"/>',
    'baseurl\u0130<S media="a.m4s"/>',
    // Found by the property tests only now and then (a kill that came and went between runs).
    '<MPD><S media="a.m4s"/>\u0130baseurl$RepresentationID$<BaseURL/>></MPD>',
    " media='<BaseURL/><1:BaseURL>\u0130<S",
    "r/1id='\t'\t'\n",
    "\nid\"\n'\nr-1'",
  ])("DASH %j as the pattern-based rewrite and scanners did", (text) => {
    expect(propagateDash(text, P)).toEqual(reference.propagateDash(text, P));
    expect(dashUrlAttributes(text)).toEqual(reference.dashUrlAttributes(text));
    const ids = /\sid\s*=\s*("([^"]*)"|'([^']*)')/g;
    const plain = [...text.matchAll(ids)].every((m) =>
      /^[A-Za-z0-9._-]*$/.test(m[2] ?? m[3] ?? ""),
    );
    expect(plainIds(text)).toBe(plain);
    expect(reference.scannedBaseUrlNames(text, nextBaseUrl)).toEqual(reference.baseUrlNames(text));
  });

  it.each([
    ["x", " audio/mpegurl ", "hls"],
    ["x", "Application/X-MpegURL; charset=utf-8", "hls"],
    ["x", "APPLICATION/DASH+XML ; a", "dash"],
    ["a.m3u8x", undefined, undefined],
    ["a.mpdx", undefined, undefined],
    ["a.M3U8", undefined, "hls"],
    ["a.MPD", "text/plain", "dash"],
  ] as const)("manifestKind(%j, %j) is %j", (path, type, kind) => {
    expect(manifestKind(path, type)).toBe(kind);
    expect(reference.manifestKind(path, type)).toBe(kind);
  });
});

// The output bound, to the byte: a manifest whose rewrite would be a few bytes under or over
// MANIFEST_MAX_OUTPUT_BYTES, rewritten or passed unchanged as the pattern-based rewrite did.
// Both outcomes must occur for each shape, or the bound was not where the test looked.
describe("the rewrite's output bound, to the byte", () => {
  const MAX = MANIFEST_MAX_OUTPUT_BYTES;
  const outcomes = (results: { text?: string; unchanged?: string }[]) =>
    new Set(results.map((result) => ("text" in result ? "rewritten" : "unchanged")));

  it.each([
    "a.ts",
    '#EXT-X-KEY:URI="a.ts",URI="b.ts"',
    '#EXT-X-KEY:URI="a.ts",URI="b.ts"\n',
    '#EXT-X-MAP:URI="a.ts\n',
  ])("HLS ending %j", (tail) => {
    const small = reference.propagateHls(`#\n${tail}`, P);
    const grown = ("text" in small ? small.text.length : 0) - 2;
    const results = [];
    for (let d = -2; d <= 2; d++) {
      const text = `#${"x".repeat(MAX + d - grown - 2)}\n${tail}`;
      const ours = propagateHls(text, P);
      expect(ours, `${d}`).toEqual(reference.propagateHls(text, P));
      results.push(ours);
    }
    expect(outcomes(results)).toEqual(new Set(["rewritten", "unchanged"]));
  });

  it("HLS: a line of two URI attributes whose first rewrite reaches the bound exactly", () => {
    const tail = '#EXT-X-KEY:URI="a.ts",URI="b.ts"';
    // Counted with the last line's line feed: the first URI's token takes it to the bound,
    // the second over it.
    const text = `#${"x".repeat(MAX - 1 - (1 + P.length) - (2 + tail.length))}\n${tail}`;
    const ours = propagateHls(text, P);
    expect(ours).toEqual(reference.propagateHls(text, P));
    expect(ours).toHaveProperty("unchanged");
  });

  it.each([
    ["", '<S media="a.m4s"/>'],
    ['<S media="a.m4s"/>', ""],
    ['<S media="a.m4s"/>', '<S media="b.m4s"/>'],
  ])("DASH with %j before the filler and %j after", (head, tail) => {
    const plain = `<MPD>${head}<!---->${tail}</MPD>`;
    const small = reference.propagateDash(plain, P);
    const grown = ("text" in small ? small.text.length : plain.length) - plain.length;
    const results = [];
    for (let d = -2; d <= 2; d++) {
      const text = `<MPD>${head}<!--${"x".repeat(MAX + d - plain.length - grown)}-->${tail}</MPD>`;
      const ours = propagateDash(text, P);
      expect(ours, `${d}`).toEqual(reference.propagateDash(text, P));
      results.push(ours);
    }
    expect(outcomes(results)).toEqual(new Set(["rewritten", "unchanged"]));
  });
});
