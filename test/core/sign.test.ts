import { describe, expect, it } from "vitest";
import { linkBase, parseLink } from "../../src/core/link.js";
import { parseTtl, resolveExpires, signLink } from "../../src/sign.js";
import { signToken, verifyToken } from "../../src/core/token.js";

const base = {
  clientId: 2675,
  videoId: "3dk4NsRt6vWsffEr",
  secret: "mysecret",
  file: "master.m3u8",
};

describe("signLink", () => {
  it("builds the link Gcore's snippets describe", () => {
    expect(signLink({ ...base, expires: 1861919999, baseUrl: "https://cdn.example.com/" })).toBe(
      "https://cdn.example.com/videos/2675_3dk4NsRt6vWsffEr/bzvFjnpBFskO6M4eg9hriw/1861919999/master.m3u8",
    );
  });

  it("returns a path when no baseUrl is given, and keeps a base path", () => {
    expect(signLink({ ...base, expires: 1861919999 })).toMatch(/^\/videos\/2675_/);
    expect(signLink({ ...base, expires: 1861919999, baseUrl: "https://x.test/edge/" })).toMatch(
      /^https:\/\/x\.test\/edge\/videos\//,
    );
  });

  it("makes links the gate's own parser and verifier accept", () => {
    const link = signLink({
      ...base,
      kind: "cmaf",
      ttlSeconds: 60,
      file: "720p/seg 1.m4s",
      now: () => 1000,
    });
    const parsed = parseLink(link);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.link.file).toBe("720p/seg%201.m4s");
    expect(parsed.link.expires).toBe("1060");
    expect(verifyToken({ ...parsed.link, secret: "mysecret", now: 1060 })).toBe("valid");
    expect(verifyToken({ ...parsed.link, secret: "mysecret", now: 1061 })).toBe("expired");
  });

  it("takes expires as seconds, bigint, digits or a Date, all alike", () => {
    const links = [1861919999, 1861919999n, "1861919999", new Date("2028-12-31T23:59:59.900Z")].map(
      (expires) => signLink({ ...base, expires }),
    );
    expect(new Set(links).size).toBe(1);
  });

  it.each([
    ["an empty secret", { secret: "" }, TypeError],
    ["a client id with _", { clientId: "26_75" }, TypeError],
    ["a client id with /", { clientId: "26/75" }, TypeError],
    ["a video id with /", { videoId: "a/b" }, TypeError],
    ["a video id that needs escaping", { videoId: "a b" }, TypeError],
    ["a kind with /", { kind: "videos/x" }, TypeError],
    ["a kind of ..", { kind: ".." }, TypeError],
    ["a file with ..", { file: "../other/master.m3u8" }, TypeError],
    ["a file with .", { file: "./master.m3u8" }, TypeError],
    ["a file with //", { file: "a//b.ts" }, TypeError],
    ["an absolute file", { file: "/etc/passwd" }, TypeError],
    ["a file with \\", { file: "a\\b.ts" }, TypeError],
    ["an empty file", { file: "" }, TypeError],
    ["a client id starting with ;", { clientId: ";x" }, TypeError],
    ["a file segment empty before ;", { file: ";x.ts" }, TypeError],
    ["a file dot segment with ;params", { file: "..;x/y.ts" }, TypeError],
    ["a file dot segment with a ;", { file: ".;x" }, TypeError],
    ["a file with a tab", { file: "a\tb.ts" }, TypeError],
    ["a file with CR LF", { file: "a\r\nb.ts" }, TypeError],
    ["a file with NUL", { file: "a\u0000b.ts" }, TypeError],
    ["a file with a lone surrogate", { file: "a\ud800.ts" }, TypeError],
    ["a client id of NaN", { clientId: Number.NaN }, TypeError],
    ["a client id of Infinity", { clientId: Number.POSITIVE_INFINITY }, TypeError],
    ["a client id of 1e21", { clientId: 1e21 }, TypeError],
    ["a fractional client id", { clientId: 26.75 }, TypeError],
    ["a relative baseUrl", { baseUrl: "cdn.example.com" }, TypeError],
    ["expires of 0", { expires: 0 }, RangeError],
    ["fractional expires", { expires: 1.5 }, RangeError],
    ["expires past int64", { expires: 2n ** 63n }, RangeError],
    ["an invalid Date", { expires: new Date("nope") }, RangeError],
    ["a zero ttl", { ttlSeconds: 0 }, RangeError],
    ["both expires and ttl", { expires: 5, ttlSeconds: 5 }, TypeError],
    ["neither expires nor ttl", {}, TypeError],
  ])("rejects %s", (_, change, error) => {
    const options = { ...base, expires: 1861919999, ...change } as Record<string, unknown>;
    if ("ttlSeconds" in change && !("expires" in change)) delete options.expires;
    if (Object.keys(change).length === 0) delete options.expires;
    expect(() => signLink(options as never)).toThrow(error);
  });

  it("computes the same token as signToken", () => {
    const link = signLink({ ...base, expires: 1700000000 });
    expect(link.split("/")[3]).toBe(signToken({ ...base, clientId: "2675", expires: 1700000000 }));
  });
});

describe("parseTtl", () => {
  it.each([
    ["90s", 90],
    ["15m", 900],
    ["24h", 86_400],
    ["7d", 604_800],
  ])("reads %s as %i seconds", (text, seconds) => expect(parseTtl(text)).toBe(seconds));

  it.each(["", "0s", "10", "1w", "-5m", "1.5h", "h"])("rejects %j", (text) => {
    expect(() => parseTtl(text)).toThrow(RangeError);
  });
});

describe("resolveExpires", () => {
  it("adds a ttl to the clock", () => {
    expect(resolveExpires({ ttlSeconds: 90, now: () => 1000 })).toBe("1090");
  });
});

describe("signLink and the gate", () => {
  it("never hands out a link the gate would refuse for its shape", () => {
    for (const file of ["a;b.ts", "x;.ts", "seg%.ts", "é.ts", "a b/c.ts", "~!$&'()*+,=:@.ts"]) {
      const link = signLink({ ...base, expires: 1861919999, file });
      expect(parseLink(link).ok, link).toBe(true);
    }
  });
});

// The base every signed form is prefixed with (signLink and the CLI's CDN and MP4 links).
describe("linkBase", () => {
  it.each([
    [undefined, ""],
    ["", ""],
    ["http://gate.example", "http://gate.example"],
    ["https://gate.example/", "https://gate.example"],
    ["https://gate.example//edge//", "https://gate.example//edge"],
    ["HTTPS://Gate.Example:443/edge", "https://gate.example/edge"],
    ["https://gate.example:8443/", "https://gate.example:8443"],
  ])("%j is %j", (base, written) => {
    expect(linkBase(base)).toBe(written);
  });

  it.each([
    ["no scheme", "gate.example", /absolute URL/],
    ["another scheme", "ftp://gate.example", /http\(s\)/],
    ["a query", "https://gate.example/?a=1", /without query or fragment/],
    ["a fragment", "https://gate.example/#top", /without query or fragment/],
  ])("refuses a base with %s", (_, base, message) => {
    expect(() => linkBase(base)).toThrow(TypeError);
    expect(() => linkBase(base)).toThrow(message);
  });
});
