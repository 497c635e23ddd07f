import { runs } from "../helpers/runs.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  originPrefixWarning,
  parseCacheKeyQuery,
  parseClientSecrets,
  parseCorsOrigins,
  parseForwardHeaders,
  parseHost,
  parseInteger,
  parseMetricsListen,
  parseOrigin,
  parsePrefixes,
  parseSecrets,
  parseSize,
  parseSwitch,
  parseTimeout,
  quoted,
  readSettings,
  SettingError,
  withoutSecret,
} from "../../src/core/settings.js";

describe("parseSecrets' shortcut for a lone secret", () => {
  it("reads every text as the full parse does (a leading space takes the full path)", () => {
    const piece = fc.constantFrom(
      "a",
      "s3cret",
      " ",
      "\n",
      "\r\n",
      "\t",
      ",",
      "é",
      "x,y",
      "\u00a0",
    );
    const seen = { read: 0, refused: 0 };
    const numRuns = runs(5_000);
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 6 }).map((parts) => parts.join("")),
        (text) => {
          const read = (value: string) => {
            try {
              return parseSecrets("SECRET", value);
            } catch (error) {
              return (error as Error).message;
            }
          };
          const answer = read(text);
          seen[typeof answer === "string" ? "refused" : "read"]++;
          expect(answer, JSON.stringify(text)).toEqual(read(` ${text}`));
        },
      ),
      { numRuns },
    );
    // Both read secrets and refusals must occur, or the comparison is blind to one side.
    for (const [kind, count] of Object.entries(seen)) {
      expect(count, kind).toBeGreaterThan(numRuns / 20);
    }
  });
});

describe("parseForwardHeaders", () => {
  it("reads a comma list of names, lower case, without the allow-list's own or repeats", () => {
    expect(parseForwardHeaders(" X-Playback-Session-Id , DNT,dnt, Range ")).toEqual([
      "x-playback-session-id",
      "dnt",
    ]);
    expect(parseForwardHeaders(undefined)).toEqual([]);
    expect(parseForwardHeaders(" ")).toEqual([]);
  });
  it.each([
    "Host",
    "Keep-Alive",
    "Content-Length",
    "Cookie",
    "X-Forwarded-Proto",
    "Sec-WebSocket-Key",
    "X-Accel-Redirect",
    "a_b",
    "a:b",
    "X-A,",
  ])("refuses %j in one line naming FORWARD_HEADERS", (text) => {
    expect(() => parseForwardHeaders(text)).toThrow(SettingError);
    expect(() => parseForwardHeaders(text)).toThrow(/^FORWARD_HEADERS: [^\n]+$/);
  });
});

describe("originPrefixWarning", () => {
  const prefixes = ["videos", "cmaf", "mpegts"];

  it.each([
    ["http://origin.test/videos", "videos"],
    ["https://origin.test:8443/media/cmaf", "cmaf"],
    ["http://10.0.0.1/mpegts", "mpegts"],
  ])("warns in one line when %s ends in a guarded prefix", (origin, prefix) => {
    const warning = originPrefixWarning(origin, prefixes, []);
    expect(warning).toBeDefined();
    expect(warning).not.toContain("\n");
    expect(warning).toMatch(/^ORIGIN_URL: /);
    expect(warning).toContain(`/${prefix}/${prefix}/`);
  });

  it.each([
    "http://origin.test",
    "http://origin.test/media",
    "http://origin.test/video",
    "http://origin.test/videos-archive",
    "http://videos",
    "http://origin.test/videos/media",
  ])("says nothing for %s", (origin) => {
    expect(originPrefixWarning(origin, prefixes, [])).toBeUndefined();
  });

  it("follows PREFIXES and QUERY_TOKEN_PREFIXES, not the defaults", () => {
    expect(originPrefixWarning("http://o.test/videos", ["live"], [])).toBeUndefined();
    expect(originPrefixWarning("http://o.test/live", ["live"], [])).toContain("/live/live/");
    expect(originPrefixWarning("http://o.test/images", ["live"], ["images"])).toContain(
      "/images/images/",
    );
    // `*` guards every other path: no one prefix to repeat.
    expect(originPrefixWarning("http://o.test/images", ["live"], "*")).toBeUndefined();
  });
});

/** What a parse gives: its value, or, for a SettingError, `{ refused: its message }`. */
function outcome(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    return refused(error.message);
  }
}
const refused = (message: string) => ({ refused: message });

describe("SettingError", () => {
  it("is named SettingError and reads `SETTING: detail`, keeping both apart", () => {
    const error = new SettingError("PORT", "must be a whole number from 0 to 65535");
    expect([error.name, error.message, error.setting, error.detail]).toEqual([
      "SettingError",
      "PORT: must be a whole number from 0 to 65535",
      "PORT",
      "must be a whole number from 0 to 65535",
    ]);
    expect(String(error)).toBe("SettingError: PORT: must be a whole number from 0 to 65535");
  });
});

describe("quoted", () => {
  it("shows a value in JSON quotes with control characters escaped, cut after 64 characters with …", () => {
    expect(quoted("80\n80")).toBe('"80\\n80"');
    expect(quoted("x".repeat(64))).toBe(`"${"x".repeat(64)}"`);
    expect(quoted(`${"x".repeat(64)}\n-rest`)).toBe(`"${"x".repeat(64)}"…`);
  });
});

describe("withoutSecret", () => {
  /** withoutSecret over any environment, as a Worker's bindings may be. */
  const without = (error: unknown, environment: Record<string, unknown>) =>
    withoutSecret(error, environment);
  const HIDDEN =
    "invalid value, not shown here: it holds the SECRET (a secret pasted into the wrong setting?)";
  // A client's entry that is not a string comes first (JSON reads integer keys in order), and
  // the secrets after it are still found.
  const env = {
    SECRET: " first-secret, second-secret\n",
    CLIENT_SECRETS: '{"2675": "client-secret older-secret", "9": 5}',
  };
  const hides = (error: SettingError, environment: Record<string, unknown>) => {
    const result = without(error, environment);
    expect(result).toBeInstanceOf(SettingError);
    return [(result as SettingError).setting, (result as SettingError).message];
  };

  it("hides a message showing any secret, SECRET's or a client's, naming the same setting", () => {
    for (const secret of ["first-secret", "second-secret", "client-secret", "older-secret"]) {
      expect(hides(new SettingError("PORT", `got "${secret}"`), env), secret).toEqual([
        "PORT",
        `PORT: ${HIDDEN}`,
      ]);
    }
    // CLIENT_SECRETS alone.
    const clients = { CLIENT_SECRETS: env.CLIENT_SECRETS };
    expect(hides(new SettingError("HOST", '"older-secret" is no host'), clients)).toEqual([
      "HOST",
      `HOST: ${HIDDEN}`,
    ]);
  });

  it("hides an error whose setting holds a secret though its message does not show it", () => {
    const error = new SettingError("PORT", "must be a whole number from 0 to 65535");
    expect(hides(error, { ...env, PORT: "x-second-secret-x" })).toEqual([
      "PORT",
      `PORT: ${HIDDEN}`,
    ]);
  });

  it("returns the error itself when neither it nor its setting shows a secret", () => {
    const error = new SettingError("PORT", 'must be a whole number from 0 to 65535, got "80 80"');
    expect(without(error, env)).toBe(error);
    expect(without(error, { ...env, PORT: "80 80" })).toBe(error);
    expect(without(error, {})).toBe(error);
    // A SECRET of separators only holds no secret: "" would be found in every message.
    expect(without(error, { SECRET: " , \n" })).toBe(error);
  });

  // A review found every CLIENT_SECRETS error replaced by "it holds the SECRET": its own value
  // holds secrets by design, and its messages (an id a link cannot carry, …) quote none.
  it("keeps SECRET's and CLIENT_SECRETS' own messages, which never quote a secret", () => {
    const badId = new SettingError(
      "CLIENT_SECRETS",
      'client id "a\'b" is not one a link can carry',
    );
    expect(without(badId, { CLIENT_SECRETS: `{"a'b": "s1", "2675": "s2"}` })).toBe(badId);
    const empty = new SettingError("SECRET", "has an empty entry (a comma too many?)");
    expect(without(empty, { SECRET: "first-secret,,second-secret" })).toBe(empty);
    // Still hidden when the message itself would show one: an id spelled as another's secret.
    const shown = new SettingError("CLIENT_SECRETS", 'client id "client-secret!" is not one');
    expect(hides(shown, env)).toEqual(["CLIENT_SECRETS", `CLIENT_SECRETS: ${HIDDEN}`]);
  });

  it("returns an error of another kind as it is, even one showing a secret", () => {
    const error = new Error("first-secret");
    expect(without(error, env)).toBe(error);
  });

  it("reads secrets only from string settings and from a CLIENT_SECRETS object", () => {
    const error = new SettingError("PORT", 'got "client-secret"');
    // A Worker binding that is not a string is refused on its own and read for no secret.
    expect(without(error, { CLIENT_SECRETS: ['{"2675": "client-secret"}'] })).toBe(error);
    const listed = new SettingError("PREFIXES", "must be a string, got a list");
    expect(without(listed, { SECRET: "first-secret", PREFIXES: ["first-secret"] })).toBe(listed);
    // CLIENT_SECRETS that is not JSON, or JSON that is no object, gives no secret.
    for (const text of ["{", '"client-secret"', "null", "5"]) {
      expect(without(error, { CLIENT_SECRETS: text }), text).toBe(error);
    }
  });

  it("does not take a secret of only Unicode spaces for one to hide (every such space would be)", () => {
    const error = new SettingError("PREFIXES", '"a\u00a0b" is not a single path segment');
    expect(without(error, { SECRET: "first-secret,\u00a0" })).toBe(error);
  });
});

describe("parseSecrets", () => {
  it("splits at runs of ASCII whitespace and at commas", () => {
    expect(parseSecrets("SECRET", "new  old\t\r\n older")).toEqual(["new", "old", "older"]);
    expect(parseSecrets("SECRET", "new , old,older")).toEqual(["new", "old", "older"]);
  });

  it("refuses, naming the setting, only whitespace, an empty entry, or a secret listed twice (by its place)", () => {
    expect(outcome(() => parseSecrets("SECRET", " \n"))).toEqual(
      refused("SECRET: holds only whitespace; set the secret your links are signed with"),
    );
    expect(outcome(() => parseSecrets("SECRET", "a,,b"))).toEqual(
      refused(
        "SECRET: has an empty entry (a comma too many); separate secrets with one comma or space",
      ),
    );
    expect(outcome(() => parseSecrets("SECRET", "new old new"))).toEqual(
      refused("SECRET: lists secret 3 twice (a rotation left a copy?)"),
    );
  });
});

describe("parseClientSecrets", () => {
  it.each([
    ["", "CLIENT_SECRETS: is not valid JSON"],
    ['{"2675": "s3cr3t",}', "CLIENT_SECRETS: is not valid JSON (at character 18)"],
    ["5", 'CLIENT_SECRETS: must be a JSON object: { "<client id>": "<secret> [<older secret>…]" }'],
    [
      "null",
      'CLIENT_SECRETS: must be a JSON object: { "<client id>": "<secret> [<older secret>…]" }',
    ],
    [
      "[]",
      'CLIENT_SECRETS: must be a JSON object: { "<client id>": "<secret> [<older secret>…]" }',
    ],
    [
      '{"": "s3cr3t"}',
      'CLIENT_SECRETS: client id "" is not one a link can carry (letters, digits, . ~ -)',
    ],
    [
      '{"a_b": "s3cr3t"}',
      'CLIENT_SECRETS: client id "a_b" is not one a link can carry (letters, digits, . ~ -)',
    ],
    [
      '{"2675": 5}',
      'CLIENT_SECRETS: client "2675": secrets must be one string, separated by spaces or commas',
    ],
    [
      '{"2675": "s3cr3t,,old"}',
      'CLIENT_SECRETS: client "2675": has an empty entry (a comma too many); separate secrets with one comma or space',
    ],
  ])("refuses %j with exactly its reason, the secret never shown", (text, message) => {
    expect(outcome(() => parseClientSecrets(text))).toEqual(refused(message));
  });

  it("takes ids of letters, digits and . ~ -", () => {
    expect({ ...parseClientSecrets('{"a.b~c-9": "s3cr3t"}') }).toEqual({ "a.b~c-9": ["s3cr3t"] });
  });
});

describe("parseHost", () => {
  it.each(["127.0.0.1", "::1", "[::1]", "localhost", "gate-1.example.com"])(
    "takes %j as it is",
    (host) => {
      expect(parseHost("HOST", host)).toBe(host);
    },
  );
  it.each([
    "0",
    "1",
    "999.1.1.1",
    "not a host",
    "http://127.0.0.1",
    "127.0.0.1:8787",
    // A bracket on one side only, or brackets around no IPv6 address, is no host to listen on.
    "[::1",
    "::1]",
    "[1.2.3.4]",
    "[localhost]",
  ])("refuses %j, naming the setting", (host) => {
    expect(outcome(() => parseHost("METRICS_HOST", host))).toEqual(
      refused(`METRICS_HOST: ${JSON.stringify(host)} is not an IP address or host name`),
    );
  });
});

describe("parseSize", () => {
  it("reads bytes, or k, m or g of either case as 1024-based, up to 1024g; unset or blank is 0", () => {
    expect(
      [undefined, " ", " 7 ", "12", "1k", "1K", "256m", "1g", "1024g"].map((text) =>
        parseSize("CACHE_MAX_BYTES", text),
      ),
    ).toEqual([0, 0, 7, 12, 1024, 1024, 268_435_456, 2 ** 30, 2 ** 40]);
  });
  it.each(["1025g", "1x", "k", "1kb", "x1", "-1", "1.5m", "99999999999999999999"])(
    "refuses %j, naming the setting and the value",
    (text) => {
      expect(outcome(() => parseSize("CACHE_MAX_BYTES", text))).toEqual(
        refused(
          `CACHE_MAX_BYTES: must be a size in bytes, e.g. 268435456 or 256m (up to 1024g), got ${JSON.stringify(text)}`,
        ),
      );
    },
  );
});

describe("parseMetricsListen", () => {
  it("reads host:port, [v6]:port without its brackets, off, and unset or blank as 127.0.0.1:9464", () => {
    expect(
      [undefined, " ", " localhost:0 ", "[::1]:9464", "127.0.0.1:65535", "off"].map(
        parseMetricsListen,
      ),
    ).toEqual([
      { host: "127.0.0.1", port: 9464 },
      { host: "127.0.0.1", port: 9464 },
      { host: "localhost", port: 0 },
      { host: "::1", port: 9464 },
      { host: "127.0.0.1", port: 65_535 },
      undefined,
    ]);
  });
  it.each([
    "9464",
    "127.0.0.1",
    "127.0.0.1:",
    "127.0.0.1:65536",
    "127.0.0.1:9464/metrics",
    "0:9464",
    "fe80::a:9464",
    "[::1:9464",
    "http://127.0.0.1:9464",
  ])("refuses %j, naming METRICS_LISTEN", (text) => {
    expect(outcome(() => parseMetricsListen(text))).toEqual(
      refused(
        `METRICS_LISTEN: must be host:port (e.g. 127.0.0.1:9464 or [::1]:9464) or off, got ${JSON.stringify(text)}`,
      ),
    );
  });
});

describe("parseOrigin", () => {
  const example = "give the origin's base URL, e.g. https://origin.example.com";
  it("reads an http(s) URL without its trailing slashes, the host in lower case", () => {
    expect(
      [
        " https://origin.test/media/ ",
        "http://O.test:8080/a//",
        "http://o.test",
        "https://o.test/a@b/c",
      ].map(parseOrigin),
    ).toEqual([
      "https://origin.test/media",
      "http://o.test:8080/a",
      "http://o.test",
      "https://o.test/a@b/c",
    ]);
  });
  it.each<[string | undefined, string]>([
    [undefined, `not set; ${example}`],
    [" ", `not set; ${example}`],
    ["http://ori\tgin.test", "must not contain spaces or control characters"],
    ["http://o.test/a b", "must not contain spaces or control characters"],
    ["origin.test", `is not an absolute URL; ${example}`],
    ["ftp://o.test", `must be http:// or https://, got "ftp:"; ${example}`],
    ...[
      "https://user:pass@o.test",
      "https://user@o.test",
      "https://:pass@o.test",
      "https://@o.test",
      "https://:@o.test",
      "HTTP://@o.test",
      "http:user@o.test",
      "http:\\\\user@o.test",
    ].map((text): [string, string] => [
      text,
      "must not carry credentials (user:password@); the gate sends none to the origin",
    ]),
    ["http://o.test:0", "port 0 is no port to connect to"],
    ["http://o.test/?q=1", "must not carry a query (?…); the client's is passed on"],
    ["http://o.test/?", "must not carry a query (?…); the client's is passed on"],
    ["http://o.test/#top", "must not carry a fragment (#…)"],
    ["http://o.test/#", "must not carry a fragment (#…)"],
  ])("refuses %j with exactly its reason, never quoting the URL", (text, detail) => {
    expect(outcome(() => parseOrigin(text))).toEqual(refused(`ORIGIN_URL: ${detail}`));
  });
});

describe("originPrefixWarning's words", () => {
  it("name ORIGIN_URL, the prefix and the path the origin is asked, and what to do", () => {
    expect(originPrefixWarning("https://origin.test/media/videos", ["videos"], [])).toBe(
      "ORIGIN_URL: its path ends in /videos, a guarded prefix, and the link's path is appended " +
        "whole, so the origin is asked /videos/videos/…; drop /videos from ORIGIN_URL unless " +
        "the origin really keeps its files there",
    );
  });
  it("take * among CDN prefixes for every path, not for a path named *", () => {
    expect(originPrefixWarning("http://o.test/*", ["videos"], "*")).toBeUndefined();
  });
});

describe("parsePrefixes", () => {
  it("reads comma-separated segments, spaces around them dropped; unset or blank is the default", () => {
    expect([undefined, " ", " live , vod "].map(parsePrefixes)).toEqual([
      ["videos", "cmaf", "mpegts"],
      ["videos", "cmaf", "mpegts"],
      ["live", "vod"],
    ]);
  });
  it.each([
    ["videos,,cmaf", 'has an empty entry (a comma too many) in "videos,,cmaf"'],
    ["videos,", 'has an empty entry (a comma too many) in "videos,"'],
    ["vid eos", '"vid eos" is not a single path segment'],
    ["vidéos", '"vidéos" is not a single path segment'],
    ["live,vod,live", 'lists "live" twice'],
  ])("refuses %j with exactly its reason", (text, detail) => {
    expect(outcome(() => parsePrefixes(text))).toEqual(refused(`PREFIXES: ${detail}`));
  });
});

describe("parseInteger", () => {
  it("reads a whole number from min to max, spaces around it dropped; unset or blank is the fallback", () => {
    expect(
      [undefined, "", " \n", " 3 ", "2", "10", "0042"].map((text) =>
        parseInteger("N", text, 7, 2, 42),
      ),
    ).toEqual([7, 7, 7, 3, 2, 10, 42]);
  });
  it.each(["1", "43", "-3", "+3", "1.5", "1e1", "0x10", "12abc", "3 4", "１２"])(
    "refuses %j, quoting it as given",
    (text) => {
      expect(outcome(() => parseInteger("N", text, 7, 2, 42))).toEqual(
        refused(`N: must be a whole number from 2 to 42, got ${JSON.stringify(text)}`),
      );
    },
  );
});

describe("parseSwitch", () => {
  it("reads on and off, spaces around them dropped; unset or blank is the fallback", () => {
    expect(
      [undefined, " ", " on ", "off"].map((text) => [
        parseSwitch("CACHE", text, false),
        parseSwitch("CACHE", text, true),
      ]),
    ).toEqual([
      [false, true],
      [false, true],
      [true, true],
      [false, false],
    ]);
  });
  it.each(["yes", "ON", "true", "1"])("refuses %j, naming the setting", (text) => {
    expect(outcome(() => parseSwitch("CACHE", ` ${text} `, false))).toEqual(
      refused(`CACHE: must be on or off, got ${JSON.stringify(text)}`),
    );
  });
});

describe("parseTimeout", () => {
  it("reads 0 (none) or 100 to 3600000 ms; unset is the fallback", () => {
    expect(
      [undefined, "0", "100", "3600000"].map((text) => parseTimeout("T_MS", text, 30_000)),
    ).toEqual([30_000, 0, 100, 3_600_000]);
  });
  it("refuses 1 to 99 ms (seconds written as milliseconds?), an unset value under a fallback that small too", () => {
    const detail = "must be 0 (none) or from 100 to 3600000 ms, got";
    expect(outcome(() => parseTimeout("T_MS", "99", 30_000))).toEqual(
      refused(`T_MS: ${detail} "99"`),
    );
    expect(outcome(() => parseTimeout("T_MS", "1", 30_000))).toEqual(
      refused(`T_MS: ${detail} "1"`),
    );
    expect(outcome(() => parseTimeout("T_MS", undefined, 50))).toEqual(
      refused(`T_MS: ${detail} ""`),
    );
    expect(outcome(() => parseTimeout("T_MS", "3600001", 30_000))).toEqual(
      refused('T_MS: must be a whole number from 0 to 3600000, got "3600001"'),
    );
  });
});

describe("readSettings", () => {
  const SECRET = "s3cret-for-tests";
  const base = { ORIGIN_URL: "https://origin.test", SECRET };
  const read = (env: Record<string, string>) => outcome(() => readSettings(env));

  it("reads every gate setting into one object", () => {
    const settings = readSettings({
      ...base,
      SECRET: `${SECRET} older-secret`,
      PREFIXES: "live",
      BIND_IP: "optional",
      QUERY_TOKEN_PREFIXES: "images",
      MP4_TOKENS: "on",
      EXPIRY_LEEWAY_S: "30",
      ORIGIN_TIMEOUT_MS: "5000",
      CORS_ORIGINS: "https://player.test",
      CACHE: "on",
      CACHE_DEFAULT_TTL_S: "10",
      CACHE_KEY_QUERY: "quality",
      METRICS: "off",
      FORWARD_HEADERS: "DNT",
    });
    expect(settings).toMatchObject({
      gate: {
        secrets: [SECRET, "older-secret"],
        prefixes: ["live"],
        bindIp: "optional",
        queryPrefixes: ["images"],
        mp4Tokens: true,
        expiryLeewaySeconds: 30,
      },
      origin: "https://origin.test",
      originTimeoutMs: 5000,
      cors: ["https://player.test"],
      cache: { heuristicCapSeconds: 10, keyQuery: ["quality"] },
      metrics: false,
      forwardHeaders: ["dnt"],
    });
    expect(readSettings(base).cache).toBeUndefined();
  });

  it("refuses to start without SECRET or CLIENT_SECRETS", () => {
    expect(read({ ORIGIN_URL: "https://origin.test" })).toEqual(
      refused("SECRET: not set; the gate refuses to serve without a secret"),
    );
    expect(
      readSettings({ ORIGIN_URL: "https://origin.test", CLIENT_SECRETS: '{"1": "abc"}' }).gate
        .secrets,
    ).toEqual([]);
  });

  it("refuses an ORIGIN_URL holding a secret of 8 characters or more, which it would log", () => {
    const holds = refused("ORIGIN_URL: holds the SECRET; the origin is logged, the secret never");
    // In upper case, the value does not show the secret; the parsed origin (lower case) does.
    expect(read({ ORIGIN_URL: "https://ABCDEFGH.test", SECRET: "abcdefgh" })).toEqual(holds);
    // Any one secret of several.
    expect(read({ ORIGIN_URL: "https://ABCDEFGH.test", SECRET: "other-secret abcdefgh" })).toEqual(
      holds,
    );
    expect(
      read({ ORIGIN_URL: "https://CLIENTSECRET.test", CLIENT_SECRETS: '{"1": "clientsecret"}' }),
    ).toEqual(holds);
    // Seven characters turn up in URLs by chance.
    expect(readSettings({ ORIGIN_URL: "https://ABCDEFG.test", SECRET: "abcdefg" }).origin).toBe(
      "https://abcdefg.test",
    );
  });

  it("names the setting behind each gateSettings option it refuses", () => {
    expect(read({ ...base, PREFIXES: ".." })).toEqual(
      refused('PREFIXES: ".." is not a single path segment'),
    );
    expect(read({ ...base, QUERY_TOKEN_PREFIXES: "videos" })).toEqual(
      refused('QUERY_TOKEN_PREFIXES: "videos" is a stream prefix too; a path has one form'),
    );
  });

  it("passes on an error of gateSettings that names no option (a clock that is not a function)", () => {
    expect(() => readSettings(base, 5 as unknown as () => number)).toThrow(
      /^now must be a function returning unix seconds$/,
    );
  });

  it("refuses CACHE_KEY_QUERY while the cache is off, and takes a blank one", () => {
    expect(read({ ...base, CACHE_KEY_QUERY: "all" })).toEqual(
      refused("CACHE_KEY_QUERY: keys the cache, which is off: set CACHE=on too"),
    );
    expect(readSettings({ ...base, CACHE_KEY_QUERY: " " }).cache).toBeUndefined();
    expect(readSettings({ ...base, CACHE: "on", CACHE_KEY_QUERY: "all" }).cache).toEqual({
      heuristicCapSeconds: 60,
      keyQuery: "all",
    });
  });
});

describe("parseForwardHeaders' refusals", () => {
  it("say exactly what is wrong: an empty entry, or a header never forwarded", () => {
    expect(outcome(() => parseForwardHeaders("X-A,,X-B"))).toEqual(
      refused('FORWARD_HEADERS: has an empty entry (a comma too many) in "X-A,,X-B"'),
    );
    expect(outcome(() => parseForwardHeaders("X-A, "))).toEqual(
      refused('FORWARD_HEADERS: has an empty entry (a comma too many) in "X-A, "'),
    );
  });
});

describe("parseCacheKeyQuery", () => {
  it("reads all, none, or a comma list of names without repeats; unset or blank is none", () => {
    expect(
      [undefined, " ", " all ", "none", " a , b , a ", "b,a,b", "!,~,Quality"].map(
        parseCacheKeyQuery,
      ),
    ).toEqual(["none", "none", "all", "none", ["a", "b"], ["b", "a"], ["!", "~", "Quality"]]);
  });
  it.each([
    "a&b",
    "a=b",
    "a?b",
    "a#b",
    "a;b",
    "a%20b",
    "a b",
    "a+b",
    "qualité",
    "a\u0001b",
    "a\u007fb",
  ])("refuses the name %j, which a query cannot carry as one", (name) => {
    expect(outcome(() => parseCacheKeyQuery(`lang,${name}`))).toEqual(
      refused(
        `CACHE_KEY_QUERY: must be all, none or a comma list of query parameter names, got ${JSON.stringify(name)}`,
      ),
    );
  });
  it("refuses an empty entry, quoting the whole value", () => {
    expect(outcome(() => parseCacheKeyQuery(" a,,b "))).toEqual(
      refused('CACHE_KEY_QUERY: has an empty entry (a comma too many) in "a,,b"'),
    );
  });
});

describe("parseCorsOrigins", () => {
  it("reads *, or origins as browsers send them without repeats; unset or blank is no CORS", () => {
    expect(
      [undefined, " ", " * ", "https://player.test, http://localhost:3000,https://player.test"].map(
        parseCorsOrigins,
      ),
    ).toEqual([undefined, undefined, "*", ["https://player.test", "http://localhost:3000"]]);
  });
  it.each([
    [
      "https://a.test,,https://b.test",
      'has an empty entry (a comma too many) in "https://a.test,,https://b.test"',
    ],
    ["*, https://a.test", "* stands alone: any origin, or a list without it"],
    ["player.test", '"player.test" is not an origin like https://player.example.com'],
    ["ftp://a.test", '"ftp://a.test" is not an origin like https://player.example.com'],
    [
      "https://a.test/",
      '"https://a.test/" is not an origin like https://player.example.com (a browser sends "https://a.test")',
    ],
    [
      "https://A.test",
      '"https://A.test" is not an origin like https://player.example.com (a browser sends "https://a.test")',
    ],
  ])("refuses %j with exactly its reason", (text, detail) => {
    expect(outcome(() => parseCorsOrigins(text))).toEqual(refused(`CORS_ORIGINS: ${detail}`));
  });
});
