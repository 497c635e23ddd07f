import { runs } from "../helpers/runs.js";
import { isIP } from "node:net";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { beforeEach, describe, expect, it } from "vitest";
import {
  addressRanges,
  canonicalAddress,
  clientAddressOf,
  clientShareKey,
  parseAddressRangeList,
  parseAddressRanges,
  type AddressRanges,
} from "../../src/core/ip.js";

describe("canonicalAddress", () => {
  it.each([
    ["1.2.3.4", "1.2.3.4"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["::FFFF:102:304", "1.2.3.4"],
    ["0:0:0:0:0:ffff:1.2.3.4", "1.2.3.4"],
    ["2001:DB8:0:0:0:0:0:7", "2001:db8::7"],
    ["2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::", "::"],
    ["fe80::0001", "fe80::1"],
    // 45 characters, the longest an address is written in.
    ["0000:0000:0000:0000:0000:ffff:255.255.255.255", "255.255.255.255"],
  ])("writes %s as %s (RFC 5952; IPv4-mapped as IPv4)", (input, expected) => {
    expect(canonicalAddress(input)).toBe(expected);
  });

  it.each([
    "",
    "1.2.3",
    "01.2.3.4",
    "1.2.3.256",
    "0x1.2.3.4",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1.2.3.4:80",
    "[::1]",
    "fe80::1%eth0",
    "1:2:3:4:5:6:7:8:9",
    "::g",
    "localhost",
    "1.2.3.4, 5.6.7.8",
    "for=6.6.6.6;host=evil.test",
    "::1]/x",
    // 49 characters, which ipaddr.js reads as ::ffff:1.2.3.4 but node:net refuses (zero-padded
    // IPv4 octets): no address is longer than 45 characters.
    "0000:0000:0000:0000:0000:ffff:0001.0002.0003.0004",
  ])("refuses %j", (input) => {
    expect(canonicalAddress(input)).toBeUndefined();
  });

  // A JavaScript caller's missing address (the peer of a request that has none) is no address,
  // not a TypeError.
  it.each([undefined, null, 5, {}])("refuses %j, which is no text, without throwing", (input) => {
    expect(canonicalAddress(input as never)).toBeUndefined();
  });

  it("agrees with node:net on what is an address, and is stable", () => {
    const ipv6 = fc.ipV6().map((a) => a.toUpperCase());
    // Each class must occur, or a canonicalAddress() that refuses everything would pass.
    const seen = { v4: 0, v6: 0, refused: 0 };
    const numRuns = runs(5000);
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), ipv6, fc.ipV4Extended(), fc.string()), (text) => {
        const canonical = canonicalAddress(text);
        if (canonical === undefined) {
          seen.refused++;
          // node:net is laxer only on IPv4 forms we refuse on purpose (none for IPv6).
          if (isIP(text) === 6 && !text.includes("%")) throw new Error(`refused ${text}`);
          return;
        }
        if (isIP(canonical) === 4) seen.v4++;
        else seen.v6++;
        expect(isIP(canonical)).not.toBe(0);
        expect(canonicalAddress(canonical)).toBe(canonical);
      }),
      { numRuns },
    );
    for (const [kind, count] of Object.entries(seen)) {
      expect(count, kind).toBeGreaterThan(numRuns / 20);
    }
  });
});

describe("parseAddressRanges", () => {
  // Parsed in each test, not while the file is collected: mutation testing switches a mutant
  // on only once tests run, and the parse must be one the mutant can change.
  let ranges: AddressRanges;
  beforeEach(() => {
    ranges = parseAddressRanges("10.0.0.0/8, 192.168.1.7 ,::1, 2001:db8::/32");
  });
  it.each(["10.0.0.1", "10.255.255.255", "::ffff:10.1.2.3", "192.168.1.7", "::1", "2001:db8:1::5"])(
    "holds %s",
    (address) => expect(ranges.has(address)).toBe(true),
  );
  it.each(["11.0.0.1", "192.168.1.8", "::2", "2001:db9::1", "garbage", ""])(
    "does not hold %j",
    (address) => expect(ranges.has(address)).toBe(false),
  );
  it.each([
    "",
    "10.0.0.0/8,",
    "10.0.0.0/33",
    "::/129",
    "10.0.0.0/x",
    "10.0.0.0/8/8",
    "example.com",
    "1.2.3",
  ])("refuses %j", (text) => expect(() => parseAddressRanges(text)).toThrow(RangeError));
  it.each([
    ["10.0.0.0/8,", "has an empty entry (a comma too many)"],
    ["::1, example.com", '"example.com" is not an IP address or CIDR range'],
    ["10.0.0.0/33", '"10.0.0.0/33" has more than 32 bits'],
    ["::/129", '"::/129" has more than 128 bits'],
  ])("says which entry of %j is wrong, and why", (text, message) => {
    expect(() => parseAddressRanges(text)).toThrow(new RangeError(message));
  });
});

describe("addressRanges over parsed ranges as JSON carries them (the nginx module's settings)", () => {
  // Addresses near each other and near the ranges' edges, in both families and every spelling.
  const v4 = fc
    .tuple(fc.constantFrom(10, 192, 0, 255), fc.nat(255), fc.nat(255), fc.nat(255))
    .map((octets) => octets.join("."));
  const v6 = fc
    .array(fc.constantFrom(0, 1, 0xdb8, 0x2001, 0xffff, 0x8000, 0x7fff), {
      minLength: 8,
      maxLength: 8,
    })
    .map((parts) => parts.map((part) => part.toString(16)).join(":"));
  const address = fc.oneof(
    v4,
    v6,
    v4.map((text) => `::ffff:${text}`),
  );
  const range = fc.oneof(
    fc.tuple(v4, fc.nat(32)).map(([a, bits]) => `${a}/${bits}`),
    fc.tuple(v6, fc.nat(128)).map(([a, bits]) => `${a}/${bits}`),
    address,
  );

  /** The bits of an IPv4-mapped IPv6 range (`::ffff:a.b.c.d/n`), or undefined for another. */
  function mappedBits(entry: string): number | undefined {
    const [head, bits] = entry.split("/");
    if (!head!.includes(":") || canonicalAddress(head!)!.includes(":")) return undefined;
    return bits === undefined ? 128 : Number(bits);
  }

  /** ipaddr.js's own matching of the text ranges: what parseAddressRanges did before. */
  function reference(ranges: string[], text: string): boolean {
    const canonical = canonicalAddress(text);
    if (canonical === undefined) return false;
    const parsed = ipaddr.parse(canonical);
    return ranges.some((entry) => {
      const [head, bits] = entry.split("/");
      const base = ipaddr.parse(canonicalAddress(head!)!);
      const max = base.kind() === "ipv4" ? 32 : 128;
      // A mapped range is the IPv4 range of its last 32 bits (clients are read as IPv4).
      const mapped = mappedBits(entry);
      const n = mapped !== undefined ? mapped - 96 : bits === undefined ? max : Number(bits);
      return base.kind() === parsed.kind() && parsed.match(base, n);
    });
  }

  it("holds what ipaddr.js's match holds, after a trip through JSON", () => {
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 4 }), address, (ranges, text) => {
        // Hunting found "::ffff:2001:2001/62" read as an IPv4 range of 62 bits: a mapped range
        // is 96 to 128 bits, and any other is refused.
        if (ranges.some((entry) => (mappedBits(entry) ?? 96) < 96)) {
          expect(() => parseAddressRangeList(ranges.join(","))).toThrow(/96 to 128 bits/);
          return;
        }
        const list = JSON.parse(JSON.stringify(parseAddressRangeList(ranges.join(","))));
        expect(addressRanges(list).has(text)).toBe(reference(ranges, text));
        expect(parseAddressRanges(ranges.join(",")).has(text)).toBe(reference(ranges, text));
      }),
      {
        numRuns: runs(5000),
        examples: [[["0:0:0:0:0:ffff:2001:2001/62", "0.60.142.33/2"], "255.240.152.195"]],
      },
    );
  });

  it.each([
    ["::ffff:10.0.0.0/104", "10.1.2.3", true],
    ["::ffff:10.0.0.0/104", "11.0.0.1", false],
    ["::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true],
    ["0:0:0:0:0:ffff:a00:0/120", "10.0.0.200", true],
    ["::ffff:1.2.3.4", "1.2.3.4", true],
    ["::ffff:1.2.3.4/128", "1.2.3.5", false],
    // The shortest mapped range, /96, is every IPv4 address.
    ["::ffff:0.0.0.0/96", "203.0.113.9", true],
    ["::ffff:0.0.0.0/96", "2001:db8::1", false],
  ])("reads the IPv4-mapped range %s as IPv4: %s in it is %s", (entry, text, inside) => {
    expect(parseAddressRanges(entry).has(text)).toBe(inside);
  });

  it.each(["::ffff:1.2.3.4/20", "::ffff:0:0/95", "::ffff:1.2.3.4/129"])(
    "refuses the IPv4-mapped range %s (a mapped range is 96 to 128 bits)",
    (entry) => {
      expect(() => parseAddressRangeList(entry)).toThrow(/96 to 128 bits|more than 128 bits/);
    },
  );

  it("holds a range's every address to its last bit, and none past it", () => {
    const list = JSON.parse(JSON.stringify(parseAddressRangeList("10.0.0.0/23, 2001:db8::/47")));
    const ranges = addressRanges(list);
    expect(ranges.has("10.0.1.255")).toBe(true);
    expect(ranges.has("10.0.2.0")).toBe(false);
    expect(ranges.has("2001:db8:1:ffff::1")).toBe(true);
    expect(ranges.has("2001:db8:2::")).toBe(false);
    expect(ranges.has("::ffff:10.0.0.9")).toBe(true);
  });
});

describe("clientAddressOf", () => {
  let trusted: AddressRanges;
  beforeEach(() => {
    trusted = parseAddressRanges("10.0.0.0/8,127.0.0.1");
  });
  it("is the peer when no proxy is trusted, whatever X-Forwarded-For says", () => {
    expect(clientAddressOf("203.0.113.7", ["6.6.6.6"], undefined)).toBe("203.0.113.7");
    expect(clientAddressOf("::ffff:203.0.113.7", [], undefined)).toBe("203.0.113.7");
  });
  it("is the peer when the peer is not a trusted proxy", () => {
    expect(clientAddressOf("203.0.113.7", ["6.6.6.6"], trusted)).toBe("203.0.113.7");
  });
  it("is the right-most X-Forwarded-For entry not trusted, behind a trusted peer", () => {
    expect(clientAddressOf("10.0.0.2", ["6.6.6.6, 203.0.113.7, 10.0.0.1"], trusted)).toBe(
      "203.0.113.7",
    );
    expect(clientAddressOf("10.0.0.2", ["6.6.6.6", "203.0.113.7,10.0.0.1"], trusted)).toBe(
      "203.0.113.7",
    );
    expect(clientAddressOf("127.0.0.1", ["2001:DB8::0:7"], trusted)).toBe("2001:db8::7");
  });
  it("is the peer behind a trusted peer that sent no X-Forwarded-For", () => {
    expect(clientAddressOf("10.0.0.2", [], trusted)).toBe("10.0.0.2");
  });
  it("is unknown when the entry that decides is not an address", () => {
    expect(clientAddressOf("10.0.0.2", ["203.0.113.7, evil"], trusted)).toBeUndefined();
    expect(clientAddressOf("10.0.0.2", ["203.0.113.7, , 10.0.0.1"], trusted)).toBeUndefined();
    expect(clientAddressOf(undefined, [], trusted)).toBeUndefined();
  });
  it("is the left-most entry when every hop is trusted", () => {
    expect(clientAddressOf("10.0.0.2", ["10.0.0.9, 10.0.0.1"], trusted)).toBe("10.0.0.9");
    expect(clientAddressOf("10.0.0.2", [" 10.0.0.9, 10.0.0.1"], trusted)).toBe("10.0.0.9");
  });
});

// Outside attack: one IPv6 host holds a whole /64 (SLAAC privacy addresses, any address a
// provider routes to it), so a share per exact address was a share per request.
describe("clientShareKey", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:0:0:0:abcd", "2001:db8:1:2::/64"],
    ["2001:db8::7", "2001:db8::/64"],
    ["::1", "::/64"],
    ["fe80::1", "fe80::/64"],
  ])("groups %s as %s", (address, key) => {
    expect(clientShareKey(address)).toBe(key);
  });
  it("keeps another /64 apart, and what is no address as it is", () => {
    expect(clientShareKey("2001:db8:1:3::1")).not.toBe(clientShareKey("2001:db8:1:2::1"));
    expect(clientShareKey("unix:")).toBe("unix:");
  });
  it("gives every address of one /64 one key, and none of another", () => {
    const group = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(group, group, group, (prefix, a, b) => {
        const text = (tail: number[]) => [...prefix, ...tail].map((n) => n.toString(16)).join(":");
        expect(clientShareKey(text(a))).toBe(clientShareKey(text(b)));
        const other = [...prefix];
        other[3] = (other[3]! + 1) % 0x10000;
        expect(clientShareKey([...other, ...a].map((n) => n.toString(16)).join(":"))).not.toBe(
          clientShareKey(text(a)),
        );
      }),
    );
  });
});
