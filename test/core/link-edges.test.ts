/**
 * Why parseLink() and idProblem() refuse, in words, for each way a link can be cut short or
 * misshapen; where splitTarget() finds the path and query of unusual targets; which escaped
 * bytes and segments unsafePathDetail() refuses at the edges of its ranges. Found unheld by
 * mutation testing (`npm run test:mutation`).
 */
import { describe, expect, it } from "vitest";
import { idProblem, parseLink, splitTarget } from "../../src/core/link.js";

const T = "v_dyZ60YkifNIDjqZTVFDg";

describe("parseLink() says why a path is no link", () => {
  it.each([
    [`videos/1_v/${T}/1/a.ts`, "path does not start with /"],
    ["/videos", "no client_video segment"],
    ["/videos/", "no client_video segment"],
    ["/videos/1_v", "no token segment"],
    [`/videos/1_v/${T}`, "no expires segment"],
    [`/videos/1_v/${T}/1`, "no file after expires"],
    [`/videos/1_v/${T}/1/`, "no file after expires"],
    [`/videos/1v/${T}/1/a.ts`, "second segment is not client_video"],
    // The `_` must be in the second segment: one in the token or in the prefix does not count.
    ["/videos/1v/a_b/1/a.ts", "second segment is not client_video"],
    [`/a_/1v/${T}/1/f.ts`, "second segment is not client_video"],
    [`/videos/_v/${T}/1/a.ts`, "client id is empty"],
    [`/videos/1_/${T}/1/a.ts`, "video id is empty"],
    [
      `/videos/1_a;b/${T}/1/a.ts`,
      "client_video has ; (origins that drop ;params would read another id)",
    ],
    [
      `/videos/%5F75_abc/${T}/1/a.ts`,
      "client_video escapes a character that may stand as it is (%5F)",
    ],
    [
      `/videos/1_abc%7e/${T}/1/a.ts`,
      "client_video escapes a character that may stand as it is (%7e)",
    ],
    ["/videos/1_v/short/1/a.ts", "token is not 22 characters of [A-Za-z0-9_-]"],
    [`/videos/1_v/${T}/01/a.ts`, "expires is not a number of unix seconds"],
  ])("%s: %s", (path, detail) => {
    expect(parseLink(path)).toEqual({ ok: false, problem: "malformed", detail });
  });
});

describe("idProblem()", () => {
  it.each([
    ["2675_a?b", "has /, ?, # or \\"],
    ["2675_a#b", "has /, ?, # or \\"],
    ["2675_a\\b", "has /, ?, # or \\"],
    ["a/b", "has /, ?, # or \\"],
    ["2675_a;b", "has ; (origins that drop ;params would read another id)"],
    // An escape at the very start, and only the escape itself named.
    ["%5F75_abc", "escapes a character that may stand as it is (%5F)"],
    ["2675_abc%7Exyz", "escapes a character that may stand as it is (%7E)"],
    ["2675_%80x", "encoded bytes are not UTF-8"],
  ])("%j: %s", (segment, problem) => {
    expect(idProblem(segment)).toBe(problem);
  });
});

describe("splitTarget() finds the path and query of unusual targets", () => {
  it.each([
    // A path that holds a URL is still a path: only a target not starting with / has a scheme.
    ["/r/https://h.test/x?q=1", "/r/https://h.test/x", "q=1", "a URL inside an origin-form path"],
    ["h/a/b?x", "/a/b", "x", "a one-letter authority without a scheme"],
    ["://h.test/a?x", "/a", "x", "an empty scheme before ://"],
    ["?x=1", "/", "x=1", "a target that is only a query"],
    ["#f?x=1", "/", "", "a target that is only a fragment, with a ? in it"],
    ["/a#f?x=1", "/a", "", "a ? inside the fragment"],
  ])("splits %j into %j and %j (%s)", (target, path, query) => {
    expect(splitTarget(target)).toEqual({ path, query });
  });
});
