/**
 * Why parseLink() and idProblem() refuse, in words, for each way a link can be cut short or
 * misshapen; where splitTarget() finds the path and query of unusual targets; which escaped
 * bytes and segments unsafePathDetail() refuses at the edges of its ranges. Found unheld by
 * mutation testing (`npm run test:mutation`).
 */
import { describe, expect, it } from "vitest";
import { idProblem, parseLink, splitTarget, unsafePathDetail } from "../../src/core/link.js";

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

/** `char` as percent-escaped UTF-8, e.g. `%c3%a9` for `é`. */
function escaped(char: string): string {
  return [...Buffer.from(char, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
}

describe("unsafePathDetail() at the edges of what it refuses", () => {
  it.each([
    // A path that does not start with / still has its first segment checked.
    ["../x", "dot segment"],
    [".", "dot segment"],
    // A dot segment first in the path, where the plain-path shortcut finds its `/.` at index 0.
    ["/../videos/1_a/t/1/x", "dot segment"],
    ["/./videos/1_a/t/1/x", "dot segment"],
    // Protocol-relative: some clients and origins read the first segment as a host.
    ["//evil.test/videos/1_a/t/1/x", "empty segment (//)"],
    ["/videos/1_a/t/1/a\u007f", "control, space or non-ASCII byte"],
    // What follows a ; is dropped by Tomcat-like origins, escaped or not.
    ["/videos/1_a/t/1/..;%2e/x", "dot segment before ;"],
    ["/videos/1_a/t/1/;%41/x", "empty segment before ;"],
    // @ and ` sit just before A and a: no hex digits.
    ["/videos/1_a/t/1/a%4@", "broken percent escape"],
    ["/videos/1_a/t/1/a%4`", "broken percent escape"],
    // Bytes a lenient decoder might still read as characters (RFC 3629 forbids each):
    ["/videos/1_a/t/1/%f0%80%80%ae/x", "encoded bytes are not UTF-8"], // a four-byte overlong .
    ["/videos/1_a/t/1/%c0%80%80/x", "encoded bytes are not UTF-8"], // C0 leads nothing
    ["/videos/1_a/t/1/%c0%80%80%80/x", "encoded bytes are not UTF-8"],
    ["/videos/1_a/t/1/%f5%80%80%80/x", "encoded bytes are not UTF-8"], // past U+10FFFF
  ])("refuses %j: %s", (path, detail) => {
    expect(unsafePathDetail(path)).toBe(detail);
  });

  it.each([
    ["the first two-byte character", 0x80],
    ["the last two-byte character", 0x7ff],
    ["the first three-byte character", 0x800],
    ["the last character before the surrogates", 0xd7ff],
    ["the first character after the surrogates", 0xe000],
    ["the last three-byte character", 0xffff],
    ["the first four-byte character", 0x10000],
    ["the last character of Unicode", 0x10ffff],
  ])("accepts the escaped UTF-8 of %s", (_, codePoint) => {
    const path = `/videos/1_a/t/1/x${escaped(String.fromCodePoint(codePoint))}y`;
    expect(unsafePathDetail(path), path).toBeUndefined();
  });

  it.each([
    // Dots and then something else make a name, not a dot segment, however that is spelled.
    ["/videos/1_a/t/1/..%c3%a9/x", "two dots and an escaped é"],
    ["/videos/1_a/t/1/..%61/x", "two dots and an escaped letter, ..a"],
    ["/videos/1_a/t/1/...;x/y", "three dots before a ;, as ... alone"],
  ])("accepts %j (%s)", (path) => {
    expect(unsafePathDetail(path)).toBeUndefined();
  });
});
