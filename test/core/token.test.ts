import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { md5Base64url } from "../../src/core/md5.js";
import { isExpires } from "../../src/core/link.js";
import { signToken, timingSafeEqual, verifyToken } from "../../src/core/token.js";
import { pythonTokens, type SnippetCase } from "../helpers/python.js";
import { sized } from "../helpers/runs.js";

type Vector = SnippetCase & { token: string };
const fixture = (name: string): Vector[] =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8"));
const pythonVectors = fixture("python-vectors.json");
const goVectors = fixture("go-vectors.json");

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.~";
/** Ids a URL carries as written; the signer refuses others (the gate would never verify them). */
const asWritten = (c: SnippetCase) => /^[\x21-\x7e]+$/.test(c.client_id + c.video_id);

/**
 * signToken's answer for a snippet case: the token for ids a URL carries as written; for
 * others, a TypeError, and then the MD5 of the UTF-8 body must still be the snippet's.
 */
function signedLikeSnippet(c: SnippetCase): string {
  const input = {
    clientId: c.client_id,
    videoId: c.video_id,
    secret: c.secret,
    expires: c.expires,
  };
  if (asWritten(c)) return signToken(input);
  expect(() => signToken(input), JSON.stringify(c)).toThrow(TypeError);
  return md5Base64url(`${c.client_id}_${c.video_id}_${c.secret}_${c.expires}_`);
}

const randomText = (min: number, max: number, alphabet = ALPHABET) =>
  Array.from({ length: randomInt(min, max + 1) }, () => alphabet[randomInt(alphabet.length)]).join(
    "",
  );

describe("signToken", () => {
  it.each([
    ["Python", pythonVectors],
    ["Go", goVectors],
  ])("equals the committed vectors of Gcore's %s snippet", (_, vectors) => {
    expect(vectors.length).toBeGreaterThan(200);
    for (const v of vectors) expect(signedLikeSnippet(v), JSON.stringify(v)).toBe(v.token);
  });

  it("equals Gcore's Python snippet run live on 1,000 random links (100 under mutation testing)", () => {
    const count = sized(1000, 100);
    const cases: SnippetCase[] = Array.from({ length: count }, (_, i) => ({
      client_id: String(randomInt(1, 10_000_000)),
      video_id: randomText(1, 40, ALPHABET + "_") + (i % 50 === 0 ? "é" : ""),
      secret: randomText(6, 32),
      expires: String(randomInt(1, 2 ** 47)),
    }));
    const tokens = pythonTokens(cases);
    expect(tokens).toHaveLength(count);
    cases.forEach((c, i) => expect(signedLikeSnippet(c), JSON.stringify(c)).toBe(tokens[i]));
  });

  it("accepts expires as a number, a bigint or a string of digits", () => {
    const base = { clientId: "2675", videoId: "abc", secret: "s3cret" };
    const fromNumber = signToken({ ...base, expires: 1861919999 });
    expect(signToken({ ...base, expires: 1861919999n })).toBe(fromNumber);
    expect(signToken({ ...base, expires: "1861919999" })).toBe(fromNumber);
  });

  it.each([
    ["an empty secret", { secret: "" }, TypeError],
    ["a client id with _", { clientId: "26_75" }, TypeError],
    ["a client id with /", { clientId: "26/75" }, TypeError],
    ["an empty video id", { videoId: "" }, TypeError],
    ["a video id with /", { videoId: "a/b" }, TypeError],
    ["a non-ASCII video id, which the gate refuses raw", { videoId: "vidéo" }, TypeError],
    ["a non-ASCII client id", { clientId: "клиент" }, TypeError],
    ["a video id with a space", { videoId: "my clip" }, TypeError],
    ["a video id with a control byte", { videoId: "a\u0000b" }, TypeError],
    ["a lone surrogate", { videoId: "a\ud800" }, TypeError],
    ["a video id with ?", { videoId: "a?b" }, TypeError],
    ["a video id with #", { videoId: "a#b" }, TypeError],
    ["a video id with \\", { videoId: "a\\b" }, TypeError],
    ["a video id with an encoded slash", { videoId: "a%2fb" }, TypeError],
    ["a video id with an encoded NUL", { videoId: "a%00b" }, TypeError],
    ["a video id with a broken escape", { videoId: "a%zz" }, TypeError],
    ["a video id with overlong UTF-8", { videoId: "%c0%ae" }, TypeError],
    ["a client id starting with ;", { clientId: ";x" }, TypeError],
    ["expires of 0", { expires: 0 }, RangeError],
    ["negative expires", { expires: -5 }, RangeError],
    ["fractional expires", { expires: 1.5 }, RangeError],
    ["expires beyond int64", { expires: 9223372036854775808n }, RangeError],
    ["expires as text with a sign", { expires: "+100" }, RangeError],
  ])("rejects %s", (_, change, error) => {
    const input = {
      clientId: "2675",
      videoId: "abc",
      secret: "s3cret",
      expires: 1861919999,
      ...change,
    };
    expect(() => signToken(input as never)).toThrow(error);
  });
});

describe("verifyToken", () => {
  const secret = "s3cret";
  const parts = { clientId: "2675", videoId: "abc_1", secret, expires: "1800000000" };
  const token = signToken(parts);

  it.each([
    ["valid", 1_799_999_999],
    ["valid", 1_800_000_000],
    ["expired", 1_800_000_001],
  ] as const)("says %s when now is %i", (verdict, now) => {
    expect(verifyToken({ ...parts, token, now })).toBe(verdict);
  });

  it("says bad-token for a wrong token even after expiry", () => {
    const wrong = token.slice(0, -1) + (token.endsWith("A") ? "Q" : "A");
    expect(verifyToken({ ...parts, token: wrong, now: 1 })).toBe("bad-token");
    expect(verifyToken({ ...parts, token: wrong, now: 2_000_000_000 })).toBe("bad-token");
  });

  it("says malformed for shapes no link can have", () => {
    expect(verifyToken({ ...parts, token: token + "A", now: 1 })).toBe("malformed");
    expect(verifyToken({ ...parts, token, expires: "01800000000", now: 1 })).toBe("malformed");
    expect(verifyToken({ ...parts, token, secret: "", now: 1 })).toBe("malformed");
    expect(verifyToken({ ...parts, token, clientId: "a_b", now: 1 })).toBe("malformed");
  });

  it("never throws, whatever it is given", () => {
    const junk = [
      undefined,
      null,
      0,
      1n,
      {},
      [],
      "",
      "x".repeat(10_000),
      "\u0000",
      "é",
      Symbol("s"),
    ];
    for (let i = 0; i < 2000; i++) {
      const pick = () =>
        i % 3 === 0
          ? junk[randomInt(junk.length)]
          : randomBytes(randomInt(0, 30)).toString("latin1");
      const input = {
        clientId: pick(),
        videoId: pick(),
        secret: pick(),
        expires: pick(),
        token: pick(),
        now: i,
      };
      expect(() => verifyToken(input as never)).not.toThrow();
    }
    expect(verifyToken(undefined as never)).toBe("malformed");
    expect(verifyToken("link" as never)).toBe("malformed");
  });
});

describe("isExpires", () => {
  it.each([
    ["1", true],
    ["9223372036854775807", true],
    ["9223372036854775808", false],
    ["10000000000000000000", false],
    ["0", false],
    ["01", false],
    ["-1", false],
    ["1e9", false],
    ["", false],
  ])("%j → %s", (text, ok) => expect(isExpires(text)).toBe(ok));
});

describe("timingSafeEqual", () => {
  it("compares whole strings of any lengths", () => {
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "ab")).toBe(false);
    expect(timingSafeEqual("", "")).toBe(true);
    expect(timingSafeEqual("a\u0000", "a")).toBe(false);
  });
});

describe("signToken's refusal of ids the gate cannot verify", () => {
  it("names the id and gives the percent-encoded form to sign instead", () => {
    const input = { clientId: "2675", videoId: "vidéo", secret: "s", expires: 1861919999 };
    expect(() => signToken(input)).toThrow(/videoId "vidéo" .* \(vid%C3%A9o\)/);
    // The encoded form is what a URL carries, so it signs, and the gate checks it as written.
    expect(signToken({ ...input, videoId: "vid%C3%A9o" })).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe("IP-bound tokens (Gcore's variant: the address after the last _)", () => {
  const input = {
    clientId: "2675",
    videoId: "pG8TfmKx2LU2qs",
    secret: "secret_key",
    expires: 1861919999,
  };

  it("signs Gcore's documented vector", () => {
    expect(signToken({ ...input, ip: "1.2.3.4" })).toBe("no_WoxDbZBKghjboarsNXw");
  });

  it("hashes the canonical form of the address, whatever its spelling", () => {
    expect(signToken({ ...input, ip: "::ffff:1.2.3.4" })).toBe("no_WoxDbZBKghjboarsNXw");
    expect(signToken({ ...input, ip: "2001:DB8:0:0:0:0:0:7" })).toBe(
      signToken({ ...input, ip: "2001:db8::7" }),
    );
  });

  it("is a different token from the unbound one, and verifies only with its address", () => {
    const token = signToken({ ...input, ip: "1.2.3.4" });
    expect(token).not.toBe(signToken(input));
    const verify = (ip?: string) =>
      verifyToken({ ...input, expires: "1861919999", token, ip, now: 1_800_000_000 });
    expect(verify("1.2.3.4")).toBe("valid");
    expect(verify("1.2.3.5")).toBe("bad-token");
    expect(verify(undefined)).toBe("bad-token");
  });

  it.each(["1.2.3", "localhost", "", "1.2.3.4 "])("refuses to sign for %j", (ip) => {
    expect(() => signToken({ ...input, ip })).toThrow(TypeError);
  });
});
