import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decide,
  decideInDetail,
  gateSettings,
  type Decision,
  type GateSettings,
} from "../../src/gate.js";
import { md5, md5Base64url } from "../../src/md5.js";
import { signToken } from "../../src/token.js";

const SECRET = "gate-secret-é";
const NOW = 1_800_000_000;
const settings = gateSettings({ secret: SECRET, prefixes: ["videos", "cmaf"], now: () => NOW });

function link(
  video = "3dk4NsRt6vWsffEr",
  expires: number | bigint = NOW + 60,
  file = "720/seg-1.ts",
  client = "2675",
) {
  const token = signToken({ clientId: client, videoId: video, secret: SECRET, expires });
  return `/videos/${client}_${video}/${token}/${expires}/${file}`;
}

/** What a decision says, comparably: the fast path returns a lazy grant object. */
function summary(decision: Decision) {
  if (decision.action === "proxy") {
    const { kind, clientId, videoId, token, expires, file } = decision.link;
    return {
      action: "proxy",
      target: decision.target,
      link: { kind, clientId, videoId, token, expires, file },
    };
  }
  if (decision.action === "reject")
    return { action: "reject", status: decision.status, reason: decision.reason };
  return { action: "pass" };
}

const HOSTILE = [
  "/",
  "//",
  ".",
  "..",
  "%2e",
  "%2E",
  "%2f",
  "%5c",
  "%00",
  "%0a",
  "%",
  "%zz",
  "\\",
  "_",
  "?",
  "#",
  "é",
  " ",
  "~",
  "%25",
  "0",
  "A",
  "-",
  ";",
  "@",
];

function mutate(path: string): string {
  const chars = [...path];
  const edits = randomInt(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = randomInt(0, chars.length + 1);
    const kind = randomInt(3);
    if (kind === 0) chars.splice(at, 0, HOSTILE[randomInt(HOSTILE.length)]!);
    else if (kind === 1) chars.splice(at, 1);
    else chars.splice(at, 1, HOSTILE[randomInt(HOSTILE.length)]!);
  }
  return chars.join("");
}

describe("decide()", () => {
  it("answers exactly as the reference decision on 20,000 mutated links", () => {
    const bases = [
      link(),
      link("a_b_c", NOW, "x.ts"),
      link("v", NOW - 1, "a/b/c.m3u8"),
      link("3dk4NsRt6vWsffEr", NOW + 1, "dir/"),
      link("x", 1, "f.ts", "9"),
      link("id", 999999999999999999n, "f.ts"),
      link("id", NOW, "f.ts") + "?part=4",
      "https://gate.test" + link(),
      "https://gaté.test" + link(),
    ];
    for (let i = 0; i < 20_000; i++) {
      const base = bases[i % bases.length]!;
      const target = i < bases.length ? base : mutate(base);
      for (const method of ["GET", "HEAD"]) {
        expect(summary(decide(method, target, settings)), target).toEqual(
          summary(decideInDetail(method, target, settings)),
        );
      }
    }
  });

  it("keeps the secret it leaves in the MD5 buffer right across ids, refusals and settings", () => {
    const other = gateSettings({ secret: "another-secret", now: () => NOW });
    const otherLink = (video: string) => {
      const token = signToken({
        clientId: "2675",
        videoId: video,
        secret: "another-secret",
        expires: NOW,
      });
      return `/videos/2675_${video}/${token}/${NOW}/f.ts`;
    };
    const steps: [string, GateSettings, string][] = [
      [link("abc"), settings, "proxy"],
      // A longer id refused half-way writes over where the secret sat for "abc".
      [link("abcdefghijklmnopqrstuvwxyz").replace("xyz", "x%79z"), settings, "reject"],
      [link("abc"), settings, "proxy"],
      [link("abcdefghijklmnopqrstuvwxyz"), settings, "proxy"],
      [link("abc"), settings, "proxy"],
      [otherLink("abc"), other, "proxy"],
      [link("abc"), settings, "proxy"],
      [link("abc"), other, "reject"],
      // Long enough to make the MD5 buffer grow.
      [link("v".repeat(3000)), settings, "proxy"],
      [link("abc"), settings, "proxy"],
    ];
    for (const [target, gate, expected] of steps) {
      md5Base64url("x".repeat(5000)); // other users of the module hash in between
      md5(new Uint8Array(100));
      expect(decide("GET", target, gate).action, target).toBe(expected);
    }
  });

  it.each([
    ["a valid link", link(), "proxy"],
    ["an expired link", link("v", NOW - 1), 410],
    ["a link in its last second", link("v", NOW), "proxy"],
    ["a dot segment", link().replace("720/", "../"), 403],
    ["a percent-escaped file", link().replace("seg-1", "seg%201"), "proxy"],
    ["19-digit expires", link("v", 1234567890123456789n), "proxy"],
  ])("agrees with the reference on %s", (_, target, expected) => {
    const fast = decide("GET", target, settings);
    expect(summary(fast)).toEqual(summary(decideInDetail("GET", target, settings)));
    expect(fast.action === "reject" ? fast.status : fast.action).toBe(expected);
  });

  it("refuses every token that differs from the right one in a single character", () => {
    const target = link();
    const at = target.indexOf("/", "/videos/".length) + 1;
    for (let k = 0; k < 22; k++) {
      const c = target[at + k] === "A" ? "B" : "A";
      const wrong = target.slice(0, at + k) + c + target.slice(at + k + 1);
      expect(summary(decide("GET", wrong, settings)), wrong).toEqual({
        action: "reject",
        status: 403,
        reason: "bad-token",
      });
    }
  });

  it("does not read a link out of place when non-ASCII before the path shifts its bytes", () => {
    // "ÿ" is two bytes in UTF-8: four of them would move the encoded path four bytes to the
    // right of its string offsets, so that "b_c" at the end of the prefix looked like the id
    // and the real id segment like a token signed for it.
    const gate = gateSettings({ secret: SECRET, prefixes: ["a_b_c"], now: () => NOW });
    const token = signToken({ clientId: "b", videoId: "c", secret: SECRET, expires: NOW });
    for (const target of [
      `http://ÿÿÿÿ/a_b_c/${token}/${NOW}/f.ts`,
      `http://ÿÿÿÿ/a_b_c/${token}/${NOW}/f.ts?part=4`,
    ]) {
      expect(summary(decide("GET", target, gate)), target).toEqual(
        summary(decideInDetail("GET", target, gate)),
      );
      expect(decide("GET", target, gate).action, target).toBe("reject");
    }
  });
});
