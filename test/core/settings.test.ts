import { runs } from "../helpers/runs.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseForwardHeaders, parseSecrets, SettingError } from "../../src/core/settings.js";

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
