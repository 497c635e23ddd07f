/**
 * Client addresses as IP-bound tokens hash them: one text per address, so a signer and the
 * gate agree whatever form the address arrived in. Parsing is ipaddr.js's (pure JavaScript,
 * runs wherever the core runs). Pure: no runtime APIs.
 * @module
 */
import ipaddr from "ipaddr.js";

/**
 * The canonical text of an IP address, or undefined when `text` is not one: IPv4 as a dotted
 * quad, IPv6 in RFC 5952 form (lower case, leading zeros dropped, the longest run of zero
 * groups as `::`), an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as its IPv4 address. Only
 * the usual spellings are addresses: no zone (`%eth0`), no brackets, no port, no IPv4 in
 * fewer than four parts, octal or hex.
 *
 * @example
 * ```ts
 * canonicalAddress("2001:DB8:0:0:0:0:0:7"); // "2001:db8::7"
 * canonicalAddress("::ffff:1.2.3.4"); // "1.2.3.4"
 * canonicalAddress("1.2.3"); // undefined
 * ```
 */
export function canonicalAddress(text: string): string | undefined {
  if (typeof text !== "string" || text.length > 45) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text).toString();
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress()
    ? address.toIPv4Address().toString()
    : address.toRFC5952String();
}

/** A list of address ranges, as `TRUST_PROXY` gives them. */
export interface AddressRanges {
  /** Whether an address (any spelling {@link canonicalAddress} takes) is in one of them. */
  has(address: string): boolean;
}

/**
 * One address range as plain data, so it survives JSON (the nginx module's preloaded
 * settings): an IPv4 address's 4 octets or an IPv6 address's 8 groups, and its prefix length.
 */
export interface AddressRange {
  readonly parts: readonly number[];
  readonly bits: number;
}

/**
 * Parses comma-separated CIDR ranges (`10.0.0.0/8, 127.0.0.1, ::1`) into data; a bare address
 * is a range of one, an IPv4-mapped IPv6 address its IPv4 address. {@link addressRanges} matches
 * against them.
 *
 * @throws RangeError naming the first entry that is not an address or range.
 * @example
 * ```ts
 * parseAddressRangeList("10.0.0.0/8"); // [{ parts: [10, 0, 0, 0], bits: 8 }]
 * ```
 */
export function parseAddressRangeList(text: string): AddressRange[] {
  const ranges: AddressRange[] = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") throw new RangeError("has an empty entry (a comma too many)");
    const slash = entry.indexOf("/");
    const address = canonicalAddress(slash < 0 ? entry : entry.slice(0, slash));
    const bitsText = slash < 0 ? undefined : entry.slice(slash + 1);
    if (address === undefined || (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText))) {
      throw new RangeError(`${JSON.stringify(entry)} is not an IP address or CIDR range`);
    }
    const parts = partsOf(address);
    const max = parts.length === 4 ? 32 : 128;
    // An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) is the IPv4 range of its last 32 bits,
    // as clients are read; one shorter than 96 bits would span other IPv6 addresses too.
    const mapped =
      parts.length === 4 && entry.slice(0, slash < 0 ? entry.length : slash).includes(":");
    let bits = bitsText === undefined ? max : Number(bitsText);
    if (mapped && bitsText !== undefined) {
      if (bits < 96 || bits > 128) {
        throw new RangeError(`${JSON.stringify(entry)}: an IPv4-mapped range needs 96 to 128 bits`);
      }
      bits -= 96;
    }
    if (bits > max) throw new RangeError(`${JSON.stringify(entry)} has more than ${max} bits`);
    ranges.push({ parts, bits });
  }
  return ranges;
}

/** A canonical address's octets (IPv4) or groups (IPv6). */
function partsOf(address: string): number[] {
  const parsed = ipaddr.parse(address);
  // The parsed object is this call's own, so its array needs no copy.
  return parsed.kind() === "ipv4" ? (parsed as ipaddr.IPv4).octets : (parsed as ipaddr.IPv6).parts;
}

/** Whether `parts` (of one kind: as many as the range's) share the range's first `bits` bits. */
function inRange(parts: readonly number[], range: AddressRange): boolean {
  const prefix = range.parts;
  if (prefix.length !== parts.length) return false;
  const width = parts.length === 4 ? 8 : 16;
  let left = range.bits;
  for (let i = 0; i < parts.length && left > 0; i++) {
    // Of a part the range covers only partly, its high `left` bits.
    const shift = left >= width ? 0 : width - left;
    if (parts[i]! >> shift !== prefix[i]! >> shift) return false;
    left -= width;
  }
  return true;
}

/**
 * The matcher of ranges {@link parseAddressRangeList} parsed (or their JSON copy): it parses
 * only the address asked about. Reads `list` by index alone (njs's preloaded arrays have none
 * of Array's methods).
 *
 * @example
 * ```ts
 * addressRanges([{ parts: [10, 0, 0, 0], bits: 8 }]).has("10.1.2.3"); // true
 * ```
 */
export function addressRanges(list: readonly AddressRange[]): AddressRanges {
  return Object.freeze({
    has(text: string): boolean {
      const address = canonicalAddress(text);
      if (address === undefined) return false;
      const parts = partsOf(address);
      for (let i = 0; i < list.length; i++) if (inRange(parts, list[i]!)) return true;
      return false;
    },
  });
}

/**
 * Parses comma-separated CIDR ranges (`10.0.0.0/8, 127.0.0.1, ::1`); a bare address is a range
 * of one. An IPv4-mapped IPv6 address counts as its IPv4 address on both sides.
 *
 * @throws RangeError naming the first entry that is not an address or range.
 * @example
 * ```ts
 * parseAddressRanges("10.0.0.0/8,::1").has("10.1.2.3"); // true
 * ```
 */
export function parseAddressRanges(text: string): AddressRanges {
  return addressRanges(parseAddressRangeList(text));
}

/**
 * The client's address as a self-hosted gate sees it: the socket's peer, unless `trusted`
 * holds the peer (a proxy in front of the gate); then the right-most `X-Forwarded-For` entry
 * not in `trusted`, as nginx's `real_ip_recursive` reads it. Undefined when that entry is not
 * an address: a token bound to an address then cannot verify (fail closed).
 *
 * @param peer - The socket's remote address.
 * @param forwardedFor - Every `X-Forwarded-For` value the request carried, in order.
 * @example
 * ```ts
 * clientAddressOf("10.0.0.2", ["203.0.113.7, 10.0.0.1"], parseAddressRanges("10.0.0.0/8")); // "203.0.113.7"
 * ```
 */
export function clientAddressOf(
  peer: string | undefined,
  forwardedFor: readonly string[],
  trusted: AddressRanges | undefined,
): string | undefined {
  const address = peer === undefined ? undefined : canonicalAddress(peer);
  if (address === undefined || trusted === undefined || !trusted.has(address)) return address;
  const hops = forwardedFor.join(",").split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop === "" && hops.length === 1) return address; // no X-Forwarded-For: the peer itself
    const canonical = canonicalAddress(hop);
    if (canonical === undefined) return undefined;
    if (!trusted.has(canonical)) return canonical;
  }
  // Every hop is a trusted proxy: the left-most is as close to the client as is known.
  return canonicalAddress(hops[0]!.trim());
}

/**
 * What one client's share of the origin (`REQUESTS_PER_CLIENT`) is counted by: an IPv4 address
 * itself, an IPv6 address's /64 (`2001:db8:1:2::/64`), since one host is routed a whole /64
 * (SLAAC privacy addresses, a provider's delegation) and could otherwise take a share per
 * address. Text that is no address (a Unix socket) is its own key.
 *
 * @example
 * ```ts
 * clientShareKey("2001:db8:1:2::7"); // "2001:db8:1:2::/64"
 * clientShareKey("203.0.113.7"); // "203.0.113.7"
 * ```
 */
export function clientShareKey(address: string): string {
  const canonical = canonicalAddress(address);
  if (canonical === undefined) return address;
  if (canonical.indexOf(":") < 0) return canonical;
  const parts = ipaddr.IPv6.parse(canonical).parts;
  const prefix = new ipaddr.IPv6([parts[0]!, parts[1]!, parts[2]!, parts[3]!, 0, 0, 0, 0]);
  return `${prefix.toRFC5952String()}/64`;
}
