/**
 * What token.ts and query-token.ts refuse, and why in words, at the edges the other suites left
 * unheld; found by mutation testing (`npm run test:mutation`): each test fails on a mutant
 * Stryker reported as surviving.
 */
import { describe, expect, it } from "vitest";
import { md5Base64url } from "../../src/core/md5.js";
import {
  readsAs,
  signMp4Token,
  signQueryToken,
  tokenQuery,
  verifyMp4Token,
  verifyQueryToken,
} from "../../src/core/query-token.js";
import { signToken, verifyToken } from "../../src/core/token.js";

const LINK = { clientId: "2675", videoId: "abc", secret: "s3cret", expires: 1861919999 };

describe("signToken() says why it refuses", () => {
  it.each([
    [{ secret: 5 }, "secret must be a non-empty string"],
    [{ clientId: "" }, "clientId must be a non-empty string without '_' or '/'"],
    [{ videoId: "" }, "videoId must be a non-empty string without '/'"],
    [{ ip: "not-an-ip" }, 'ip "not-an-ip" is not an IPv4 or IPv6 address'],
    [{ expires: 1.5 }, "expires must be a whole number of unix seconds (a safe integer)"],
    [
      { expires: undefined },
      "expires must be unix seconds as a number, bigint or string of digits",
    ],
    [{ expires: {} }, "expires must be unix seconds as a number, bigint or string of digits"],
    [{ expires: "+100" }, "expires must be a positive integer up to 9223372036854775807, got +100"],
  ])("%j: %s", (change, message) => {
    expect(() => signToken({ ...LINK, ...change } as never)).toThrow(message);
  });

  it("names the id that is not as written, and its encoded form when it has one", () => {
    expect(() => signToken({ ...LINK, clientId: "клиент" })).toThrow(/^clientId "клиент" has /);
    expect(() => signToken({ ...LINK, videoId: "a b" })).toThrow(
      /^videoId "a b" has a space.*encoded form \(a%20b\)$/,
    );
    // A lone surrogate has no UTF-8 form: the line ends without one.
    expect(() => signToken({ ...LINK, videoId: "a\ud800" })).toThrow(/percent-encoded form$/);
    expect(() => signToken({ ...LINK, clientId: ";x" })).toThrow(
      /^clientId_videoId ";x_abc" cannot stand in a link: /,
    );
  });
});

describe("verifyToken()", () => {
  const input = {
    clientId: "2675",
    videoId: "abc",
    secret: "s3cret",
    expires: "1861919999",
    token: signToken(LINK),
    now: 1_800_000_000,
  };

  it("calls anything but strings in every field malformed, and never throws", () => {
    expect(verifyToken(input)).toBe("valid");
    expect(verifyToken(null as never)).toBe("malformed");
    for (const field of ["clientId", "videoId", "secret", "expires", "token", "ip"]) {
      expect(verifyToken({ ...input, [field]: 5 } as never), field).toBe("malformed");
    }
    // A symbol, whose text cannot even be read (String() throws on it), in every field.
    for (const field of ["clientId", "videoId", "secret", "expires", "token", "ip"]) {
      expect(verifyToken({ ...input, [field]: Symbol("s") } as never), field).toBe("malformed");
    }
    // expires as the number it spells: still not the text a link carries.
    expect(verifyToken({ ...input, expires: 1861919999 } as never)).toBe("malformed");
    for (const field of ["clientId", "videoId"]) {
      expect(verifyToken({ ...input, [field]: "" }), field).toBe("malformed");
    }
  });

  it("reads the clock in seconds when given no now", () => {
    const seconds = Math.floor(Date.now() / 1000);
    const at = (expires: number) => ({
      ...input,
      now: undefined,
      expires: String(expires),
      token: signToken({ ...LINK, expires }),
    });
    expect(verifyToken(at(seconds + 3600))).toBe("valid");
    expect(verifyToken(at(seconds - 3600))).toBe("expired");
  });
});

describe("signQueryToken() and signMp4Token() say why they refuse", () => {
  const query = { path: "/images/1.jpg", secret: "secret_key", expires: 2147483647 };
  const mp4 = { uri: "/videos/2675_abc/a.mp4", secret: "secret_key", expires: 2147483647 };

  it("sign as Gcore's example, with no ip and with an empty one alike", () => {
    expect(signQueryToken(query)).toBe("vHEnxR8VaxpEDgyNzJuWwA");
    expect(signQueryToken({ ...query, ip: "" })).toBe("vHEnxR8VaxpEDgyNzJuWwA");
    expect(signMp4Token({ ...mp4, ip: "" })).toBe(signMp4Token(mp4));
  });

  it.each([
    [{ path: "images/1.jpg" }, "path must start with /"],
    [{ path: 5 }, "path must start with /"],
    [{ secret: "" }, "secret must be a non-empty string"],
    [{ secret: 5 }, "secret must be a non-empty string"],
    [{ ip: "1.2.3" }, 'ip "1.2.3" is not an IPv4 or IPv6 address'],
    [
      { path: "/a b.jpg" },
      'path "/a b.jpg" has a character a URL carries only percent-encoded; sign the encoded path',
    ],
    [{ path: "/a/../b.jpg" }, 'the gate refuses path "/a/../b.jpg": '],
  ])("signQueryToken %j: %s", (change, message) => {
    expect(() => signQueryToken({ ...query, ...change } as never)).toThrow(message);
  });

  it.each([
    [{ uri: "videos/a.mp4" }, "uri must start with /"],
    [{ uri: 5 }, "uri must start with /"],
    [{ secret: "" }, "secret must be a non-empty string"],
    [{ secret: 5 }, "secret must be a non-empty string"],
    [{ speed: "fast" }, 'speed must be a number with an optional k or m suffix, got "fast"'],
    [{ buffer: "1g" }, 'buffer must be a number with an optional k or m suffix, got "1g"'],
  ])("signMp4Token %j: %s", (change, message) => {
    expect(() => signMp4Token({ ...mp4, ...change } as never)).toThrow(message);
  });
});

describe("verifyQueryToken() and verifyMp4Token()", () => {
  const path = "/cdn/a.mp4";
  const secret = "s";
  const expires = 1_900_000_000;
  const md5 = signQueryToken({ path, secret, expires });
  const mp4 = signMp4Token({ uri: path, secret, expires, buffer: "1m" });
  const query = (text: string) =>
    verifyQueryToken(path, tokenQuery(text, false), secret, "", expires, md5Base64url);
  const mp4Query = (text: string) =>
    verifyMp4Token(path, tokenQuery(text, true), secret, "", expires, md5Base64url);

  it("are valid up to and at the second of expires, expired after", () => {
    expect(query(`md5=${md5}&expires=${expires}`)).toBe("valid");
    expect(
      verifyQueryToken(
        path,
        tokenQuery(`md5=${md5}&expires=${expires}`, false),
        secret,
        "",
        expires + 1,
        md5Base64url,
      ),
    ).toBe("expired");
    expect(mp4Query(`md5=${mp4}&expires=${expires}&buffer=1m`)).toBe("valid");
  });

  it("call a missing, repeated or misshapen md5 or expires malformed", () => {
    for (const text of [
      `expires=${expires}`,
      `md5=${md5}`,
      `md5=${md5}&expires=${expires}&md5=${md5}`,
      `md5=short&expires=${expires}`,
      `md5=${md5}&expires=0${expires}`,
    ]) {
      expect(query(text), text).toBe("malformed");
      expect(mp4Query(text.replace(md5, mp4) + "&buffer=1m"), text).toBe("malformed");
    }
    expect(mp4Query(`md5=${mp4}&expires=${expires}&buffer=lots`)).toBe("malformed");
  });
});

describe("tokenQuery()", () => {
  it("reads an empty query as no parameters, and a parameter without = as empty", () => {
    expect(tokenQuery("", false)).toEqual({
      md5: undefined,
      expires: undefined,
      speed: undefined,
      buffer: undefined,
      rest: "",
      repeated: undefined,
    });
    expect(tokenQuery("md5&expires=1&x", false)).toMatchObject({
      md5: "",
      expires: "1",
      rest: "x",
    });
  });

  it("reads no token parameter into a name that only starts like one", () => {
    expect(tokenQuery("md5x&md5=a&expires=1", false)).toMatchObject({
      md5: "a",
      rest: "md5x",
      repeated: undefined,
    });
    expect(tokenQuery("a=1;md5x&md5=a&expires=1", false).repeated).toBeUndefined();
  });
});

describe("readsAs()", () => {
  it("decodes a name three times, not four", () => {
    expect(readsAs("q%252575ality", ["quality"])).toBe("quality");
    expect(readsAs("q%25252575ality", ["quality"])).toBeUndefined();
  });

  it("keeps letters of either case and every digit, and nothing else", () => {
    expect(readsAs("M-D_5", ["md5"])).toBe("md5");
    expect(readsAs("X0", ["x0"])).toBe("x0");
    expect(readsAs("X9", ["x9"])).toBe("x9");
    expect(readsAs("AZaz", ["azaz"])).toBe("azaz");
    expect(readsAs("abc", ["md5"])).toBeUndefined();
    // Past `z`: no letter, skipped like any other sign.
    expect(readsAs("md~5{", ["md5"])).toBe("md5");
    // A broken escape is read as written.
    expect(readsAs("md5%zz", ["md5zz"])).toBe("md5zz");
  });

  it("reads nothing before a [ or = that starts the name", () => {
    expect(readsAs("[md5]", ["md5"])).toBeUndefined();
    expect(readsAs("=md5", ["md5"])).toBeUndefined();
    expect(readsAs("md5[]", ["md5"])).toBe("md5");
  });
});
