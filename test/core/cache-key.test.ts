import { describe, expect, it } from "vitest";
import { cacheKey, DEFAULT_CACHE_KEY_QUERY } from "../../src/core/cache-key.js";

// The key rule itself, as every runtime's cache calls it (test/adapter/cache-key.test.ts holds
// the runtimes to it); found unheld by mutation testing, which runs only the pure suites.
describe("cacheKey()", () => {
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
});
