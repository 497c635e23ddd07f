import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as md5Module from "../../src/core/md5.js";
import { md5, md5Base64url, md5Portable } from "../../src/core/md5.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const reference = (data: Uint8Array | string) => createHash("md5").update(data).digest();

describe("md5's unrolled steps", () => {
  // Each step of compress() as written: `a = (x0 + K[0] + a + F) | 0; a = (((a << s) | …) + b) | 0;`
  const source = readFileSync(new URL("../../src/core/md5.ts", import.meta.url), "utf8");
  const steps = [
    ...source.matchAll(
      /([abcd]) = \(x(\d+) \+ K\[(\d+)\] \+ \1 \+ (.+?)\) \| 0;\s+\1 = \(\(\(\1 << (\d+)\) \| \(\1 >>> (\d+)\)\) \+ ([abcd])\) \| 0;/g,
    ),
  ].map((m) => [m[0], m[1], m[4], m[2], m[3], m[5], m[6], m[7]] as const);
  const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

  it("has all 64 steps", () => expect(steps).toHaveLength(64));

  it("adds K[i], the RFC 1321 §3.4 constant of its position, in step i", () => {
    steps.forEach((step, i) => expect(Number(step[4]), `step ${i}`).toBe(i));
  });

  it("reads message word k and rotates by s as RFC 1321 prescribes for each round", () => {
    steps.forEach((step, i) => {
      const round = i >> 4;
      const j = i % 16;
      const word = [j, (5 * j + 1) % 16, (3 * j + 5) % 16, (7 * j) % 16][round];
      const shift = SHIFTS[round * 4 + (i % 4)]!;
      expect(Number(step[3]), `step ${i} word`).toBe(word);
      expect([Number(step[5]), Number(step[6])], `step ${i} rotation`).toEqual([shift, 32 - shift]);
      // Registers rotate a, d, c, b; the sum is added to the next one along.
      expect([step[1], step[7]], `step ${i} registers`).toEqual(["adcb"[i % 4], "badc"[i % 4]]);
    });
  });
});

describe("md5", () => {
  // RFC 1321 appendix A.5.
  it.each([
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ],
    [
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
      "57edf4a22be3c955ac49da2e2107b67a",
    ],
  ])("hashes the RFC 1321 vector %j", (text, digest) => {
    expect(hex(md5(new TextEncoder().encode(text)))).toBe(digest);
    expect(md5Base64url(text)).toBe(Buffer.from(digest, "hex").toString("base64url"));
  });

  it("matches node:crypto for every length from 0 to 1100 bytes", () => {
    const data = randomBytes(1100);
    for (let length = 0; length <= 1100; length++) {
      const slice = data.subarray(0, length);
      expect(hex(md5(slice)), `length ${length}`).toBe(reference(slice).toString("hex"));
    }
  });

  it("matches node:crypto on unaligned input, which takes the copying path", () => {
    const data = randomBytes(1200);
    for (let offset = 1; offset < 4; offset++) {
      for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
        const slice = new Uint8Array(data.buffer, data.byteOffset + offset, length);
        expect(hex(md5(slice))).toBe(reference(slice).toString("hex"));
      }
    }
  });

  it("matches node:crypto on 300 random inputs up to 70 KiB", () => {
    for (let i = 0; i < 300; i++) {
      const data = randomBytes(Math.floor(Math.random() * 70_000));
      expect(hex(md5(data))).toBe(reference(data).toString("hex"));
    }
  });

  it("matches node:crypto on 8 MiB, so lengths past 2^22 bits are encoded right", () => {
    const data = randomBytes(8 * 1024 * 1024 + 3);
    expect(hex(md5(data))).toBe(reference(data).toString("hex"));
  });

  it("gives base64url of the UTF-8 bytes for every text length from 0 to 1100", () => {
    const alphabet = "abcXYZ019_-/+=.~";
    let text = "";
    for (let length = 0; length <= 1100; length++) {
      expect(md5Base64url(text), `length ${length}`).toBe(reference(text).toString("base64url"));
      text += alphabet[length % alphabet.length];
    }
  });

  it("encodes non-ASCII text as UTF-8, like Python's str.encode()", () => {
    for (const text of [
      "vidéo_1",
      "клиент_видео",
      "视频_秘密_1861919999_",
      "emoji 🎬_x",
      "\u0000\u007f",
    ]) {
      expect(md5Base64url(text)).toBe(reference(Buffer.from(text, "utf8")).toString("base64url"));
    }
  });

  it("takes the portable path, as a big-endian engine would, with the same results", () => {
    // md5Portable never reads words through a typed-array view, so it does not depend on the
    // platform's byte order: what a big-endian engine runs for every input.
    const data = randomBytes(1300);
    for (let length = 0; length <= 1300; length += length < 200 ? 1 : 37) {
      for (const offset of [0, 1]) {
        const slice = data.subarray(offset, offset + length);
        expect(hex(md5Portable(slice)), `length ${length}`).toBe(reference(slice).toString("hex"));
      }
    }
  });

  it("hashes long text and then short text right", () => {
    const long = "x".repeat(100_000) + "é".repeat(10_000);
    expect(md5Base64url(long)).toBe(reference(Buffer.from(long, "utf8")).toString("base64url"));
    expect(md5Base64url("abc")).toBe("kAFQmDzST7DWlj99KOF_cg");
  });

  it("returns a fresh digest each call", () => {
    const a = md5(new Uint8Array([1]));
    const b = md5(new Uint8Array([2]));
    expect(hex(a)).not.toBe(hex(b));
    expect(hex(a)).toBe(reference(new Uint8Array([1])).toString("hex"));
  });
});

describe("the md5 module", () => {
  it("exports pure functions only: no buffer, no state a caller could reach", () => {
    for (const [name, value] of Object.entries(md5Module)) {
      expect(typeof value, name).toBe("function");
    }
  });

  it("gives each caller its own result: scribbling on one changes no other", () => {
    const abc = new TextEncoder().encode("abc");
    const first = md5(abc);
    first.fill(0x41);
    expect(hex(md5(abc))).toBe(reference(abc).toString("hex"));
    expect(hex(md5Portable(abc))).toBe(reference(abc).toString("hex"));
  });
});
