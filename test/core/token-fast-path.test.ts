/**
 * signToken's fast path (ids of the usual shape skip the full validation; the body is hashed
 * from its parts) held to the full validation and to node:crypto.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { md5Base64urlJoined } from "../../src/core/md5.js";
import { idsProblem, isPlainIdPair, signToken } from "../../src/core/token.js";
import { runs } from "../helpers/runs.js";

/** Characters ids are made of here: the usual ones, and every kind the rules refuse or allow. */
const CHARACTERS = [
  ..."aZ09-_",
  ..."./\\?#;%~!$&'()*+,=:@ \t\x00\x7f",
  "é",
  "\u{1f600}",
  "\ud800",
  "%2e",
  "%5F",
  "%41",
  "%e9",
  "..",
];
/** Ids near the usual shape: mostly its characters, now and then another. */
const nearPlain = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(..."abcXYZ0189-_") },
      fc.constantFrom(...CHARACTERS),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(""));
/** Ids of the usual shape alone. */
const plainClient = fc.stringMatching(/^[A-Za-z0-9-]{1,16}$/);
const plainVideo = fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/);
const anyId = fc.oneof(nearPlain, plainClient, plainVideo, fc.string(), fc.anything());

const reference = (text: string) => createHash("md5").update(text, "utf8").digest("base64url");

describe("signToken's fast path", () => {
  it("takes only ids the full validation accepts", () => {
    fc.assert(
      fc.property(anyId, anyId, (clientId, videoId) => {
        if (isPlainIdPair(clientId, videoId)) expect(idsProblem(clientId, videoId)).toBeUndefined();
      }),
      { numRuns: runs(20_000) },
    );
  });

  it("takes every pair of the usual id shape", () => {
    fc.assert(
      fc.property(plainClient, plainVideo, (clientId, videoId) => {
        expect(isPlainIdPair(clientId, videoId)).toBe(true);
      }),
      { numRuns: runs(2_000) },
    );
  });

  it("refuses with the full validation's message, and signs what it accepts", () => {
    fc.assert(
      fc.property(anyId, anyId, fc.integer({ min: 1 }), (clientId, videoId, expires) => {
        const input = { clientId, videoId, secret: "s3cret", expires } as Parameters<
          typeof signToken
        >[0];
        const problem = idsProblem(clientId, videoId);
        if (problem !== undefined) {
          expect(() => signToken(input)).toThrow(new TypeError(problem));
        } else {
          expect(signToken(input)).toBe(reference(`${clientId}_${videoId}_s3cret_${expires}_`));
        }
      }),
      { numRuns: runs(10_000) },
    );
  });

  it("treats an expiry given as a number as the full check does", () => {
    for (const expires of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, -0]) {
      expect(() => signToken({ clientId: "1", videoId: "v", secret: "s", expires })).toThrow(
        RangeError,
      );
    }
    expect(
      signToken({ clientId: "1", videoId: "v", secret: "s", expires: Number.MAX_SAFE_INTEGER }),
    ).toBe(reference(`1_v_s_${Number.MAX_SAFE_INTEGER}_`));
  });
});

describe("md5Base64urlJoined", () => {
  it("is md5Base64url of the parts joined by _, for every split and length", () => {
    const part = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.string({ unit: "binary", maxLength: 70 }),
      fc.constantFrom("", "é", "\ud800", "x".repeat(64), "y".repeat(55)),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
        expect(md5Base64urlJoined(parts)).toBe(reference(parts.join("_")));
      }),
      { numRuns: runs(20_000) },
    );
  });

  it("pads every body length from 0 to 200 bytes right, wherever a part ends", () => {
    for (let length = 0; length <= 200; length++) {
      const text = "abcdefghij".repeat(21).slice(0, length);
      for (const cut of [0, 1, 3, 4, 5, 55, 56, 63, 64, 65]) {
        if (cut > length) continue;
        // One `_` between the two parts, in place of the character at the cut.
        const parts = cut < length ? [text.slice(0, cut), text.slice(cut + 1)] : [text];
        const joined = parts.join("_");
        expect(md5Base64urlJoined(parts), `${length} cut at ${cut}`).toBe(reference(joined));
      }
    }
  });
});
