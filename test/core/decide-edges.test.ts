/**
 * Edges of gateSettings() and decide() that the other suites left unheld, found by mutation
 * testing (`npm run test:mutation`): each test fails on a mutant Stryker reported as surviving.
 */
import { describe, expect, it } from "vitest";
import { decide, gateSettings, isGuarded, isOptionError } from "../../src/core/decide.js";
import { signMp4Token, signQueryToken } from "../../src/core/query-token.js";
import { signToken } from "../../src/core/token.js";

const S = "edge-secret";
const NOW = 1_800_000_000;
const LATER = NOW + 600;

describe("gateSettings()", () => {
  it("refuses no options at all with the line naming the secret (a JavaScript caller)", () => {
    expect(() => gateSettings(undefined as never)).toThrow(
      "secret is required: set it to the secret your links are signed with",
    );
  });

  it.each(["prefixes", "queryPrefixes"] as const)(
    "takes %s with a dot inside or at the end, and refuses one starting with a dot",
    (option) => {
      const other = option === "prefixes" ? {} : { prefixes: ["videos"] };
      for (const segment of ["a.", "v.1", "a..b.."]) {
        expect(gateSettings({ secret: S, ...other, [option]: [segment] })[option]).toEqual([
          segment,
        ]);
      }
      for (const segment of [".", "..", ".a"]) {
        expect(() => gateSettings({ secret: S, ...other, [option]: [segment] })).toThrow(
          `${option}: "${segment}" is not a single path segment`,
        );
      }
    },
  );

  it('refuses queryPrefixes "*" with client secrets alone (a CDN token names no client)', () => {
    expect(() => gateSettings({ clientSecrets: { "1": "c" }, queryPrefixes: "*" })).toThrow(
      "queryPrefixes: CDN tokens name no client, so they need secret besides clientSecrets",
    );
    expect(gateSettings({ clientSecrets: { "1": "c" } }).queryPrefixes).toEqual([]);
  });
});

describe("isOptionError()", () => {
  it("is true for gateSettings' errors only", () => {
    let thrown: unknown;
    try {
      gateSettings({ secret: S, bindIp: "maybe" as never });
    } catch (error) {
      thrown = error;
    }
    expect(isOptionError(thrown)).toBe(true);
    expect(isOptionError(new Error("bindIp must be off"))).toBe(false);
    expect(isOptionError({ message: "x", option: "bindIp" })).toBe(false);
    const numbered = Object.assign(new Error("x"), { option: 5 });
    expect(isOptionError(numbered)).toBe(false);
  });
});

describe("a path with no second segment", () => {
  it("is guarded when its one segment is a CDN-token prefix, and refused without a token", () => {
    const settings = gateSettings({ secret: S, queryPrefixes: ["cdn"], now: () => NOW });
    expect(isGuarded("/cdn", settings)).toBe(true);
    expect(isGuarded("/cdn?x=1", settings)).toBe(true);
    expect(isGuarded("/cdnx", settings)).toBe(false);
    expect(isGuarded("/", settings)).toBe(false);
    expect(decide("GET", "/cdn", settings)).toEqual({
      action: "reject",
      status: 403,
      reason: "malformed",
      detail: "no single md5 and expires of the right shape in the query",
    });
    expect(decide("GET", "/cdnx", settings)).toEqual({ action: "pass" });
    // The token of a one-segment path verifies like any other.
    const md5 = signQueryToken({ path: "/cdn", secret: S, expires: LATER });
    expect(decide("GET", `/cdn?md5=${md5}&expires=${LATER}`, settings)).toEqual({
      action: "proxy",
      form: "query",
      target: "/cdn",
      propagate: `md5=${md5}&expires=${LATER}`,
    });
  });
});

describe("decide() grants", () => {
  it("a stream link without a query as its path alone, with no `?`", () => {
    const settings = gateSettings({ secret: S, now: () => NOW });
    const token = signToken({ clientId: "1", videoId: "v", secret: S, expires: LATER });
    const link = `/videos/1_v/${token}/${LATER}/a.ts`;
    expect(decide("GET", link, settings)).toMatchObject({ target: "/videos/1_v/a.ts" });
    expect(decide("GET", `${link}?`, settings)).toMatchObject({ target: "/videos/1_v/a.ts" });
    expect(decide("GET", `${link}?Stryker was here!`, settings)).toMatchObject({
      target: "/videos/1_v/a.ts?Stryker was here!",
    });
  });

  it("a CDN token keeping speed and buffer in the query (they are MP4 parameters only)", () => {
    const settings = gateSettings({ secret: S, queryPrefixes: ["cdn"], now: () => NOW });
    const md5 = signQueryToken({ path: "/cdn/a.mp4", secret: S, expires: LATER });
    expect(
      decide("GET", `/cdn/a.mp4?md5=${md5}&speed=100k&expires=${LATER}&buffer=1m`, settings),
    ).toEqual({
      action: "proxy",
      form: "query",
      target: "/cdn/a.mp4?speed=100k&buffer=1m",
      propagate: `md5=${md5}&expires=${LATER}`,
    });
  });
});

describe("decide() with MP4 tokens", () => {
  const uri = "/videos/2675_abc/movie.mp4";

  it("signs with the client's own secret, read from the path", () => {
    const settings = gateSettings({
      secret: S,
      clientSecrets: { "2675": "client-secret" },
      mp4Tokens: true,
      now: () => NOW,
    });
    const md5 = signMp4Token({ uri, secret: "client-secret", expires: LATER });
    expect(decide("GET", `${uri}?md5=${md5}&expires=${LATER}`, settings)).toEqual({
      action: "proxy",
      form: "mp4",
      target: uri,
      rate: {},
    });
    const global = signMp4Token({ uri, secret: S, expires: LATER });
    expect(decide("GET", `${uri}?md5=${global}&expires=${LATER}`, settings)).toMatchObject({
      status: 403,
      reason: "bad-token",
    });
  });

  it("gives no rate field for a speed or buffer not in the link", () => {
    const settings = gateSettings({ secret: S, mp4Tokens: true, now: () => NOW });
    const md5 = signMp4Token({ uri, secret: S, expires: LATER, buffer: "2m" });
    const decision = decide("GET", `${uri}?md5=${md5}&expires=${LATER}&buffer=2m`, settings);
    expect(decision).toStrictEqual({
      action: "proxy",
      form: "mp4",
      target: uri,
      rate: { buffer: 2 * 1024 * 1024 },
    });
    const speedOnly = signMp4Token({ uri, secret: S, expires: LATER, speed: "10k" });
    expect(
      decide("GET", `${uri}?md5=${speedOnly}&expires=${LATER}&speed=10k`, settings),
    ).toStrictEqual({ action: "proxy", form: "mp4", target: uri, rate: { speed: 10 * 1024 } });
  });

  it("says why a bad speed is refused, and leaves a link without md5 to the link rules", () => {
    const settings = gateSettings({ secret: S, mp4Tokens: true, now: () => NOW });
    const md5 = signMp4Token({ uri, secret: S, expires: LATER });
    expect(decide("GET", `${uri}?md5=${md5}&expires=${LATER}&speed=fast`, settings)).toEqual({
      action: "reject",
      status: 403,
      reason: "malformed",
      detail: "no single md5 and expires, or a bad speed or buffer",
    });
    const plain = decide("GET", `${uri}?expires=${LATER}`, settings);
    expect(plain).toMatchObject({ action: "reject", status: 403, reason: "malformed" });
    expect(plain).not.toMatchObject({
      detail: "no single md5 and expires, or a bad speed or buffer",
    });
  });
});

describe('decide() with bindIp "on"', () => {
  it("refuses an unbound token when the gate knows no address (as bad-token)", () => {
    const settings = gateSettings({ secret: S, bindIp: "on", now: () => NOW });
    const token = signToken({ clientId: "1", videoId: "v", secret: S, expires: LATER });
    const link = `/videos/1_v/${token}/${LATER}/a.ts`;
    const refused = { action: "reject", status: 403, reason: "bad-token" };
    expect(decide("GET", link, settings)).toMatchObject(refused);
    expect(decide("GET", link, settings, "not an address")).toMatchObject(refused);
    const bound = signToken({
      clientId: "1",
      videoId: "v",
      secret: S,
      expires: LATER,
      ip: "10.0.0.1",
    });
    expect(decide("GET", `/videos/1_v/${bound}/${LATER}/a.ts`, settings, "10.0.0.1")).toMatchObject(
      {
        action: "proxy",
      },
    );
  });
});
