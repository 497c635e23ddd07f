import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide, gateSettings, type Decision } from "../../src/core/decide.js";
import { unsafePathDetail } from "../../src/core/link.js";
import * as md5Module from "../../src/core/md5.js";
import { signToken } from "../../src/core/token.js";

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

/** What a decision says, comparably. */
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

/** A link with one to three characters inserted, deleted or replaced by hostile ones. */
function mutated(base: string): fc.Arbitrary<string> {
  const edit = fc.tuple(
    fc.nat({ max: base.length }),
    fc.constantFrom("insert", "delete", "replace"),
    fc.constantFrom(...HOSTILE),
  );
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    const chars = [...base];
    for (const [at, kind, text] of edits) {
      if (kind === "insert") chars.splice(at, 0, text);
      else if (kind === "delete") chars.splice(at, 1);
      else chars.splice(at, 1, text);
    }
    return chars.join("");
  });
}

/** Seeded from the environment when given (to replay a failure), printed by fast-check. */
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

describe("decide()", () => {
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

  it("grants a mutated link only inside its signed folder, and never throws", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...bases).chain(mutated),
        fc.constantFrom("GET", "HEAD", "POST"),
        (target, method) => {
          const decision = decide(method, target, settings);
          if (decision.action !== "proxy") return;
          expect(method).not.toBe("POST");
          const { clientId, videoId, token, expires } = decision.link;
          // Only a right token is granted, so the folder is one that was signed.
          expect(token).toBe(signToken({ clientId, videoId, secret: SECRET, expires }));
          expect(decision.target.startsWith(`/videos/${clientId}_${videoId}/`)).toBe(true);
          const path = decision.target.split("?")[0]!;
          expect(unsafePathDetail(path), path).toBeUndefined();
          expect(Number(expires)).toBeGreaterThanOrEqual(NOW);
        },
      ),
      { numRuns: 20_000, seed: SEED },
    );
  });

  it("is not changed by anything another caller hashes through the md5 module", () => {
    // Every md5 export is called with 200 bytes of "A", and whatever it hands back is written
    // over, as a careless or hostile caller in the same process might.
    const scribble = () => {
      for (const fn of Object.values(md5Module) as ((data: unknown) => unknown)[]) {
        const out = fn(new Uint8Array(200).fill(0x41));
        if (out instanceof Uint8Array) out.fill(0x41);
      }
    };
    const forged = (video: string) => {
      // What a token over the scribbled buffer would be, for a link signed by nobody.
      const token = md5Module.md5Base64url(`2675_${video}_${"A".repeat(40)}_${NOW}_`);
      return `/videos/2675_${video}/${token}/${NOW}/f.ts`;
    };
    for (let i = 0; i < 50; i++) {
      scribble();
      expect(decide("GET", link(`v${i}`), settings).action).toBe("proxy");
      scribble();
      expect(decide("GET", forged(`other${i}`), settings).action).toBe("reject");
    }
  });

  it("keeps the settings of each caller apart", () => {
    const other = gateSettings({ secret: "another-secret", now: () => NOW });
    const otherToken = signToken({
      clientId: "2675",
      videoId: "abc",
      secret: "another-secret",
      expires: NOW,
    });
    const otherLink = `/videos/2675_abc/${otherToken}/${NOW}/f.ts`;
    for (let i = 0; i < 3; i++) {
      expect(decide("GET", link("abc"), settings).action).toBe("proxy");
      expect(decide("GET", otherLink, other).action).toBe("proxy");
      expect(decide("GET", link("abc"), other).action).toBe("reject");
      expect(decide("GET", otherLink, settings).action).toBe("reject");
    }
  });

  it.each([
    ["a valid link", link(), "proxy"],
    ["an expired link", link("v", NOW - 1), 410],
    ["a link in its last second", link("v", NOW), "proxy"],
    ["a dot segment", link().replace("720/", "../"), 403],
    ["a dot segment with ;params", link().replace("720/", "..;/"), 403],
    ["a dot segment with %3b params", link().replace("720/", ".%3bjsessionid=1/"), 403],
    ["an encoded dot segment with ;params", link().replace("720/", "%2e%2e;x=1/"), 403],
    ["a segment empty before its ;", link().replace("720/", ";x/"), 403],
    ["a ; inside a name", link().replace("seg-1", "seg;1"), "proxy"],
    ["a percent-escaped file", link().replace("seg-1", "seg%201"), "proxy"],
    ["19-digit expires", link("v", 1234567890123456789n), "proxy"],
  ])("answers %s", (_, target, expected) => {
    const decision = decide("GET", target, settings);
    expect(decision.action === "reject" ? decision.status : decision.action).toBe(expected);
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

  it("reads the path of an absolute URL whatever its host holds", () => {
    const gate = gateSettings({ secret: SECRET, prefixes: ["a_b_c"], now: () => NOW });
    const token = signToken({ clientId: "b", videoId: "c", secret: SECRET, expires: NOW });
    for (const target of [
      `http://ÿÿÿÿ/a_b_c/${token}/${NOW}/f.ts`,
      `http://ÿÿÿÿ/a_b_c/${token}/${NOW}/f.ts?part=4`,
    ]) {
      expect(decide("GET", target, gate).action, target).toBe("reject");
    }
    expect(summary(decide("GET", `https://gaté.test${link()}`, settings))).toEqual(
      summary(decide("GET", link(), settings)),
    );
  });

  it.each([
    ["after the file", link() + "#x"],
    ["hiding a traversal", link("v", NOW + 60, "a.ts#/../../2675_other/x.ts")],
    ["in the query", link() + "?part=4#x"],
    ["cutting the file off", link("v", NOW + 60, "#a.ts")],
  ])("refuses a raw # %s: no HTTP client sends a fragment, so it is not one", (_, target) => {
    expect(summary(decide("GET", target, settings))).toEqual({
      action: "reject",
      status: 403,
      reason: "unsafe-path",
    });
  });
});

describe("decide() with IP-bound tokens (BIND_IP)", () => {
  const expires = NOW + 60;
  const path = (ip?: string) =>
    `/videos/2675_abc/${signToken({ clientId: "2675", videoId: "abc", secret: SECRET, expires, ip })}/${expires}/x.ts`;
  const gate = (bindIp: "off" | "on" | "optional") =>
    gateSettings({ secret: SECRET, now: () => NOW, bindIp });
  const status = (bindIp: "off" | "on" | "optional", target: string, address?: string) => {
    const decision = decide("GET", target, gate(bindIp), address);
    return decision.action === "reject" ? decision.status : decision.action;
  };

  it("off (the default): only unbound tokens verify", () => {
    expect(status("off", path(), "1.2.3.4")).toBe("proxy");
    expect(status("off", path("1.2.3.4"), "1.2.3.4")).toBe(403);
    expect(gateSettings({ secret: SECRET }).bindIp).toBe("off");
  });

  it("on: only a token bound to the client's address verifies", () => {
    expect(status("on", path("1.2.3.4"), "1.2.3.4")).toBe("proxy");
    expect(status("on", path("1.2.3.4"), "::ffff:1.2.3.4")).toBe("proxy");
    expect(status("on", path("2001:db8::7"), "2001:DB8:0:0:0:0:0:7")).toBe("proxy");
    expect(status("on", path("1.2.3.4"), "1.2.3.5")).toBe(403);
    expect(status("on", path("1.2.3.4"), undefined)).toBe(403);
    expect(status("on", path("1.2.3.4"), "garbage")).toBe(403);
    expect(status("on", path(), "1.2.3.4")).toBe(403);
  });

  it("optional: a bound token for the client's address, or an unbound one", () => {
    expect(status("optional", path("1.2.3.4"), "1.2.3.4")).toBe("proxy");
    expect(status("optional", path(), "1.2.3.4")).toBe("proxy");
    expect(status("optional", path(), undefined)).toBe("proxy");
    expect(status("optional", path("1.2.3.4"), "1.2.3.5")).toBe(403);
  });

  it("says 410 only for a right token: bound to this address, or unbound", () => {
    const old = NOW - 10;
    const expired = (ip?: string) =>
      `/videos/2675_abc/${signToken({ clientId: "2675", videoId: "abc", secret: SECRET, expires: old, ip })}/${old}/x.ts`;
    expect(status("on", expired("1.2.3.4"), "1.2.3.4")).toBe(410);
    expect(status("on", expired("1.2.3.4"), "1.2.3.5")).toBe(403);
    expect(status("optional", expired(), "1.2.3.5")).toBe(410);
  });

  it("refuses a bindIp it does not know", () => {
    expect(() => gateSettings({ secret: SECRET, bindIp: "yes" as "on" })).toThrow(/bindIp/);
  });
});
