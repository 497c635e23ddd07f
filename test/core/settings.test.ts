import { runs } from "../helpers/runs.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  originPrefixWarning,
  parseForwardHeaders,
  parseSecrets,
  SettingError,
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
