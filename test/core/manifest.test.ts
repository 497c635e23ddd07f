import { runs, sized } from "../helpers/runs.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  dashUrlAttributes,
  nextBaseUrl,
  plainIds,
  reachesGate,
  space,
  MANIFEST_MAX_BYTES,
  MANIFEST_MAX_OUTPUT_BYTES,
  manifestKind,
  manifestText,
  propagateDash,
  propagateHls,
} from "../../src/core/manifest.js";
import * as reference from "./manifest-reference.js";

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
    expect(propagateHls(master, P)).toEqual({
      text: [
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
    });
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
    expect(propagateHls(media, P)).toEqual({
      text: [
        "#EXTM3U",
        `#EXT-X-MAP:URI="init.mp4?${P}"`,
        '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k"',
        `#EXT-X-PART:DURATION=1,URI="part-1.m4s?x=1&${P}"`,
        `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-2.m4s?${P}"`,
        "#EXTINF:6,",
        `seg-1.ts?${P}#t=0`,
        "#EXT-X-ENDLIST",
      ].join("\n"),
    });
  });

  it("leaves comments and other tags alone", () => {
    const text = '#EXTM3U\n# URI="x.ts"\n#EXT-X-DATERANGE:ID="a",X-URI="y"\n';
    expect(propagateHls(text, P)).toEqual({ text });
  });
});

describe("propagateDash", () => {
  const amp = P.replace("&", "&amp;");
  it("appends the token to media, initialization, sourceURL and BaseURL, as XML, either quote", () => {
    const mpd = [
      "<MPD>",
      "<BaseURL>video/</BaseURL>",
      '<SegmentTemplate media="seg-$Number$.m4s" initialization=\'init.mp4\' startNumber="1"/>',
      '<Initialization sourceURL="init-2.mp4?v=2"/>',
      "</MPD>",
    ].join("\n");
    expect(propagateDash(mpd, P)).toEqual({
      text: [
        "<MPD>",
        `<BaseURL>video/?${amp}</BaseURL>`,
        `<SegmentTemplate media="seg-$Number$.m4s?${amp}" initialization='init.mp4?${amp}' startNumber="1"/>`,
        `<Initialization sourceURL="init-2.mp4?v=2&amp;${amp}"/>`,
        "</MPD>",
      ].join("\n"),
    });
  });

  // Outside attack: a multi-CDN manifest's relative URLs resolve under its absolute BaseURL, so
  // dash.js fetched the other host's init.mp4 with the viewer's token.
  it("passes a manifest with a BaseURL to another host unchanged", () => {
    for (const base of [
      "https://cdn.example/video/",
      "//cdn.example/video/",
      "/\\cdn.example/video/",
      "http&#58;//cdn.example/",
    ]) {
      const mpd = `<MPD><BaseURL>${base}</BaseURL><SegmentTemplate media="seg.m4s"/></MPD>`;
      expect(propagateDash(mpd, P)).toHaveProperty("unchanged");
    }
  });

  // Outside attack: a steering server (any host) answers with pathway clones that re-host every
  // BaseURL (dash.js 5), token and all.
  it.each([
    '<MPD><ContentSteering defaultServiceLocation="a">https://steer.example/s.json</ContentSteering><BaseURL serviceLocation="a">./</BaseURL><SegmentTemplate media="seg.m4s"/></MPD>',
    '<MPD><dash:ContentSteering>https://steer.example/s.json</dash:ContentSteering><SegmentTemplate media="seg.m4s"/></MPD>',
    '<MPD><contentsteering>https://steer.example/s.json</contentsteering><SegmentTemplate media="seg.m4s"/></MPD>',
    '<MPD><BaseURL serviceLocation="b">./</BaseURL><SegmentTemplate media="seg.m4s"/></MPD>',
  ])("passes a manifest with content steering %j unchanged", (mpd) => {
    expect(propagateDash(mpd, P)).toEqual({ unchanged: expect.stringMatching(/steering/) });
  });

  it("leaves alone a URL that a browser resolves to another host, or one with a character reference", () => {
    for (const url of [
      "/\\evil.example/i.mp4",
      "/\t/evil.example/i.mp4",
      "//evil.example/i.mp4",
      "http&#58;//evil/",
      "ht\ttps://evil/",
    ]) {
      const mpd = `<MPD><SegmentTemplate initialization="${url}" media="ok.m4s"/></MPD>`;
      expect(propagateDash(mpd, P)).toEqual({
        text: `<MPD><SegmentTemplate initialization="${url}" media="ok.m4s?${amp}"/></MPD>`,
      });
    }
  });

  // Second outside attack: a comment inside BaseURL, a `>` in an attribute value and a
  // namespace prefix each hid an absolute BaseURL, and dash.js sent the token there.
  it.each([
    "<MPD><BaseURL><!-- c -->http://evil.example/</BaseURL><SegmentTemplate media='s.m4s'/></MPD>",
    '<MPD><BaseURL serviceLocation="a>b">http://evil.example/</BaseURL><SegmentTemplate media="s.m4s"/></MPD>',
    '<d:MPD xmlns:d="urn:mpeg:dash:schema:mpd:2011"><d:BaseURL>http://evil.example/</d:BaseURL><d:SegmentTemplate media="s.m4s"/></d:MPD>',
    "<MPD><BaseURL><![CDATA[http://evil.example/]]></BaseURL><SegmentTemplate media='s.m4s'/></MPD>",
    '<MPD><BaseURL a="never closed>http://evil.example/</BaseURL></MPD>',
    "<MPD><!-- never closed <BaseURL>x/</BaseURL></MPD>",
  ])("passes %j unchanged", (mpd) => {
    expect(propagateDash(mpd, P)).toHaveProperty("unchanged");
  });

  // Third outside attack: shapes dash.js's parser reads differently from this one.
  it.each([
    '<MPD><Representation id="//evil.example/r"><SegmentTemplate media="$RepresentationID$/s-$Number$.m4s"/></Representation></MPD>',
    "<MPD><BaseURL=>http://evil.example/</BaseURL><SegmentTemplate media='s.m4s'/></MPD>",
    "<MPD><?x > <BaseURL>http://evil.example/</BaseURL> ?><SegmentTemplate media='s.m4s'/></MPD>",
    "<MPD><!--> <BaseURL>http://evil.example/</BaseURL> <!-- --><SegmentTemplate media='s.m4s'/></MPD>",
    "<MPD><a+b:BaseURL>http://evil.example/</a+b:BaseURL><SegmentTemplate media='s.m4s'/></MPD>",
    "<MPD><baseurl>http://evil.example/</baseurl><SegmentTemplate media='s.m4s'/></MPD>",
  ])("passes %j unchanged (a player may read a BaseURL or id this cannot vouch for)", (mpd) => {
    expect(propagateDash(mpd, P)).toHaveProperty("unchanged");
  });

  it("still rewrites with safe Representation ids and a self-closing BaseURL", () => {
    const mpd =
      '<MPD><BaseURL/><Representation id="video-1"><SegmentTemplate media="$RepresentationID$/s.m4s"/></Representation></MPD>';
    expect(propagateDash(mpd, P)).toEqual({
      text: `<MPD><BaseURL/><Representation id="video-1"><SegmentTemplate media="$RepresentationID$/s.m4s?${amp}"/></Representation></MPD>`,
    });
  });

  it("rewrites around comments, and keeps a BaseURL's whitespace outside the URL", () => {
    const mpd =
      '<!-- packager: media="x.m4s" --><MPD><BaseURL>\n  video/\n</BaseURL><SegmentTemplate media="s.m4s"/></MPD>';
    expect(propagateDash(mpd, P)).toEqual({
      text: `<!-- packager: media="x.m4s" --><MPD><BaseURL>\n  video/?${amp}\n</BaseURL><SegmentTemplate media="s.m4s?${amp}"/></MPD>`,
    });
  });

  // Outside attack: `<BaseURL ` without a `>` made the old pattern rescan the rest of the text
  // from each one: 1 MiB of them held either runtime for 90 s. Now one pass (a hang detector:
  // this test's own time limit, not a speed figure).
  it("reads a manifest of unclosed BaseURL tags, or unclosed attributes, in one pass (1 MiB; 64 KiB under mutation testing)", () => {
    // Under mutation testing each mutant reruns this: a sixteenth of the size still ends an
    // endless loop at Stryker's hit limit, and the test's own limit stays the hang detector.
    const size = sized(MANIFEST_MAX_BYTES, MANIFEST_MAX_BYTES / 16);
    // A BaseURL that does not end cannot be vouched for: passed unchanged, with why.
    expect(propagateDash("<BaseURL ".repeat(size / 9), P)).toEqual({
      unchanged: "a BaseURL start tag does not end",
    });
    expect(propagateDash("<BaseURL>".repeat(size / 9), P)).toEqual({
      unchanged: "a BaseURL element does not end",
    });
    // Quoted media values: one per pair of quotes (the text between one quote and the next).
    // Each gets the token and nothing else moves, unless the rewrite would pass the output
    // limit: then the manifest is passed unchanged, saying so.
    const amp = P.replace("&", "&amp;");
    for (const bytes of [size, size / 4]) {
      for (const text of [' media="'.repeat(bytes / 8), " media='x".repeat(bytes / 9)]) {
        const values = Math.floor((text.split(/["']/).length - 1) / 2);
        const result = propagateDash(text, P);
        if (text.length + values * (amp.length + 1) > MANIFEST_MAX_OUTPUT_BYTES) {
          expect(result).toEqual({
            unchanged: `rewritten, it would be over ${MANIFEST_MAX_OUTPUT_BYTES} bytes`,
          });
          continue;
        }
        expect("text" in result).toBe(true);
        if (!("text" in result)) continue;
        expect(result.text.split(`?${amp}`).length).toBe(values + 1);
        expect(result.text.split(`?${amp}`).join("") === text).toBe(true);
      }
    }
  }, 10_000);
});

describe("propagateHls against hostile playlists (outside attack)", () => {
  // Third outside attack: hls.js and ffmpeg end a line at a lone CR (hls.js also at U+2028),
  // so a tag line hid a URI line that went to another host with the token.
  // Outside attack: hls.js follows a steering server's pathway clones, which re-host every
  // variant URI, token and all.
  it.each([
    '#EXTM3U\n#EXT-X-CONTENT-STEERING:SERVER-URI="https://steer.example/s.json",PATHWAY-ID="a"\n#EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID="a"\n720.m3u8\n',
    '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720.m3u8\n#EXT-X-CONTENT-STEERING:SERVER-URI="s.json"\n',
    '#EXTM3U\n  #ext-x-content-steering:SERVER-URI="https://steer.example/s.json"\n720.m3u8\n',
  ])("passes a playlist with content steering %j unchanged", (text) => {
    expect(propagateHls(text, P)).toEqual({ unchanged: expect.stringMatching(/steering/) });
  });

  it.each(["\r", "\u2028", "\u2029", "\u0085"])(
    "passes a playlist with a line break %j unchanged",
    (brk) => {
      const text = `#EXTM3U\n#EXT-X-KEY:METHOD=NONE${brk}//evil.example/x.ts?a=,URI="k.bin"\nseg.ts\n`;
      expect(propagateHls(text, P)).toHaveProperty("unchanged");
    },
  );

  it("writes a URI line's $& and $' as they are (the old code expanded them into //host)", () => {
    const text = "#EXTM3U\n/$&@127.0.0.1:18791/dollar.ts\n";
    expect(propagateHls(text, P)).toEqual({
      text: `#EXTM3U\n/$&@127.0.0.1:18791/dollar.ts?${P}\n`,
    });
  });

  it.each([
    "//evil.example/x.ts",
    "/\\evil.example/x.ts",
    "\\\\evil.example/x.ts",
    "/\t/evil.example/x.ts",
    "ht\ttps://evil.example/x.ts",
    "\x01https://evil.example/x.ts",
    "{$h}/define.ts",
    "data:text/plain,x",
    // hls.js reads `1:` as a scheme and resolves the rest against the player's page.
    "1://evil.example/seg-1.ts",
    "a_b://evil.example/seg-1.ts",
  ])("leaves %j alone: a player fetches it from elsewhere", (uri) => {
    const text = `#EXTM3U\n#EXTINF:6,\n${uri}\n#EXT-X-MAP:URI="${uri}"\n`;
    expect(propagateHls(text, P)).toEqual({ text });
  });

  it("reads URI attributes as an attribute list, in every tag that names a fetched resource", () => {
    const text = [
      '#EXT-X-MEDIA:TYPE=AUDIO,NAME="URI=",URI="a.m3u8"',
      '#EXT-X-SESSION-DATA:DATA-ID="x",URI="data.json"',
      '#EXT-X-RENDITION-REPORT:URI="../720/index.m3u8",LAST-MSN=1',
    ].join("\n");
    expect(propagateHls(text, P)).toEqual({
      text: [
        `#EXT-X-MEDIA:TYPE=AUDIO,NAME="URI=",URI="a.m3u8?${P}"`,
        `#EXT-X-SESSION-DATA:DATA-ID="x",URI="data.json?${P}"`,
        `#EXT-X-RENDITION-REPORT:URI="../720/index.m3u8?${P}",LAST-MSN=1`,
      ].join("\n"),
    });
  });

  // Outside attack: 1 MiB of one-letter lines came out as 24 MiB.
  it("passes a playlist unchanged when the rewrite would be over the output bound", () => {
    const text = "a\n".repeat(MANIFEST_MAX_BYTES / 2);
    expect(propagateHls(text, P)).toEqual({
      unchanged: `rewritten, it would be over ${MANIFEST_MAX_OUTPUT_BYTES} bytes`,
    });
    expect(propagateDash(' media="a"'.repeat(MANIFEST_MAX_BYTES / 10), P)).toHaveProperty(
      "unchanged",
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

describe("manifestText", () => {
  it("keeps a byte-order mark (the Worker used to drop it, Node kept it)", () => {
    expect(manifestText(new Uint8Array([0xef, 0xbb, 0xbf, 0x23]))).toBe("\ufeff#");
  });
  it("refuses bytes that are not UTF-8, so the manifest passes unchanged", () => {
    expect(manifestText(new Uint8Array([0x23, 0xe7, 0x0a]))).toBeUndefined();
  });
});

describe("reachesGate, read without URL (njs has none)", () => {
  const base = "http://tokengate.invalid/videos/v-1/index.m3u8";
  /** What the WHATWG parser (browsers, hls.js, dash.js) says: does `uri` stay on the base's host? */
  const whatwg = (uri: string) => {
    try {
      return new URL(uri, base).origin === "http://tokengate.invalid";
    } catch {
      return false;
    }
  };
  // The pieces references are made of where players and the parser disagree.
  const piece = fc.constantFrom(
    "/",
    "\\",
    "//",
    "\\\\",
    ":",
    "?",
    "#",
    "@",
    ".",
    "..",
    "%2f",
    "%5c",
    "a",
    "1",
    "seg.ts",
    "evil.example",
    "\t",
    "\n",
    "\r",
    " ",
    "\u0000",
    "\u001f",
    "{$v}",
    "http:",
    "HTTP:",
    "x+y:",
  );

  it("agrees with new URL(uri, base) on every generated reference it does not refuse outright", () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }).map((parts) => parts.join("")),
        (uri) => {
          const ours = reachesGate(uri);
          // Ours refuses more, never less: any colon before the first / ? # (a scheme to some
          // player), a {$variable}, and the gate's own made-up host written out.
          if (ours) expect(whatwg(uri), JSON.stringify(uri)).toBe(true);
          const refusedOnPurpose =
            /^[^/?#]*:/.test(uri.replace(/[\t\n\r]/g, "")) || uri.includes("{$");
          if (!refusedOnPurpose) expect(ours, JSON.stringify(uri)).toBe(whatwg(uri));
        },
      ),
      { numRuns: runs(20_000) },
    );
  });
});

describe("propagateHls' shortcut for a URI line with nothing to trim", () => {
  it("rewrites it as the full reading does (a leading space takes the full reading)", () => {
    const piece = fc.constantFrom(
      "seg",
      "/",
      "\\",
      "?",
      "&",
      "#",
      ":",
      "a.ts",
      "%2f",
      "{$v}",
      "x=1",
      "\u00a0",
      "é",
      " ",
      "//h",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("")),
        (uri) => {
          const short = propagateHls(`#EXTM3U\n${uri}\n`, P);
          const full = propagateHls(`#EXTM3U\n ${uri}\n`, P);
          const unspaced = "text" in full ? { text: full.text.replace("\n ", "\n") } : full;
          expect(short, JSON.stringify(uri)).toEqual(unspaced);
        },
      ),
      { numRuns: runs(20_000) },
    );
  });
});

describe("dashUrlAttributes, found without a global pattern (njs runs one in quadratic time)", () => {
  it("finds what the pattern finds, for every text", () => {
    const piece = fc.constantFrom(
      " ",
      "\t",
      "\u00a0",
      "x",
      "media=",
      "initialization=",
      "sourceURL=",
      '"',
      "'",
      "a.m4s",
      "<S ",
      "/>",
      "=",
      "\n",
    );
    const pattern = /(\s(?:media|initialization|sourceURL)=)("([^"]*)"|'([^']*)')/g;
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 14 }).map((parts) => parts.join("")),
        (text) => {
          const expected = [...text.matchAll(pattern)].map((m) => ({
            at: m.index + m[1]!.length + 1,
            url: m[3] ?? m[4] ?? "",
          }));
          expect(dashUrlAttributes(text), JSON.stringify(text)).toEqual(expected);
        },
      ),
      { numRuns: runs(30_000) },
    );
  });
});

// Outside attack: a line of 110,000 URI attributes held an nginx worker for 152 s and 24 GB. The
// rewrite is now linear (indexOf scans, the output joined once); what it writes is what the
// rewrite that used global patterns wrote, byte for byte, on every generated manifest.
describe("the linear rewrite, held to the one it replaced", () => {
  const manifest = (pieces: string[], maxLength: number) =>
    fc.array(fc.constantFrom(...pieces), { maxLength }).map((parts) => parts.join(""));

  it("rewrites every generated HLS playlist as the pattern-based rewrite did", () => {
    const pieces = [
      "#EXTM3U",
      "\n",
      "\n",
      "\r\n",
      "#EXT-X-KEY:",
      "#EXT-X-MAP:",
      " #EXT-X-MEDIA:",
      "#EXT-X-PART:",
      "#EXT-X-CONTENT-STEERING:",
      "#EXT-X-M",
      "#EXTINF:6,",
      "#",
      "URI=",
      "SERVER-URI=",
      "METHOD=NONE",
      "uri=",
      "=",
      '"',
      ",",
      "a.ts",
      "?x=1",
      "#t",
      " ",
      "\t",
      "\u00a0",
      "\ufeff",
      "é",
      "//h",
      "\\",
      ":",
      "{$v}",
      "\u0001",
    ];
    // Rewritten and passed-unchanged manifests must both occur, or the comparison is blind.
    const seen = { rewritten: 0, unchanged: 0 };
    const numRuns = runs(30_000);
    fc.assert(
      fc.property(manifest(pieces, 16), (text) => {
        const ours = propagateHls(text, P);
        seen["text" in ours && ours.text !== text ? "rewritten" : "unchanged"]++;
        expect(ours, JSON.stringify(text)).toEqual(reference.propagateHls(text, P));
      }),
      { numRuns },
    );
    for (const [kind, count] of Object.entries(seen)) {
      expect(count, kind).toBeGreaterThan(numRuns / 100);
    }
  });

  it("rewrites every generated DASH manifest as the pattern-based rewrite did", () => {
    const pieces = [
      "<MPD>",
      "<BaseURL>",
      "</BaseURL>",
      "<BaseURL/>",
      "<BaseURL ",
      "<d:BaseURL>",
      "</d:BaseURL>",
      "<1:BaseURL>",
      "BaseURL",
      "baseurl",
      "<ContentSteering>",
      " serviceLocation=",
      "İ",
      "<!--",
      "-->",
      "<![CDATA[",
      "]]>",
      "<?",
      "?>",
      "<S",
      " media=",
      " initialization=",
      " sourceURL=",
      '"',
      "'",
      "a.m4s",
      "v/",
      "&amp;",
      "&lt;",
      "&",
      "&#58;",
      ">",
      "/>",
      "<",
      " ",
      "\n",
      "\u00a0",
      "//h",
      "http:",
      "#",
      "?",
      "$RepresentationID$",
      " id=",
      "r-1",
      "r/1",
    ];
    // Rewritten and passed-unchanged manifests must both occur, or the comparison is blind.
    const seen = { rewritten: 0, unchanged: 0 };
    const numRuns = runs(30_000);
    fc.assert(
      // Half of them inside an MPD that has a segment to rewrite: random pieces alone make a
      // manifest the rewrite changes about once in a thousand.
      fc.property(
        fc.oneof(
          manifest(pieces, 14),
          manifest(pieces, 8).map((inner) => `<MPD><S media="a.m4s"/>${inner}</MPD>`),
        ),
        (text) => {
          const ours = propagateDash(text, P);
          seen["text" in ours && ours.text !== text ? "rewritten" : "unchanged"]++;
          expect(ours, JSON.stringify(text)).toEqual(reference.propagateDash(text, P));
        },
      ),
      { numRuns },
    );
    for (const [kind, count] of Object.entries(seen)) {
      expect(count, kind).toBeGreaterThan(numRuns / 100);
    }
  });

  it("reads references as the pattern-based reachesGate did", () => {
    const piece = fc.constantFrom(
      "/",
      "\\",
      ":",
      "?",
      "#",
      "a",
      "\t",
      "\n",
      "\r",
      " ",
      "\u0000",
      "{$",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }).map((parts) => parts.join("")),
        (uri) => {
          expect(reachesGate(uri), JSON.stringify(uri)).toBe(reference.reachesGate(uri));
        },
      ),
      { numRuns: runs(20_000) },
    );
  });

  it("finds BaseURL names as /<((?:[A-Za-z_][\\w.-]*:)?)BaseURL(?=[\\s/>])/g does", () => {
    const piece = fc.constantFrom(
      "<",
      ":",
      "BaseURL",
      "a",
      "1",
      "_",
      ".",
      "-",
      " ",
      "/",
      ">",
      "\u00a0",
      "é",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((parts) => parts.join("")),
        (text) => {
          expect(reference.scannedBaseUrlNames(text, nextBaseUrl), JSON.stringify(text)).toEqual(
            reference.baseUrlNames(text),
          );
        },
      ),
      { numRuns: runs(30_000) },
    );
  });

  it("judges ids as /\\sid\\s*=\\s*(\"([^\"]*)\"|'([^']*)')/g and /^[A-Za-z0-9._-]*$/ did", () => {
    const piece = fc.constantFrom(
      " ",
      "\t",
      "\u00a0",
      "id",
      "i",
      "=",
      '"',
      "'",
      "r-1",
      "r/1",
      "x",
      "\n",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((parts) => parts.join("")),
        (text) => {
          const pattern = /\sid\s*=\s*("([^"]*)"|'([^']*)')/g;
          const expected = [...text.matchAll(pattern)].every((m) =>
            /^[A-Za-z0-9._-]*$/.test(m[2] ?? m[3] ?? ""),
          );
          expect(plainIds(text), JSON.stringify(text)).toBe(expected);
        },
      ),
      { numRuns: runs(30_000) },
    );
  });

  it("reads every UTF-16 code unit as \\s does", () => {
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code);
      if (space(char, 0) !== /\s/.test(char)) expect(code.toString(16)).toBe("read as \\s reads");
    }
  });
});
