import { beforeEach, describe, expect, it } from "vitest";
import { decide, gateSettings, MAX_PATH, upgradeRefusal } from "../../src/core/decide.js";
import { signToken } from "../../src/core/token.js";

// gateSettings() refuses each invalid option with the line that names it, and the fixed refusals
// say why; found unheld in the pure suites by mutation testing.
const S = "s3cret";
describe("gateSettings() refuses", () => {
  it.each([
    [{}, "secret is required: set it to the secret your links are signed with"],
    [{ secret: "" }, "secret must be a non-empty string or a non-empty list of them"],
    [{ secret: [] }, "secret must be a non-empty string or a non-empty list of them"],
    [{ secret: [S, 5] }, "secret must be a non-empty string or a non-empty list of them"],
    [{ secret: 5 }, "secret must be a non-empty string or a non-empty list of them"],
    [
      { secret: S, expiryLeewaySeconds: 86_401 },
      "expiryLeewaySeconds must be a whole number from 0 to 86400",
    ],
    [
      { secret: S, expiryLeewaySeconds: -1 },
      "expiryLeewaySeconds must be a whole number from 0 to 86400",
    ],
    [
      { secret: S, expiryLeewaySeconds: 1.5 },
      "expiryLeewaySeconds must be a whole number from 0 to 86400",
    ],
    [
      { secret: S, prefixes: [] },
      "prefixes must be a non-empty list of path segments, e.g. videos,cmaf",
    ],
    [{ secret: S, prefixes: [5] }, 'prefixes: "5" is not a single path segment'],
    [{ secret: S, prefixes: ["a/b"] }, 'prefixes: "a/b" is not a single path segment'],
    [{ secret: S, prefixes: [".."] }, 'prefixes: ".." is not a single path segment'],
    [{ secret: S, prefixes: ["."] }, 'prefixes: "." is not a single path segment'],
    [{ secret: S, queryPrefixes: "cdn" }, 'queryPrefixes must be a list of path segments or "*"'],
    [{ secret: S, queryPrefixes: [7] }, 'queryPrefixes: "7" is not a single path segment'],
    [{ secret: S, queryPrefixes: ["..."] }, 'queryPrefixes: "..." is not a single path segment'],
    [
      { secret: S, queryPrefixes: ["videos"] },
      'queryPrefixes: "videos" is a stream prefix too; a path has one form',
    ],
    [{ secret: S, now: 5 }, "now must be a function returning unix seconds"],
    [{ secret: S, bindIp: "yes" }, 'bindIp must be off, on or optional, got "yes"'],
    [{ secret: S, mp4Tokens: "yes" }, "mp4Tokens must be true or false"],
    [{ secret: S, md5: "md5" }, "md5 must be a function of a text returning its base64url MD5"],
    [
      { clientSecrets: { "1": S }, queryPrefixes: "*" },
      "queryPrefixes: CDN tokens name no client, so they need secret besides clientSecrets",
    ],
    [
      { clientSecrets: { "1": S }, queryPrefixes: ["cdn"] },
      "queryPrefixes: CDN tokens name no client, so they need secret besides clientSecrets",
    ],
    [{ clientSecrets: [S] }, "clientSecrets must be an object of client id → secret(s)"],
    [{ clientSecrets: null }, "clientSecrets must be an object of client id → secret(s)"],
    [{ clientSecrets: "x" }, "clientSecrets must be an object of client id → secret(s)"],
    [{ clientSecrets: { a_b: S } }, 'clientSecrets: client id "a_b" is not one a link can carry'],
    [
      { clientSecrets: { ["x".repeat(70) + "/"]: S } },
      `clientSecrets: client id "${"x".repeat(64)}" is not one a link can carry`,
    ],
    [
      { clientSecrets: { "1": "" } },
      'clientSecrets["1"] must be a non-empty string or a non-empty list of them',
    ],
  ])("%j: %s", (options, message) => {
    expect(() => gateSettings(options as never)).toThrow(expect.objectContaining({ message }));
  });

  it("takes the edges of what is valid, and copies the lists it is given", () => {
    const prefixes = ["videos"];
    const queryPrefixes = ["cdn"];
    const settings = gateSettings({
      secret: S,
      expiryLeewaySeconds: 86_400,
      prefixes,
      queryPrefixes,
    });
    prefixes.push("other");
    queryPrefixes.push("other");
    expect(settings.prefixes).toEqual(["videos"]);
    expect(settings.queryPrefixes).toEqual(["cdn"]);
    expect(settings.mp4Tokens).toBe(false);
    expect(gateSettings({ secret: S, queryPrefixes: "*" }).queryPrefixes).toBe("*");
    expect(typeof gateSettings({ secret: S }).now()).toBe("number");
  });
});

describe("the fixed refusals", () => {
  // Built in each test: a mutant is active only once tests start.
  let settings!: ReturnType<typeof gateSettings>;
  beforeEach(() => {
    settings = gateSettings({ secret: S, now: () => 1_800_000_000 });
  });
  const link = (file: string, expires = 1_800_000_100) =>
    `/videos/1_v/${signToken({ clientId: "1", videoId: "v", secret: S, expires })}/${expires}/${file}`;

  it("say why, each", () => {
    expect(decide("POST", link("a.ts"), settings)).toEqual({
      action: "reject",
      status: 405,
      reason: "method",
      detail: "only GET and HEAD",
    });
    expect(
      decide("GET", link("a.ts").replace(/\/videos\/1_v\/./, "/videos/1_v/A"), settings),
    ).toEqual({
      action: "reject",
      status: 403,
      reason: "bad-token",
      detail: "token does not match",
    });
    expect(decide("GET", link("a.ts", 1_799_999_999), settings)).toEqual({
      action: "reject",
      status: 410,
      reason: "expired",
      detail: "expired",
    });
    expect(upgradeRefusal(link("a.ts"), settings, "websocket")).toEqual({
      action: "reject",
      status: 403,
      reason: "malformed",
      detail: "a request that asks to upgrade",
    });
    expect(upgradeRefusal(link("a.ts"), settings, undefined)).toBeUndefined();
    expect(upgradeRefusal("/elsewhere/a.ts", settings, "websocket")).toBeUndefined();
  });

  it(`refuses a path over ${MAX_PATH} characters, and reads one of ${MAX_PATH}`, () => {
    const base = link("").length;
    const sized = (length: number) => link("a".repeat(length - base));
    expect(sized(MAX_PATH)).toHaveLength(MAX_PATH);
    expect(decide("GET", sized(MAX_PATH), settings).action).toBe("proxy");
    expect(decide("GET", sized(MAX_PATH + 1), settings)).toEqual({
      action: "reject",
      status: 403,
      reason: "malformed",
      detail: `a path over ${MAX_PATH} characters`,
    });
  });
});
