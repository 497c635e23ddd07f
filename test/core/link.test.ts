import { runs } from "../helpers/runs.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildLinkPath,
  scanPath,
  idProblem,
  originPath,
  parseLink,
  splitTarget,
  unsafePathDetail,
} from "../../src/core/link.js";

const TOKEN = "bzvFjnpBFskO6M4eg9hriw";
const NFKC_DETAIL = "encoded character an origin may normalise to . / \\ ; % ? or #";
const VALID = `/videos/2675_3dk4NsRt6vWsffEr/${TOKEN}/1861919999/720/seg-1.ts`;

describe("parseLink", () => {
  it("splits a link into its parts as written", () => {
    const parsed = parseLink(VALID);
    expect(parsed).toEqual({
      ok: true,
      link: {
        kind: "videos",
        clientId: "2675",
        videoId: "3dk4NsRt6vWsffEr",
        token: TOKEN,
        expires: "1861919999",
        file: "720/seg-1.ts",
      },
    });
    if (parsed.ok) {
      expect(originPath(parsed.link)).toBe("/videos/2675_3dk4NsRt6vWsffEr/720/seg-1.ts");
      expect(buildLinkPath(parsed.link)).toBe(VALID);
    }
  });

  it("splits client and video at the first underscore", () => {
    const parsed = parseLink(`/cmaf/12_a_b_c/${TOKEN}/1/f.mp4`);
    expect(parsed.ok && [parsed.link.clientId, parsed.link.videoId]).toEqual(["12", "a_b_c"]);
  });

  it("keeps percent-escapes in the file as they were sent", () => {
    const parsed = parseLink(`/videos/1_a/${TOKEN}/1/my%20clip.ts`);
    expect(parsed.ok && parsed.link.file).toBe("my%20clip.ts");
  });

  it.each([
    ["/videos/", "no client_video segment"],
    ["/videos/1_a", "no token segment"],
    [`/videos/1_a/${TOKEN}`, "no expires segment"],
    [`/videos/1_a/${TOKEN}/1`, "no file after expires"],
    [`/videos/1_a/${TOKEN}/1/`, "no file after expires"],
    [`/videos/1a/${TOKEN}/1/f`, "second segment is not client_video"],
    [`/videos/_a/${TOKEN}/1/f`, "client id is empty"],
    [`/videos/1_/${TOKEN}/1/f`, "video id is empty"],
    [`/videos/1_a/${TOKEN}x/1/f`, "token is not 22 characters of [A-Za-z0-9_-]"],
    [`/videos/1_a/${TOKEN.slice(2)}+/=/1/f`, "token is not 22 characters of [A-Za-z0-9_-]"],
    [`/videos/1_a/${TOKEN}/-1/f`, "expires is not a number of unix seconds"],
  ])("calls %j malformed: %s", (path, detail) => {
    expect(parseLink(path)).toEqual({ ok: false, problem: "malformed", detail });
  });
});

describe("unsafePathDetail and Unicode normalisation", () => {
  it("refuses every escaped character whose NFKC form holds . / \\ ; % ? or #, and accepts the rest", () => {
    const escaped = (char: string) =>
      [...Buffer.from(char, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
    let refused = 0;
    const wrong: string[] = [];
    // Under mutation testing (instrumented code, run per mutant) every special code point and
    // one in 97 of the others.
    const stride = process.env.TOKENGATE_MUTATION === "1" ? 97 : 1;
    for (let cp = 0x80; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const char = String.fromCodePoint(cp);
      const special = /[./\\;%?#]/.test(char.normalize("NFKC"));
      if (!special && cp % stride !== 0) continue;
      const detail = unsafePathDetail(`/videos/1_a/t/1/x${escaped(char)}y`);
      // Collected, then asserted once: an expect() per code point cost most of the run.
      // Every other code point is valid UTF-8 and must pass, not only escape this refusal.
      if (detail !== (special ? NFKC_DETAIL : undefined)) wrong.push(`U+${cp.toString(16)}`);
      if (special) refused++;
    }
    expect(wrong).toEqual([]);
    expect(refused).toBeGreaterThan(20);
  });
});

describe("unsafePathDetail", () => {
  it.each([
    ["/videos/1_a/t/1/../x", "dot segment"],
    ["/videos/1_a/t/1/./x", "dot segment"],
    ["/videos/1_a/t/1/x/..", "dot segment"],
    ["/videos/1_a/t/1/%2e%2e/x", "dot segment"],
    ["/videos/1_a/t/1/%2E./x", "dot segment"],
    ["/videos/1_a/t/1/.%2E/x", "dot segment"],
    ["/videos/1_a/t/1/%2e/x", "dot segment"],
    ["/videos/1_a/t/1//x", "empty segment (//)"],
    ["/videos/1_a/t/1/a\\b", "backslash"],
    ["/videos/1_a/t/1/a%2fb", "encoded slash or backslash"],
    ["/videos/1_a/t/1/a%2Fb", "encoded slash or backslash"],
    ["/videos/1_a/t/1/a%5cb", "encoded slash or backslash"],
    ["/videos/1_a/t/1/a%00", "encoded control byte"],
    ["/videos/1_a/t/1/a%1F", "encoded control byte"],
    ["/videos/1_a/t/1/a%7f", "encoded control byte"],
    ["/videos/1_a/t/1/a\u0000", "control, space or non-ASCII byte"],
    ["/videos/1_a/t/1/a b", "control, space or non-ASCII byte"],
    ["/videos/1_a/t/1/vidé", "control, space or non-ASCII byte"],
    ["/videos/1_a/t/1/a%", "broken percent escape"],
    ["/videos/1_a/t/1/a%4", "broken percent escape"],
    ["/videos/1_a/t/1/a%g0", "broken percent escape"],
    ["/videos/1_a/t/1/%c0%ae%c0%ae/x", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%c0%af", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%e0%80%ae", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%ed%a0%80", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%f4%90%80%80", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%c3", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%c3x", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%80", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%ff", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/..;/x", "dot segment before ;"],
    ["/videos/1_a/t/1/.;jsessionid=1/x", "dot segment before ;"],
    ["/videos/1_a/t/1/..%3b/x", "dot segment before ;"],
    ["/videos/1_a/t/1/%2e%2e%3Bx/x", "dot segment before ;"],
    ["/videos/1_a/t/1/..;%c3%a9/x", "dot segment before ;"],
    ["/videos/1_a/t/1/;x/y", "empty segment before ;"],
    ["/videos/1_a/t/1/..;%2f/x", "encoded slash or backslash"],
    // What NFKC, after decoding, turns into dots and slashes:
    ["/videos/1_a/t/1/%ef%bc%8e%ef%bc%8e/x", NFKC_DETAIL],
    ["/videos/1_a/t/1/%e2%80%a5/x", NFKC_DETAIL],
    ["/videos/1_a/t/1/a%ef%bc%8fb", NFKC_DETAIL],
    ["/videos/1_a/t/1/a%EF%BC%BCb", NFKC_DETAIL],
    ["/videos/1_a/t/1/%ef%b8%b0/x", NFKC_DETAIL],
    ["/videos/1_a/t/1/%EF%B8%B0/x", NFKC_DETAIL],
    ["/videos/1_a/t/1/a%e2%84%80b", NFKC_DETAIL],
    ["/videos/1_a/t/1/%ef%bc%85%ef%bc%92e", NFKC_DETAIL],
    ["/videos/1_a/t/1/..%cd%be/x", NFKC_DETAIL],
    ["/videos/1_a/t/1/a%ef%bc%9fb", NFKC_DETAIL],
  ])("refuses %j: %s", (path, detail) => {
    expect(unsafePathDetail(path)).toBe(detail);
  });

  it.each([
    "/videos/1_a/t/1/seg-1.ts",
    "/videos/1_a/t/1/.hidden",
    "/videos/1_a/t/1/.../x",
    "/videos/1_a/t/1/a..b",
    "/videos/1_a/t/1/seg;1.ts",
    "/videos/1_a/t/1/x;..",
    "/videos/1_a/t/1/%c3%a9t%c3%a9.ts",
    "/videos/1_a/t/1/my%20clip.ts",
    "/videos/1_a/t/1/%252e%252e/x",
    "/videos/1_a/t/1/vid%C3%A9o.ts",
    "/videos/1_a/t/1/%E8%A7%86%E9%A2%91/%F0%9F%8E%AC.ts",
    "/videos/1_a/t/1/dir/",
  ])("accepts %j", (path) => {
    expect(unsafePathDetail(path)).toBeUndefined();
  });
});

describe("splitTarget", () => {
  it.each([
    ["/a/b?c=d", "/a/b", "c=d"],
    ["/a/b", "/a/b", ""],
    ["/a?", "/a", ""],
    ["https://h.test/a/b?part=4", "/a/b", "part=4"],
    ["https://h.test", "/", ""],
    ["https://h.test?x", "/", "x"],
    ["/a#frag", "/a", ""],
    ["/a?q=1#frag", "/a", "q=1"],
  ])("splits %j", (target, path, query) => {
    expect(splitTarget(target)).toEqual({ path, query });
  });
});

describe("ids an origin would read as another video's", () => {
  // Signed as written, but an origin that decodes once, or drops ";params", sees another
  // client_video folder (outside attack): refused by the signer and by the gate.
  it.each([
    ["26%5F75_abc", "an escaped _ moves the client/video split"],
    ["2675_%61bc", "an escaped letter is another id's name"],
    ["2675_abc;x", "a ; is dropped with what follows by Tomcat-like origins"],
    ["2675_abc%3Bx", "an escaped ; too"],
    ["2675_a%2Db", "an escaped -"],
    ["2675_a%7Eb", "an escaped ~"],
  ])("refuses %s (%s)", (segment) => {
    expect(idProblem(segment)).toBeDefined();
    const token = "AAAAAAAAAAAAAAAAAAAAAA";
    expect(parseLink(`/videos/${segment}/${token}/1861919999/x.ts`)).toMatchObject({
      ok: false,
      problem: "malformed",
    });
  });

  it.each(["2675_abc", "2675_vid%C3%A9o", "2675_a%20b", "2675_a%22b", "2675_a-b.c~d"])(
    "accepts %s: escapes only of what cannot stand in a segment as it is",
    (segment) => {
      expect(idProblem(segment)).toBeUndefined();
      expect(parseLink(`/videos/${segment}/AAAAAAAAAAAAAAAAAAAAAA/1861919999/x.ts`).ok).toBe(true);
    },
  );
});

describe("unsafePathDetail's shortcut for plain paths", () => {
  it("says what the full scan says, for every path", () => {
    const piece = fc.constantFrom(
      "/",
      "//",
      ".",
      "..",
      "a",
      "-",
      "_",
      "~",
      "%2e",
      "%2f",
      ";",
      "%",
      "\\",
      " ",
      "é",
      "x.ts",
      ":",
      "@",
    );
    // Both safe and unsafe paths must occur, or the comparison is blind to one side.
    const seen = { safe: 0, unsafe: 0 };
    const numRuns = runs(20_000);
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 10 }).map((parts) => parts.join("")),
        (path) => {
          const detail = unsafePathDetail(path);
          seen[detail === undefined ? "safe" : "unsafe"]++;
          expect(detail, JSON.stringify(path)).toBe(scanPath(path));
        },
      ),
      { numRuns },
    );
    for (const [kind, count] of Object.entries(seen)) {
      expect(count, kind).toBeGreaterThan(numRuns / 20);
    }
  });
});
