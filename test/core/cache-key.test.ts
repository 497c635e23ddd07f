import { describe, expect, it } from "vitest";
import { cacheKey, DEFAULT_CACHE_KEY_QUERY } from "../../src/core/cache-key.js";

// The key rule itself, as every runtime's cache calls it (test/adapter/cache-key.test.ts holds
// the runtimes to it); found unheld by mutation testing, which runs only the pure suites.
describe("cacheKey()", () => {
  // Red team: the path was the key as written, so each escaped spelling of a letter (the origin
  // decodes them to one file) was an object of its own: a cache bypass, on nginx an eviction.
  it.each([
    ["/v/%63ache.ts", "none", "/v/cache.ts"],
    ["/v/c%61che.ts?q=1", "all", "/v/cache.ts?q=1"],
    ["/v/%7Ea-%2D_%2e%5F1.ts", "none", "/v/~a--_._1.ts"],
    ["/v/a%2fb%3a.ts", "none", "/v/a%2Fb%3A.ts"],
    ["/v/%e2%82%ac.ts", "none", "/v/%E2%82%AC.ts"],
    ["/v/a%zz.ts", "none", "/v/a%zz.ts"],
    ["/v/%63.ts?quality=1", ["quality"], "/v/c.ts?quality=1"],
    // Hex digits that follow no "%" are letters, not an escape.
    ["/v/cafe/%7e.ts", "none", "/v/cafe/~.ts"],
  ] as const)(
    "keys %s under %j as %s: one key for every spelling of the path",
    (target, rule, key) => {
      expect(cacheKey(target, rule as "all")).toBe(key);
    },
  );

  it("keys on the path alone by default", () => {
    expect(DEFAULT_CACHE_KEY_QUERY).toBe("none");
    expect(cacheKey("/v/seg.ts?junk=1&q=hd", DEFAULT_CACHE_KEY_QUERY)).toBe("/v/seg.ts");
  });

  it.each([
    ["/v/seg.ts?junk=1&q=hd", "all", "/v/seg.ts?junk=1&q=hd"],
    ["/v/seg.ts", "all", "/v/seg.ts"],
    ["/v/seg.ts", "none", "/v/seg.ts"],
    ["/v/seg.ts?", "none", "/v/seg.ts"],
    // "none" is no list of names (a parameter named n, o or e is not kept).
    ["/v/seg.ts?n=1&o=2&e=3", "none", "/v/seg.ts"],
    ["/v/seg.ts", ["q"], "/v/seg.ts"],
    ["/v/seg.ts?junk=1&q=hd", ["q"], "/v/seg.ts?q=hd"],
    ["/v/seg.ts?junk=1", ["q"], "/v/seg.ts"],
    // In the list's order, whatever the request's.
    ["/v/seg.ts?b=2&a=1&c=3", ["a", "b"], "/v/seg.ts?a=1&b=2"],
    // A name without a value is the name, a prefix is not the name; a key parameter given
    // twice has no shared key (the request passes uncached: an origin reads one of the two).
    ["/v/seg.ts?q&qq=1", ["q"], "/v/seg.ts?q"],
    ["/v/seg.ts?q&qq=1&q=2", ["q"], undefined],
    ["/v/seg.ts?q=1=2&x=q", ["q"], "/v/seg.ts?q=1=2"],
    ["/v/seg.ts?=1&q=2", [""], "/v/seg.ts?=1"],
    ["/v/a?b.ts?q=1", ["b.ts?q"], "/v/a?b.ts?q=1"],
  ] as const)("%s under %j is %s", (target, rule, key) => {
    expect(cacheKey(target, rule)).toBe(key);
  });

  // An origin decodes names and splits on `;`, so each of these reads the key parameter a
  // second time: the key would not name what it answers, and the request passes uncached.
  it.each([
    ["/v/seg.ts?quality=hd&q%75ality=sd", ["quality"]],
    ["/v/seg.ts?quality=hd&Quality=sd", ["quality"]],
    ["/v/seg.ts?quality=hd&quality[]=sd", ["quality"]],
    ["/v/seg.ts?a=1;quality=sd&quality=hd", ["quality"]],
    ["/v/seg.ts?quality=hd&amp;quality=sd", ["quality"]],
    ["/v/seg.ts?Quality=sd", ["quality"]],
    ["/v/seg.ts?x=1&QUALITY=sd", ["a", "quality"]],
    ["/v/seg.ts?=1&=2", [""]],
    ["/v/seg.ts?quality=hd;quality=sd", ["quality"]],
    ["/v/seg.ts?a=1;quality&quality=hd", ["quality"]],
    // A listed name holding a `;` (only a direct call can list one) whose first piece is
    // another listed name: an origin splitting on `;` reads that one.
    ["/v/seg.ts?ab;c=1", ["ab;c", "ab"]],
  ] as const)("%s under %j has no shared key: the key parameter reads twice", (target, rule) => {
    expect(cacheKey(target, rule)).toBeUndefined();
  });

  it.each([
    // Only the key's own parameters count twice; a repeated other parameter is left out.
    ["/v/seg.ts?junk=1&junk=2&q=hd", ["q"], "/v/seg.ts?q=hd"],
    // A `;` piece after the key parameter's own name is read as another parameter, not it.
    ["/v/seg.ts?quality=hd;x=1", ["quality"], "/v/seg.ts?quality=hd;x=1"],
    ["/v/seg.ts?quality=hd;x=1&y=2", ["quality", "y"], "/v/seg.ts?quality=hd;x=1&y=2"],
    // Look-alikes of a name not in the list change nothing.
    ["/v/seg.ts?Other=1&q%75ality=2&quality=hd", ["quality"], undefined],
    ["/v/seg.ts?Other=1&o%74her=2&quality=hd", ["quality"], "/v/seg.ts?quality=hd"],
    // Red team: letters an origin's case folding reads as ASCII (Java's equalsIgnoreCase takes
    // `ı` and `İ` for `i`), full-width forms, and a key parameter escaped inside another's value
    // (an origin that decodes the whole query before splitting it reads it) shared `quality=low`.
    ["/v/seg.ts?quality=low&qual%C4%B1ty=high", ["quality"], undefined],
    ["/v/seg.ts?quality=low&qual%C4%B0ty=high", ["quality"], undefined],
    ["/v/seg.ts?quality=low&%EF%BD%91uality=high", ["quality"], undefined],
    ["/v/seg.ts?quality=low&x=1%26quality%3Dhigh", ["quality"], undefined],
    ["/v/seg.ts?quality=low&x=1%3Bquality%3Dhigh", ["quality"], undefined],
    ["/v/seg.ts?quality=low&title=a%26b", ["quality"], "/v/seg.ts?quality=low"],
    ["/v/seg.ts?quality=low&qu%61lity=high%ff", ["quality"], undefined],
    ["/v/seg.ts?quality=low&qu%61lity=high%zz", ["quality"], undefined],
    ["/v/seg.ts?quality=low&x=1%26quality%3Dhigh%ff", ["quality"], undefined],
  ] as const)(
    "%s under %j is %s: only the key parameters' spellings count",
    (target, rule, key) => {
      expect(cacheKey(target, rule)).toBe(key);
    },
  );
});
