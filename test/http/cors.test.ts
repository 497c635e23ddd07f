import { beforeEach, describe, expect, it } from "vitest";
import { gateSettings } from "../../src/core/decide.js";
import {
  applyCors,
  corsEdit,
  corsHeaders,
  EXPOSED_HEADERS,
  preflight,
  preflightHeaders,
  REASON_HEADER,
  varyWith,
} from "../../src/http/cors.js";

// The CORS policy as pure functions (the runtimes' suites hold each runtime to it end to end;
// mutation testing runs only these pure suites, and found them unheld here).
const PLAYER = "https://player.example";
const EXPOSE: [string, string] = ["access-control-expose-headers", EXPOSED_HEADERS];

describe("corsHeaders()", () => {
  it("names what a player may read, the refusal's reason among it", () => {
    expect(EXPOSED_HEADERS).toBe("Content-Length,Content-Range,Accept-Ranges,Tokengate-Reason");
    expect(REASON_HEADER).toBe("tokengate-reason");
    expect(EXPOSED_HEADERS.toLowerCase().split(",")).toContain(REASON_HEADER);
  });

  it.each([
    ["*", PLAYER, [["access-control-allow-origin", "*"], EXPOSE]],
    ["*", undefined, [["access-control-allow-origin", "*"], EXPOSE]],
    [[PLAYER], PLAYER, [["access-control-allow-origin", PLAYER], EXPOSE, ["vary", "Origin"]]],
    [
      ["https://a.example", PLAYER],
      PLAYER,
      [["access-control-allow-origin", PLAYER], EXPOSE, ["vary", "Origin"]],
    ],
    // Not on the list, or no Origin at all: nothing opened, and the answer still varies on it.
    [[PLAYER], "https://evil.example", [["vary", "Origin"]]],
    [[PLAYER], null, [["vary", "Origin"]]],
    [[PLAYER], undefined, [["vary", "Origin"]]],
    [[], PLAYER, [["vary", "Origin"]]],
    // A prefix or another case of an allowed origin is another origin.
    [[PLAYER], `${PLAYER}.evil`, [["vary", "Origin"]]],
    [[PLAYER], PLAYER.toUpperCase(), [["vary", "Origin"]]],
  ] as const)("%j, Origin %j: %j", (allowed, origin, expected) => {
    expect(corsHeaders(allowed as "*" | string[], origin)).toEqual(expected);
  });

  // One rule for every runtime: a refusal of the gate's own names its reason for the player;
  // an origin's failure is the origin's (the log names it), and a grant has none.
  it.each([
    ["expired", [["tokengate-reason", "expired"]]],
    ["bad-token", [["tokengate-reason", "bad-token"]]],
    ["client-limit", [["tokengate-reason", "client-limit"]]],
    ["pace-limit", [["tokengate-reason", "pace-limit"]]],
    ["origin-error", []],
    ["origin-timeout", []],
    [undefined, []],
  ] as const)("names refusal %j as %j", (reason, named) => {
    expect(corsHeaders("*", PLAYER, reason)).toEqual([
      ["access-control-allow-origin", "*"],
      EXPOSE,
      ...named,
    ]);
    expect(corsHeaders([PLAYER], undefined, reason)).toEqual([["vary", "Origin"], ...named]);
  });
});

describe("preflightHeaders()", () => {
  const granted = [
    ["access-control-allow-methods", "GET,HEAD"],
    ["access-control-allow-headers", "Range"],
    ["access-control-max-age", "7200"],
  ];
  it.each([
    [
      "*",
      PLAYER,
      [
        ["access-control-allow-origin", "*"],
        EXPOSE,
        ...granted,
        ["vary", "Access-Control-Request-Headers"],
      ],
    ],
    [
      [PLAYER],
      PLAYER,
      [
        ["access-control-allow-origin", PLAYER],
        EXPOSE,
        ["vary", "Origin, Access-Control-Request-Headers"],
        ...granted,
      ],
    ],
    // Refused: no methods, headers or lifetime for it.
    [[PLAYER], "https://evil.example", [["vary", "Origin, Access-Control-Request-Headers"]]],
    [[PLAYER], null, [["vary", "Origin, Access-Control-Request-Headers"]]],
  ] as const)("%j, Origin %j: %j", (allowed, origin, expected) => {
    const headers = preflightHeaders(allowed as "*" | string[], origin);
    expect([...headers].sort()).toEqual([...expected].sort());
  });
});

describe("applyCors()", () => {
  it("drops every Access-Control-* header the origin sent, sets the gate's, and adds to Vary", () => {
    const target = new Headers({
      "access-control-allow-origin": "*",
      "access-control-allow-credentials": "true",
      "content-type": "video/mp2t",
      vary: "Accept-Encoding",
    });
    applyCors(target, corsHeaders([PLAYER], PLAYER));
    expect([...target.entries()].sort()).toEqual(
      [
        ["access-control-allow-origin", PLAYER],
        ["access-control-expose-headers", EXPOSED_HEADERS],
        ["content-type", "video/mp2t"],
        ["vary", "Accept-Encoding, Origin"],
      ].sort(),
    );
  });

  it("closes what the origin opened when the list does not allow the Origin", () => {
    const target = new Headers({ "access-control-allow-origin": "*", "x-other": "1" });
    applyCors(target, corsHeaders([PLAYER], "https://evil.example"));
    expect([...target.entries()].sort()).toEqual([
      ["vary", "Origin"],
      ["x-other", "1"],
    ]);
  });
});

describe("varyWith()", () => {
  it.each([
    ["", "Origin", "Origin"],
    ["Accept-Encoding", "Origin", "Accept-Encoding, Origin"],
    [" Accept-Encoding ,, ", "Origin", "Accept-Encoding, Origin"],
    ["accept-encoding, origin", "Origin", "accept-encoding, origin"],
    ["ORIGIN", "Origin", "ORIGIN"],
    ["*", "Origin", "*"],
    ["Accept-Encoding, *", "Origin", "Accept-Encoding, *"],
  ])("%j with %j: %j", (current, name, expected) => {
    expect(varyWith(current, name)).toBe(expected);
  });
});

describe("corsEdit(): the one CORS rule every runtime applies", () => {
  it("sets one Vary for a preflight's two names, where the first stood", () => {
    const edit = corsEdit(["Vary"], "Accept", [
      ["vary", "Origin"],
      ["access-control-max-age", "600"],
      ["vary", "Access-Control-Request-Headers"],
    ]);
    expect(edit.set).toEqual([
      ["vary", "Accept, Origin, Access-Control-Request-Headers"],
      ["access-control-max-age", "600"],
    ]);
  });

  it("drops every Access-Control-* the origin sent, as named, and merges Vary", () => {
    expect(
      corsEdit(
        ["Content-Type", "Access-Control-Allow-Origin", "access-control-allow-credentials", "Vary"],
        "Accept-Encoding",
        [["access-control-allow-origin", PLAYER], EXPOSE, ["vary", "Origin"]],
      ),
    ).toEqual({
      drop: ["Access-Control-Allow-Origin", "access-control-allow-credentials"],
      set: [["access-control-allow-origin", PLAYER], EXPOSE, ["vary", "Accept-Encoding, Origin"]],
    });
  });

  it("keeps the origin's Access-Control-* when the gate's headers are no CORS policy", () => {
    expect(corsEdit(["Access-Control-Allow-Origin"], "", [["x-cache", "MISS"]], false)).toEqual({
      drop: [],
      set: [["x-cache", "MISS"]],
    });
  });

  it.each([
    ["", "Origin", "Origin"],
    ["origin", "Origin", "origin"],
    ["*", "Origin", "*"],
    [
      "Accept-Encoding",
      "Origin, Access-Control-Request-Headers",
      "Accept-Encoding, Origin, Access-Control-Request-Headers",
    ],
  ])("merges Vary %j with %j as %j, in the first Vary's place", (vary, ours, merged) => {
    const edit = corsEdit([], vary, [
      ["vary", ours],
      [REASON_HEADER, "expired"],
    ]);
    expect(edit.set).toEqual([
      ["vary", merged],
      [REASON_HEADER, "expired"],
    ]);
  });

  it("is what applyCors does to a Headers", () => {
    const target = new Headers({ "access-control-allow-origin": "*", vary: "Accept" });
    applyCors(target, corsHeaders([PLAYER], PLAYER));
    expect([...target]).toEqual([
      ["access-control-allow-origin", PLAYER],
      ["access-control-expose-headers", EXPOSED_HEADERS],
      ["vary", "Accept, Origin"],
    ]);
  });
});

describe("preflight()", () => {
  // Built in each test: a mutant is active only once tests start.
  let gate!: ReturnType<typeof gateSettings>;
  beforeEach(() => {
    gate = gateSettings({ secret: "s3cret-s3cret", prefixes: ["videos"] });
  });

  // decide() refuses a path over 1024 characters unread (403); a preflight for it is no 204.
  it("answers a path of 1024 characters, and none longer (the query not counted)", () => {
    const path = (length: number) => `/videos/2675_abc/${"a".repeat(length - 17)}`;
    expect(path(1024)).toHaveLength(1024);
    expect(preflight("*", gate, "OPTIONS", `${path(1024)}?${"q".repeat(200)}`, PLAYER)).toEqual(
      preflightHeaders("*", PLAYER),
    );
    expect(preflight("*", gate, "OPTIONS", path(1025), PLAYER)).toBeUndefined();
  });

  it.each([
    ["OPTIONS under a prefix", "OPTIONS", "/videos/2675_abc/"],
    ["OPTIONS on a link", "OPTIONS", "/videos/2675_abc/t/1/a.ts?x=1"],
    ["OPTIONS in absolute form", "OPTIONS", "http://gate.example/videos/2675_abc/a.ts"],
  ])("answers %s with the preflight headers", (_, method, target) => {
    expect(preflight("*", gate, method, target, PLAYER)).toEqual(preflightHeaders("*", PLAYER));
    expect(preflight([PLAYER], gate, method, target, PLAYER)).toEqual(
      preflightHeaders([PLAYER], PLAYER),
    );
  });

  it.each([
    ["CORS off", undefined, "OPTIONS", "/videos/2675_abc/"],
    ["a GET", "*", "GET", "/videos/2675_abc/"],
    ["a lower-case options", "*", "options", "/videos/2675_abc/"],
    ["outside the prefixes", "*", "OPTIONS", "/elsewhere/2675_abc/"],
    ["the root", "*", "OPTIONS", "/"],
  ] as const)("answers nothing for %s", (_, allowed, method, target) => {
    expect(preflight(allowed, gate, method, target, PLAYER)).toBeUndefined();
  });
});
