import fc from "fast-check";
import { runs } from "../helpers/runs.js";
import { describe, expect, it } from "vitest";
import {
  rateBytes,
  signMp4Token,
  signQueryToken,
  tokenQuery,
  verifyMp4Token,
  verifyQueryToken,
  percentDecoded,
  readsAs,
} from "../../src/core/query-token.js";
import { md5Base64url } from "../../src/core/md5.js";

describe("CDN secure tokens: the vectors of Gcore's and nginx's documentation", () => {
  it.each([
    [
      { path: "/images/1.jpg", expires: 2147483647, secret: "secret_key", ip: "1.2.3.4" },
      "14nsJ0zrjGipdIbehZ1tRw",
    ],
    [
      { path: "/images/1.jpg", expires: 2147483647, secret: "secret_key" },
      "vHEnxR8VaxpEDgyNzJuWwA",
    ],
    [
      { path: "/videos/video-1/", expires: 1893456000, secret: "secret_key" },
      "CfiN7Uc9aq72wIBHSVmzvw",
    ],
    [
      { path: "/s/link", expires: 2147483647, secret: "secret", ip: "127.0.0.1" },
      "_e4Nc3iduzkWRm01TBBNYw",
    ],
  ])("signs %j as %s", (input, token) => {
    expect(signQueryToken(input)).toBe(token);
  });
});

describe("MP4 advanced tokens: the vectors of Gcore's documentation", () => {
  const base = {
    uri: "/videos/279481_1053391/qid2920v1_h264_4050_1080_1.mp4",
    secret: "MySecr3tStr1ng",
    expires: 1743167062,
  };
  it.each([
    [{}, "QX39c77lbQKvYgMMAvpyMQ"],
    [{ speed: "1000k" }, "UcB_lMku9m-MtxIEos_V-w"],
    [{ speed: "1000k", buffer: "2000k" }, "yGa6cK0jM4YvwaSUEPvwMA"],
    [{ ip: "1.2.3.4" }, "SZMnuXQv-81sVqslGtXwlA"],
  ])("signs %j as %s", (extra, token) => {
    expect(signMp4Token({ ...base, ...extra })).toBe(token);
  });

  it("verifies what it signs, and nothing else", () => {
    const now = 1_700_000_000;
    const token = signMp4Token({ ...base, speed: "1000k" });
    const query = (text: string) => tokenQuery(text, true);
    const ok = `md5=${token}&expires=1743167062&speed=1000k`;
    expect(verifyMp4Token(base.uri, query(ok), base.secret, "", now, md5Base64url)).toBe("valid");
    expect(
      verifyMp4Token(
        base.uri,
        query(ok.replace("1000k", "2000k")),
        base.secret,
        "",
        now,
        md5Base64url,
      ),
    ).toBe("bad-token");
    expect(
      verifyMp4Token(base.uri, query(ok + "&speed=1m"), base.secret, "", now, md5Base64url),
    ).toBe("malformed");
    expect(verifyMp4Token(base.uri, query(ok), base.secret, "", 1743167063, md5Base64url)).toBe(
      "expired",
    );
    expect(verifyMp4Token(base.uri + "x", query(ok), base.secret, "", now, md5Base64url)).toBe(
      "bad-token",
    );
  });
});

describe("tokenQuery", () => {
  it("takes out md5 and expires, keeping every other parameter in order as written", () => {
    expect(tokenQuery("a=1&md5=x&b=%2e&expires=9&c", false)).toEqual({
      md5: "x",
      expires: "9",
      speed: undefined,
      buffer: undefined,
      rest: "a=1&b=%2e&c",
      repeated: undefined,
    });
  });
  it("leaves speed and buffer to the origin unless the form hashes them", () => {
    expect(tokenQuery("speed=1k&md5=x", false).rest).toBe("speed=1k");
    expect(tokenQuery("speed=1k&md5=x&buffer=2", true)).toMatchObject({
      speed: "1k",
      buffer: "2",
      rest: "",
    });
  });
  it("notes a token parameter given twice", () => {
    expect(tokenQuery("md5=a&md5=b", false).repeated).toBe("md5");
  });

  // Red team: spellings an origin may read as a token parameter passed to it.
  it.each([
    ["md5=a&expires=1&exp%C4%B1res=2", "expires"],
    ["md5=a&expires=1&%EF%BD%8D%EF%BD%84%EF%BC%95=b", "md5"],
    ["md5=a&expires=1&x=1%26md5%3Db", "md5"],
    ["md5=a&expires=1&x=1%3Bexpires%3D2", "expires"],
    ["md5=a&expires=1&%C5%BFpeed=1", undefined],
    // Red team: one bad escape made the whole decoding fail, while URLSearchParams, Python and
    // PHP decode every good escape and keep the bad one.
    ["md5=a&expires=1&md%35=x%ff", "md5"],
    ["md5=a&expires=1&md%35=x%zz", "md5"],
    ["md5=a&expires=1&exp%69res=1%", "expires"],
    ["md5=a&expires=1&x=1%26md5%3Dy%ff", "md5"],
    ["md5=a&expires=1&md%E2%81%B5=x", "md5"],
    ["md5=a&expires=1&title=a%26b", undefined],
  ])("reads %s as repeating %s", (query, repeated) => {
    expect(tokenQuery(query, false).repeated).toBe(repeated);
  });
  it("reads the long s as an s for MP4's speed", () => {
    expect(tokenQuery("md5=a&expires=1&%C5%BFpeed=1", true).repeated).toBe("speed");
  });
});

describe("verifyQueryToken", () => {
  const secret = "secret_key";
  const now = 2_000_000_000;
  const check = (path: string, signedPath: string, expires = 2147483647) =>
    verifyQueryToken(
      path,
      tokenQuery(
        `md5=${signQueryToken({ path: signedPath, secret, expires })}&expires=${expires}`,
        false,
      ),
      secret,
      "",
      now,
      md5Base64url,
    );
  it("accepts a token for the whole path", () =>
    expect(check("/a/b/1.ts", "/a/b/1.ts")).toBe("valid"));
  it("accepts a directory token for the files directly in it", () =>
    expect(check("/a/b/1.ts", "/a/b/")).toBe("valid"));
  it("refuses a directory token one level down", () =>
    expect(check("/a/b/c/1.ts", "/a/b/")).toBe("bad-token"));
  it("refuses a token for another file", () =>
    expect(check("/a/b/2.ts", "/a/b/1.ts")).toBe("bad-token"));
  it("says expired only for a right token", () => {
    expect(check("/a/b/1.ts", "/a/b/1.ts", 1)).toBe("expired");
    expect(check("/a/b/2.ts", "/a/b/1.ts", 1)).toBe("bad-token");
  });
  it.each([
    "",
    "md5=x",
    "expires=1",
    "md5=short&expires=1",
    "md5=AAAAAAAAAAAAAAAAAAAAAA&expires=01",
  ])("calls %j malformed", (query) =>
    expect(
      verifyQueryToken("/a/1.ts", tokenQuery(query, false), secret, "", now, md5Base64url),
    ).toBe("malformed"),
  );
});

describe("rateBytes", () => {
  it.each([
    ["1000", 1000],
    ["1000k", 1024000],
    ["2K", 2048],
    ["1m", 1048576],
    ["1M", 1048576],
  ])("reads %s as %d bytes, as nginx reads a size", (text, bytes) =>
    expect(rateBytes(text)).toBe(bytes),
  );
  it.each(["", "1g", "1.5k", "-1", "k", "1kb"])("refuses %j", (text) =>
    expect(rateBytes(text)).toBeUndefined(),
  );
});

describe("signQueryToken refuses paths the gate would refuse or a runtime would rewrite", () => {
  it.each([
    "/images/../x.jpg",
    "/images/a b.jpg",
    "/images/a{b}.jpg",
    "/images/a`b.jpg",
    "/images/a%2fb.jpg",
    "/images/é.jpg",
  ])("refuses %j", (path) => {
    expect(() => signQueryToken({ path, secret: "s", expires: 2147483647 })).toThrow(TypeError);
  });
  it.each(["/images/a%20b.jpg", "/images/dir/", "/a-b_c.d~e/f!$&'()*+,;=:@.jpg"])(
    "signs %j",
    (path) => {
      expect(signQueryToken({ path, secret: "s", expires: 2147483647 })).toMatch(/^[\w-]{22}$/);
    },
  );
});

// The look-alike rule decodes a parameter as the origins it guards against do: held to
// URLSearchParams (WHATWG percent-decoding, then UTF-8 with U+FFFD), good and bad escapes alike.
describe("percentDecoded", () => {
  const piece = fc.constantFrom(
    "%",
    "%4",
    "%6d",
    "%6D",
    "%zz",
    "%E2",
    "%82",
    "%AC",
    "%C3",
    "%A9",
    "%ED",
    "%A0",
    "%F0",
    "%9F",
    "%98",
    "%80",
    "%FF",
    "%C0",
    "%F4",
    "%90",
    "%E0",
    "%25",
    "a",
    "Z",
    "0",
    "/",
    ";",
  );
  it("decodes as URLSearchParams does", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join("");
        expect(percentDecoded(text), text).toBe(new URLSearchParams(`x=${text}`).get("x"));
      }),
      { numRuns: runs(5000) },
    );
  });
  it.each([
    ["md%35", "md5"],
    ["md%35=x%ff", "md5=x\ufffd"],
    ["%E2%82%AC", "\u20ac"],
    ["%F0%9F%98%80", "\ud83d\ude00"],
    ["%E2%82", "\ufffd"],
    ["%ED%A0%80", "\ufffd\ufffd\ufffd"],
    ["plain", "plain"],
  ])("reads %j as %j", (text, decoded) => {
    expect(percentDecoded(text)).toBe(decoded);
  });
  // Each UTF-8 boundary, beside a broken escape so that the escape-by-escape reading (not
  // decodeURIComponent) decodes it: DEL, NUL, each length's first and last start byte, U+FFFF
  // and the first and last four-byte characters.
  it.each([
    "%7F",
    "%00",
    "%C2%80",
    "%DF%BF",
    "%E0%A0%80",
    "%EF%BC%A1",
    "%EF%BF%BF",
    "%ED%9F%BF",
    "%F0%90%80%80",
    "%F0%9F%98%80",
    "%F4%8F%BF%BF",
  ])("reads %j beside a broken escape as URLSearchParams does", (escapes) => {
    for (const text of [escapes, `${escapes}%zz`, `%${escapes}`]) {
      expect(percentDecoded(text), text).toBe(new URLSearchParams(`x=${text}`).get("x"));
    }
  });
});

describe("readsAs: characters an origin folds to ASCII", () => {
  it.each([
    ["exp\u0131res", "expires"],
    ["EXP\u0130RES", "expires"],
    ["\u017fpeed", "speed"],
    ["\u212aey", "key"],
    ["\uff4d\uff44\uff15", "md5"],
    ["MD\uff15", "md5"],
    ["md\u00b9", "md1"],
    ["md\u00b2", "md2"],
    ["md\u00b3", "md3"],
    ["md\u2070", "md0"],
    ["md\u2074", "md4"],
    ["md\u2079", "md9"],
    ["md\u2080", "md0"],
    ["md\u2089", "md9"],
    ["\uff10x", "0x"],
    ["\uff5a", "z"],
  ])("reads %j as %s", (name, as) => {
    expect(readsAs(name, [as])).toBe(as);
  });
  it.each([
    ["md\u2075\u2075", "md5"],
    ["md\u2071", "md1"],
    ["md\u208a", "md0"],
    ["md\u2073", "md3"],
    ["md\uff5b5", "md55"],
    ["\u00b4md", "4md"],
    ["\u00b1md", "1md"],
  ])("does not read %j as %s", (name, as) => {
    expect(readsAs(name, [as])).toBeUndefined();
  });
});
