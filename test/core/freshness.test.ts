import { runs } from "../helpers/runs.js";
import CachePolicy from "http-cache-semantics";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { storable, noneMatch } from "../../src/core/freshness.js";

const NOW = 1_800_000_000;
const CAP = 60;

function lookup(headers: Record<string, string>) {
  return (name: string) => headers[name];
}

describe("storable()", () => {
  it.each([
    [200, { "cache-control": "max-age=60" }, { store: true, ttlSeconds: 60 }],
    [200, { "cache-control": "s-maxage=30, max-age=60" }, { store: true, ttlSeconds: 30 }],
    [200, { "cache-control": "max-age=60", age: "20" }, { store: true, ttlSeconds: 40 }],
    [
      200,
      { "cache-control": "public, max-age=60", vary: "Accept-Encoding" },
      { store: true, ttlSeconds: 60 },
    ],
  ] as const)("keeps a %i with %j", (status, headers, expected) => {
    expect(storable(status, lookup(headers), NOW, CAP)).toEqual(expected);
  });

  // Only a 200 is kept: a cacheable 404 or 500 would otherwise be every viewer's answer.
  it.each([
    [404, { "cache-control": "public, max-age=600" }],
    [404, {}],
    [500, { "cache-control": "max-age=600" }],
    [500, {}],
    [206, { "cache-control": "max-age=600" }],
    [301, { "cache-control": "max-age=600" }],
    [304, { "cache-control": "max-age=600" }],
    [410, { expires: "Thu, 01 Jan 2099 00:00:00 GMT" }],
  ] as const)("never keeps a %i, whatever its headers say (%j)", (status, headers) => {
    expect(storable(status, lookup(headers), NOW, CAP)).toEqual({
      store: false,
      why: `status ${status}`,
    });
  });

  it.each([
    [{ "cache-control": "no-store, max-age=60" }, "Cache-Control: no-store"],
    [{ "cache-control": "private, max-age=60" }, "Cache-Control: private"],
    [{ "cache-control": "no-cache, max-age=60" }, "Cache-Control: no-cache"],
    [{ "cache-control": "max-age=60", "set-cookie": "a=b" }, "Set-Cookie"],
    [{ "cache-control": "max-age=60", vary: "Origin" }, "Vary: origin"],
    [{ "cache-control": "max-age=60", vary: "accept-encoding, *" }, "Vary: *"],
    [{}, "no freshness information"],
    [{ "cache-control": "max-age=0" }, "stale on arrival"],
    [{ "cache-control": "max-age=60", age: "60" }, "stale on arrival"],
    [{ expires: "not a date" }, "stale on arrival"],
  ] as const)("refuses %j: %s", (headers, why) => {
    expect(storable(200, lookup(headers), NOW, CAP)).toEqual({ store: false, why });
  });

  it("takes Expires less Date, and caps the Last-Modified heuristic", () => {
    const date = new Date(NOW * 1000).toUTCString();
    const later = new Date((NOW + 90) * 1000).toUTCString();
    expect(storable(200, lookup({ date, expires: later }), NOW, CAP)).toEqual({
      store: true,
      ttlSeconds: 90,
    });
    const modified = new Date((NOW - 300) * 1000).toUTCString();
    expect(storable(200, lookup({ date, "last-modified": modified }), NOW, CAP)).toEqual({
      store: true,
      ttlSeconds: 30,
    });
    const longAgo = new Date((NOW - 100_000) * 1000).toUTCString();
    expect(storable(200, lookup({ date, "last-modified": longAgo }), NOW, CAP)).toEqual({
      store: true,
      ttlSeconds: CAP,
    });
  });

  // Found by mutation testing: each of these was a rule no test held.
  it("takes Age from Expires and from the heuristic lifetime too", () => {
    const date = new Date(NOW * 1000).toUTCString();
    const later = new Date((NOW + 90) * 1000).toUTCString();
    expect(storable(200, lookup({ date, expires: later, age: "30" }), NOW, CAP)).toEqual({
      store: true,
      ttlSeconds: 60,
    });
    const modified = new Date((NOW - 300) * 1000).toUTCString();
    expect(storable(200, lookup({ date, "last-modified": modified, age: "10" }), NOW, CAP)).toEqual(
      { store: true, ttlSeconds: 20 },
    );
  });

  it("reads Expires against the answer's Date, and against the gate's clock when it has none", () => {
    const later = new Date((NOW + 90) * 1000).toUTCString();
    // No Date: the gate's clock.
    expect(storable(200, lookup({ expires: later }), NOW, CAP)).toEqual({
      store: true,
      ttlSeconds: 90,
    });
    // A Date 30 s behind the gate's clock: the origin's own reckoning, 120 s.
    const date = new Date((NOW - 30) * 1000).toUTCString();
    expect(storable(200, lookup({ date, expires: later }), NOW, CAP)).toEqual({
      store: true,
      ttlSeconds: 120,
    });
  });

  it.each([
    // RFC 9111 §5.2: a directive's argument may be a quoted string.
    [{ "cache-control": 'max-age="60"' }, { store: true, ttlSeconds: 60 }],
    [
      { "cache-control": "max-age=60", age: " 20 " },
      { store: true, ttlSeconds: 40 },
    ],
    [{ "cache-control": ", max-age=60," }, { store: true, ttlSeconds: 60 }],
    [{ "cache-control": 'max-age = "60"' }, { store: true, ttlSeconds: 60 }],
    // Not a number of seconds: no lifetime from it at all.
    [{ "cache-control": "max-age=6=0" }, { store: false, why: "no freshness information" }],
    [{ "cache-control": 'max-age="60"1' }, { store: false, why: "no freshness information" }],
    [{ "cache-control": 'max-age=1"60"' }, { store: false, why: "no freshness information" }],
    [{ "cache-control": "max-age=x60" }, { store: false, why: "no freshness information" }],
    [{ "cache-control": "max-age=60x" }, { store: false, why: "no freshness information" }],
    [
      { "cache-control": "max-age=60", age: "x20" },
      { store: true, ttlSeconds: 60 },
    ],
  ] as const)("reads %j as %j", (headers, expected) => {
    expect(storable(200, lookup(headers), NOW, CAP)).toEqual(expected);
  });
});

/**
 * Ours stays (it runs in njs and the Worker, and is one function of the headers and a clock);
 * this holds it to http-cache-semantics, the shared-cache rules npm's own cache uses: ours
 * never keeps what the library would not, for as long or less, and where it keeps less, the
 * reason is one of its documented stricter rules.
 */
describe("storable() against http-cache-semantics", () => {
  const STRICTER = /^(status \d+|Vary: .+|Set-Cookie|no freshness information)$/;
  const seconds = fc.integer({ min: -200_000, max: 200_000 });

  it("keeps only what a shared cache may keep, never longer", () => {
    let kept = 0;
    const numRuns = runs(5_000);
    let refused = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          { arbitrary: fc.constant(200), weight: 3 },
          { arbitrary: fc.constantFrom(203, 204, 206, 301, 404, 410, 500), weight: 1 },
        ),
        fc.oneof(
          { arbitrary: fc.subarray(["public", "must-revalidate", "immutable"]), weight: 3 },
          {
            arbitrary: fc.subarray(["public", "private", "no-store", "no-cache", "immutable"]),
            weight: 1,
          },
        ),
        fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
        fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
        fc.option(fc.nat({ max: 200 }), { nil: undefined }),
        fc.option(seconds, { nil: undefined }),
        fc.option(seconds, { nil: undefined }),
        fc.option(fc.constantFrom("Accept-Encoding", "Origin", "*", "accept-encoding, cookie"), {
          nil: undefined,
        }),
        fc.constantFrom(false, false, false, true),
        (status, flags, maxAge, sMaxAge, age, expiresIn, modifiedAgo, vary, cookie) => {
          const now = Math.floor(Date.now() / 1000);
          const directives = [...flags];
          if (maxAge !== undefined) directives.push(`max-age=${maxAge}`);
          if (sMaxAge !== undefined) directives.push(`s-maxage=${sMaxAge}`);
          const headers: Record<string, string> = { date: new Date(now * 1000).toUTCString() };
          if (directives.length > 0) headers["cache-control"] = directives.join(", ");
          if (age !== undefined) headers.age = String(age);
          if (expiresIn !== undefined)
            headers.expires = new Date((now + expiresIn) * 1000).toUTCString();
          if (modifiedAgo !== undefined && modifiedAgo > 0) {
            headers["last-modified"] = new Date((now - modifiedAgo) * 1000).toUTCString();
          }
          if (vary !== undefined) headers.vary = vary;
          if (cookie) headers["set-cookie"] = "session=1";

          // Uncapped, ours must agree with the library; the cap only ever shortens it.
          const ours = storable(status, lookup(headers), now, 2 ** 31);
          const capped = storable(status, lookup(headers), now, CAP);
          const policy = new CachePolicy(
            { method: "GET", url: "/videos/a/seg.ts", headers: {} },
            { status, headers },
            { shared: true, cacheHeuristic: 0.1, immutableMinTimeToLive: 0 },
          );
          // In milliseconds since the policy was made: one second (s-maxage=1) is 999 ms a
          // moment later, kept by both though it floors to 0 seconds.
          const theirsMs = policy.storable() ? policy.timeToLive() : 0;
          const theirs = Math.floor(theirsMs / 1000);
          const said = JSON.stringify({ status, headers });
          if (ours.store) {
            kept++;
            expect(theirsMs, said).toBeGreaterThan(0);
            // The library counts the milliseconds since it was made; ours, whole seconds.
            expect(Math.abs(ours.ttlSeconds - theirs), said).toBeLessThanOrEqual(1);
          } else {
            refused++;
            if (theirs > 0) expect(ours.why, said).toMatch(STRICTER);
          }
          if (capped.store) {
            expect(ours.store && capped.ttlSeconds <= ours.ttlSeconds, said).toBe(true);
          }
        },
      ),
      { numRuns },
    );
    // Both classes, at least one run in fifty each (over 100 of 5,000).
    expect(kept).toBeGreaterThan(numRuns / 50);
    expect(refused).toBeGreaterThan(numRuns / 50);
  });
});

describe("noneMatch()", () => {
  // RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`.
  it.each([
    ['"a"', '"a"', true],
    ['W/"a"', '"a"', true],
    ['"a"', 'W/"a"', true],
    ['"b", "a"', '"a"', true],
    ['"b",W/"a"', '"a"', true],
    ["*", '"a"', true],
    ['"b"', '"a"', false],
    ['"a', '"a"', false],
    ["", '"a"', false],
    ['"a"', undefined, false],
    [undefined, '"a"', false],
    // An ETag line's spaces are not part of the tag; an empty one names nothing.
    ['"a"', ' "a" ', true],
    [", ", "", false],
  ] as const)("If-None-Match %j against ETag %j: %s", (header, etag, matched) => {
    expect(noneMatch(header, etag)).toBe(matched);
  });
});
