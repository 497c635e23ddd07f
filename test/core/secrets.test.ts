/** Several secrets, per-client secrets and leeway in the pure core and the settings reader. */
import { describe, expect, it } from "vitest";
import { sized } from "../helpers/runs.js";
import { decide, gateSettings, type GateSettings } from "../../src/core/decide.js";
import {
  parseClientSecrets,
  parseSecrets,
  readSettings,
  SettingError,
  withoutSecret,
} from "../../src/core/settings.js";
import { signToken } from "../../src/core/token.js";
import { md5Base64url } from "../../src/core/md5.js";

const now = 1_800_000_000;
function link(secret: string, client = "2675", expires = now + 60): string {
  const token = signToken({ clientId: client, videoId: "v", secret, expires });
  return `/videos/${client}_v/${token}/${expires}/seg.ts`;
}
const statusOf = (target: string, settings: GateSettings) => {
  const decision = decide("GET", target, settings);
  return decision.action === "reject" ? decision.status : decision.action;
};

describe("several secrets", () => {
  it.each([
    ["new old", ["new", "old"]],
    ["new,old", ["new", "old"]],
    [" new , old\n", ["new", "old"]],
    ["new\told", ["new", "old"]],
    ["only\n", ["only"]],
    // Outside attack: JavaScript's \s split at a no-break space, making two shorter secrets.
    ["one\u00a0secret", ["one\u00a0secret"]],
    ["one\u3000secret two", ["one\u3000secret", "two"]],
  ])("SECRET %j is read as %j (the first signs)", (text, secrets) => {
    expect(parseSecrets("SECRET", text)).toEqual(secrets);
    expect(readSettings({ SECRET: text, ORIGIN_URL: "http://o.test" }).gate.secrets).toEqual(
      secrets,
    );
  });

  it.each([
    ["s3cr3tA,,s3cr3tB", /empty entry/],
    [",", /empty entry/],
    ["s3cr3tA s3cr3tA", /twice/],
    [" \n", /only whitespace/],
  ])("SECRET %j is refused without showing a secret", (text, message) => {
    expect(() => parseSecrets("SECRET", text)).toThrow(message);
    try {
      parseSecrets("SECRET", text);
    } catch (error) {
      expect((error as Error).message).not.toContain("s3cr3t");
    }
  });

  it("verifies a link of any secret, and says expired only for a right one", () => {
    const settings = gateSettings({ secret: ["new", "old", "older"], now: () => now });
    expect(statusOf(link("new"), settings)).toBe("proxy");
    expect(statusOf(link("older"), settings)).toBe("proxy");
    expect(statusOf(link("other"), settings)).toBe(403);
    expect(statusOf(link("older", "2675", now - 1), settings)).toBe(410);
    expect(statusOf(link("other", "2675", now - 1), settings)).toBe(403);
  });

  it("refuses an empty list or an empty secret", () => {
    expect(() => gateSettings({ secret: [] })).toThrow(/secret/);
    expect(() => gateSettings({ secret: ["a", ""] })).toThrow(/secret/);
    expect(() => gateSettings({})).toThrow(/secret is required/);
  });

  it("keeps every secret of a list out of setting messages", () => {
    const env = { SECRET: "first-secret second-secret", PORT: "second-secret" };
    const error = withoutSecret(new SettingError("PORT", 'bad value "second-secret"'), env);
    expect((error as Error).message).not.toContain("second-secret");
    expect((error as Error).message).toMatch(/^PORT: /);
  });
});

describe("per-client secrets", () => {
  // Red team: the nginx module built its table as `{}`, whose `constructor` is Object itself
  // (length 1, [0] undefined): an MP4 link of client `constructor` verified with the secret
  // "undefined", which anyone can sign with. An id is looked up as the table's own key only.
  it("never takes an inherited property for a client's secrets, whatever holds the table", () => {
    const settings = gateSettings({
      clientSecrets: { "2675": "s3cr3t-value" },
      mp4Tokens: true,
      now: () => now,
    });
    for (const table of [
      { "2675": ["s3cr3t-value"] },
      Object.assign(Object.create(null), { "2675": ["s3cr3t-value"] }),
    ]) {
      const loose: GateSettings = { ...settings, clientSecrets: table };
      for (const id of ["constructor", "hasOwnProperty", "isPrototypeOf", "valueOf", "toString"]) {
        const path = `/videos/${id}_any/movie.mp4`;
        const md5 = md5Base64url(`${path}_undefined_${now + 60}___`);
        expect(statusOf(`${path}?md5=${md5}&expires=${now + 60}`, loose), id).toBe(403);
        expect(statusOf(link("undefined", id), loose), id).toBe(403);
      }
    }
  });

  it("reads a JSON object of id → secrets", () => {
    expect({ ...parseClientSecrets('{"2675": "a b", "x-1": "c"}') }).toEqual({
      "2675": ["a", "b"],
      "x-1": ["c"],
    });
  });

  it.each([
    ["{", /not valid JSON/],
    ['{"2675": "s3cr3t-value",}', /not valid JSON \(at character \d+\)/],
    ["[]", /must be a JSON object/],
    ["{}", /names no client/],
    ['{"a_b": "s3cr3t-value"}', /is not one a link can carry/],
    ['{"2675": ["s3cr3t-value"]}', /one string/],
    ['{"2675": 5}', /one string/],
    ['{"2675": "s3cr3t-value s3cr3t-value"}', /client "2675": lists secret 2 twice/],
  ])("%j is refused, naming CLIENT_SECRETS and never a secret", (text, message) => {
    expect(() => parseClientSecrets(text)).toThrow(/^CLIENT_SECRETS: /);
    expect(() => parseClientSecrets(text)).toThrow(message);
    try {
      parseClientSecrets(text);
    } catch (error) {
      expect((error as Error).message).not.toContain("s3cr3t");
    }
  });

  it("verifies a link only with its client's secrets; an unlisted client is refused", () => {
    const settings = gateSettings({
      secret: "shared",
      clientSecrets: { "2675": ["a-new", "a-old"], "9001": "b" },
      now: () => now,
    });
    expect(statusOf(link("a-new"), settings)).toBe("proxy");
    expect(statusOf(link("a-old"), settings)).toBe("proxy");
    expect(statusOf(link("b"), settings)).toBe(403);
    expect(statusOf(link("shared"), settings)).toBe(403);
    expect(statusOf(link("shared", "4242"), settings)).toBe(403);
    expect(statusOf(link("b", "9001"), settings)).toBe("proxy");
  });

  it("looks a client up once per request, whatever the number of clients (100,000 here, 1,000 under mutation testing)", () => {
    const clients = sized(100_000, 1_000);
    const table: Record<string, string> = {};
    for (let i = 0; i < clients; i++) table[`c${i}`] = `secret-${i}`;
    const built = gateSettings({ clientSecrets: table, now: () => now });
    // Count the reads decide() makes of the table: a scan would read many.
    let reads = 0;
    const counted: GateSettings = {
      ...built,
      clientSecrets: new Proxy(built.clientSecrets!, {
        get(target, key, receiver) {
          reads++;
          return Reflect.get(target, key, receiver);
        },
        getOwnPropertyDescriptor(target, key) {
          reads++;
          return Reflect.getOwnPropertyDescriptor(target, key);
        },
        has(target, key) {
          reads++;
          return Reflect.has(target, key);
        },
      }),
    };
    for (const i of [0, clients / 2, clients - 1]) {
      reads = 0;
      expect(statusOf(link(`secret-${i}`, `c${i}`), counted)).toBe("proxy");
      expect(reads).toBe(1);
    }
    reads = 0;
    expect(statusOf(link("secret-1", `c${clients}`), counted)).toBe(403);
    expect(reads).toBe(1);
  });

  it("needs a shared secret for CDN tokens, which name no client", () => {
    expect(() =>
      gateSettings({ clientSecrets: { "2675": "a" }, queryPrefixes: ["public"] }),
    ).toThrow(/queryPrefixes/);
    expect(() =>
      readSettings({
        ORIGIN_URL: "http://o.test",
        CLIENT_SECRETS: '{"2675": "tenant-secret"}',
        QUERY_TOKEN_PREFIXES: "*",
      }),
    ).toThrow(/^QUERY_TOKEN_PREFIXES: .*need SECRET/);
  });
});

describe("expiry leeway", () => {
  it("keeps a link valid up to the leeway past expires, for every link form's clock", () => {
    const settings = gateSettings({ secret: "s", expiryLeewaySeconds: 30, now: () => now });
    expect(statusOf(link("s", "2675", now - 30), settings)).toBe("proxy");
    expect(statusOf(link("s", "2675", now - 31), settings)).toBe(410);
  });
  it.each([-1, 1.5, 86_401, Number.NaN])("refuses %s seconds", (leeway) => {
    expect(() => gateSettings({ secret: "s", expiryLeewaySeconds: leeway })).toThrow(
      /expiryLeewaySeconds/,
    );
  });
});
