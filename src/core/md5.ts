/**
 * MD5 (RFC 1321) in plain TypeScript: no `node:crypto`, no WebCrypto (which has no MD5), so the
 * same code runs on Workers, Node, Deno, Bun and browsers.
 *
 * MD5 is broken for collision resistance. Here it only serves the Gcore/nginx `secure_link`
 * scheme, where the secret is part of the hashed text; it is not a general-purpose MAC.
 *
 * Every function is pure: all scratch space is allocated by the call that uses it and dropped
 * when it returns, so no caller can see or change what another hashed (a secret among it).
 * @module
 */

/**
 * The 64 additive constants of RFC 1321 §3.4: K[i] = floor(abs(sin(i + 1)) * 2^32), derived here
 * rather than pasted so a reader can check them. The unrolled steps below index this table;
 * `test/core/md5.test.ts` checks that step i uses K[i], word and rotation as the RFC says, and
 * proves every step against node:crypto. Read-only after load.
 */
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

/**
 * Whether typed-array words are little-endian here, as MD5 reads them. Only then may a message
 * be hashed through a word view of its own bytes; every other step assembles and splits words
 * with shifts, which gives the same result on any byte order.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Stateless; made once because making one costs more than hashing a token. */
const encoder = new TextEncoder();
/** Strings that need no encoding: every character is its own UTF-8 byte. */
const ASCII = /^[\x00-\x7f]*$/;

/** Base64url alphabet (RFC 4648 §5) as char codes. Read-only after load. */
const B64URL = new Uint8Array(64);
for (let i = 0; i < 64; i++) {
  B64URL[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".charCodeAt(i);
}

/**
 * One MD5 compression (RFC 1321 §3.4) of the 16 words at `x[o…o+15]` into `state`. Each step
 * is `a = b + ((a + f(b, c, d) + x[k] + K[i]) <<< s)`, all 64 written out so message words stay
 * in registers.
 * Each step adds in the order x[k] + K[i] + a + f(…): those three do not wait on the step
 * before, so the CPU sums them while f waits for b, and only one addition, the rotation and
 * `+ b` stay on the chain from step to step (JavaScript adds left to right and the JIT does
 * not reorder).
 * Rounds use the equivalent forms F = d ^ (b & (c ^ d)) and G = c ^ (d & (b ^ c)), one
 * operation shorter than the RFC's. `| 0` keeps every value a 32-bit integer for the JIT.
 */
function compress(state: Int32Array, x: Int32Array, o: number): void {
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  const x0 = x[o + 0];
  const x1 = x[o + 1];
  const x2 = x[o + 2];
  const x3 = x[o + 3];
  const x4 = x[o + 4];
  const x5 = x[o + 5];
  const x6 = x[o + 6];
  const x7 = x[o + 7];
  const x8 = x[o + 8];
  const x9 = x[o + 9];
  const x10 = x[o + 10];
  const x11 = x[o + 11];
  const x12 = x[o + 12];
  const x13 = x[o + 13];
  const x14 = x[o + 14];
  const x15 = x[o + 15];

  // Round 1: F, message words in order, shifts 7 12 17 22.
  a = (x0 + K[0] + a + (d ^ (b & (c ^ d)))) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (x1 + K[1] + d + (c ^ (a & (b ^ c)))) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (x2 + K[2] + c + (b ^ (d & (a ^ b)))) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (x3 + K[3] + b + (a ^ (c & (d ^ a)))) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  a = (x4 + K[4] + a + (d ^ (b & (c ^ d)))) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (x5 + K[5] + d + (c ^ (a & (b ^ c)))) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (x6 + K[6] + c + (b ^ (d & (a ^ b)))) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (x7 + K[7] + b + (a ^ (c & (d ^ a)))) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  a = (x8 + K[8] + a + (d ^ (b & (c ^ d)))) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (x9 + K[9] + d + (c ^ (a & (b ^ c)))) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (x10 + K[10] + c + (b ^ (d & (a ^ b)))) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (x11 + K[11] + b + (a ^ (c & (d ^ a)))) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  a = (x12 + K[12] + a + (d ^ (b & (c ^ d)))) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (x13 + K[13] + d + (c ^ (a & (b ^ c)))) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (x14 + K[14] + c + (b ^ (d & (a ^ b)))) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (x15 + K[15] + b + (a ^ (c & (d ^ a)))) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;

  // Round 2: G, word (5i + 1) mod 16, shifts 5 9 14 20.
  a = (x1 + K[16] + a + (c ^ (d & (b ^ c)))) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (x6 + K[17] + d + (b ^ (c & (a ^ b)))) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (x11 + K[18] + c + (a ^ (b & (d ^ a)))) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (x0 + K[19] + b + (d ^ (a & (c ^ d)))) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  a = (x5 + K[20] + a + (c ^ (d & (b ^ c)))) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (x10 + K[21] + d + (b ^ (c & (a ^ b)))) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (x15 + K[22] + c + (a ^ (b & (d ^ a)))) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (x4 + K[23] + b + (d ^ (a & (c ^ d)))) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  a = (x9 + K[24] + a + (c ^ (d & (b ^ c)))) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (x14 + K[25] + d + (b ^ (c & (a ^ b)))) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (x3 + K[26] + c + (a ^ (b & (d ^ a)))) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (x8 + K[27] + b + (d ^ (a & (c ^ d)))) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  a = (x13 + K[28] + a + (c ^ (d & (b ^ c)))) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (x2 + K[29] + d + (b ^ (c & (a ^ b)))) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (x7 + K[30] + c + (a ^ (b & (d ^ a)))) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (x12 + K[31] + b + (d ^ (a & (c ^ d)))) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;

  // Round 3: H, word (3i + 5) mod 16, shifts 4 11 16 23.
  a = (x5 + K[32] + a + (b ^ c ^ d)) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (x8 + K[33] + d + (a ^ b ^ c)) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (x11 + K[34] + c + (d ^ a ^ b)) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (x14 + K[35] + b + (c ^ d ^ a)) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  a = (x1 + K[36] + a + (b ^ c ^ d)) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (x4 + K[37] + d + (a ^ b ^ c)) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (x7 + K[38] + c + (d ^ a ^ b)) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (x10 + K[39] + b + (c ^ d ^ a)) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  a = (x13 + K[40] + a + (b ^ c ^ d)) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (x0 + K[41] + d + (a ^ b ^ c)) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (x3 + K[42] + c + (d ^ a ^ b)) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (x6 + K[43] + b + (c ^ d ^ a)) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  a = (x9 + K[44] + a + (b ^ c ^ d)) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (x12 + K[45] + d + (a ^ b ^ c)) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (x15 + K[46] + c + (d ^ a ^ b)) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (x2 + K[47] + b + (c ^ d ^ a)) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;

  // Round 4: I, word 7i mod 16, shifts 6 10 15 21.
  a = (x0 + K[48] + a + (c ^ (b | ~d))) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (x7 + K[49] + d + (b ^ (a | ~c))) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (x14 + K[50] + c + (a ^ (d | ~b))) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (x5 + K[51] + b + (d ^ (c | ~a))) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  a = (x12 + K[52] + a + (c ^ (b | ~d))) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (x3 + K[53] + d + (b ^ (a | ~c))) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (x10 + K[54] + c + (a ^ (d | ~b))) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (x1 + K[55] + b + (d ^ (c | ~a))) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  a = (x8 + K[56] + a + (c ^ (b | ~d))) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (x15 + K[57] + d + (b ^ (a | ~c))) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (x6 + K[58] + c + (a ^ (d | ~b))) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (x13 + K[59] + b + (d ^ (c | ~a))) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  a = (x4 + K[60] + a + (c ^ (b | ~d))) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (x11 + K[61] + d + (b ^ (a | ~c))) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (x2 + K[62] + c + (a ^ (d | ~b))) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (x9 + K[63] + b + (d ^ (c | ~a))) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;

  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
}

/** The message bytes: an array, or a string whose characters are all below 0x80. */
type Message = Uint8Array | string;

/** Byte `i` of the message. */
function byteAt(data: Message, i: number): number {
  return typeof data === "string" ? data.charCodeAt(i) : data[i]!;
}

/** The message word at bytes `q…q+3`, assembled little-endian by shifts. */
function wordAt(data: Message, q: number): number {
  return (
    byteAt(data, q) |
    (byteAt(data, q + 1) << 8) |
    (byteAt(data, q + 2) << 16) |
    (byteAt(data, q + 3) << 24)
  );
}

/**
 * The MD5 state after hashing `data`: words A, B, C, D. The call's only scratch is that state
 * and one 16-word block, each small enough for V8 to keep on its own heap (a larger typed
 * array, or a string encoded to bytes, costs an allocation outside it: more than hashing a
 * token).
 *
 * @param wordView - Whether whole blocks may be read through an `Int32Array` view of `data`
 *   (little-endian engines, 4-byte-aligned input). `false` is the portable path a big-endian
 *   engine always takes.
 */
function hash(data: Message, wordView: boolean): Int32Array {
  const state = new Int32Array(4);
  state[0] = 0x67452301;
  state[1] = 0xefcdab89;
  state[2] = 0x98badcfe;
  state[3] = 0x10325476;
  const block = new Int32Array(16);
  const length = data.length;
  const full = length - (length % 64);
  if (
    wordView &&
    LITTLE_ENDIAN &&
    typeof data !== "string" &&
    (data.byteOffset & 3) === 0 &&
    full > 0
  ) {
    const view = new Int32Array(data.buffer, data.byteOffset, full >> 2);
    for (let o = 0; o < view.length; o += 16) compress(state, view, o);
  } else {
    for (let p = 0; p < full; p += 64) {
      for (let j = 0; j < 16; j++) block[j] = wordAt(data, p + 4 * j);
      compress(state, block, 0);
    }
  }
  // The tail and its padding (RFC 1321 §3.1–3.2): a 1 bit, zeros to 56 mod 64, then the
  // message length in bits as a 64-bit little-endian number; a second block when the tail
  // leaves no room for the length.
  const tail = length - full;
  block.fill(0);
  for (let j = 0; j < tail; j++) block[j >> 2]! |= byteAt(data, full + j) << ((j & 3) << 3);
  block[tail >> 2]! |= 0x80 << ((tail & 3) << 3);
  if (tail >= 56) {
    compress(state, block, 0);
    block.fill(0);
  }
  block[14] = length << 3; // low 32 bits of the bit length (ToInt32 wraps)
  block[15] = (length / 0x20000000) | 0; // high 32 bits
  compress(state, block, 0);
  return state;
}

/** The digest bytes of a state: each word little-endian, split by shifts. */
function digestBytes(state: Int32Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = (state[i >> 2]! >>> ((i & 3) << 3)) & 0xff;
  return out;
}

/**
 * MD5 digest of `data`.
 *
 * @param data - The message bytes (any length; need not be aligned).
 * @returns A new 16-byte digest.
 * @example
 * ```ts
 * md5(new TextEncoder().encode("abc")); // Uint8Array(16) [0x90, 0x01, 0x50, 0x98, …]
 * ```
 */
export function md5(data: Uint8Array): Uint8Array {
  return digestBytes(hash(data, true));
}

/**
 * MD5 through the portable path only (words assembled by shifts), as a big-endian engine runs
 * it; for tests that must prove that path on a little-endian machine.
 *
 * @example
 * ```ts
 * md5Portable(new TextEncoder().encode("abc")); // same bytes as md5()
 * ```
 */
export function md5Portable(data: Uint8Array): Uint8Array {
  return digestBytes(hash(data, false));
}

/**
 * MD5 as unpadded base64url (RFC 4648 §5): the 22-character form that Gcore protected links
 * and nginx `secure_link` use. A string is hashed as its UTF-8 bytes.
 *
 * @param data - Bytes, or a string (lone surrogates are encoded as U+FFFD, like `TextEncoder`).
 * @returns 22 characters of `[A-Za-z0-9_-]`.
 * @example
 * ```ts
 * md5Base64url(""); // "1B2M2Y8AsgTpgAmY7PhCfg"
 * ```
 */
export function md5Base64url(data: Uint8Array | string): string {
  // An ASCII string is its own UTF-8: hashed from its characters, with no bytes to allocate.
  const digest = digestBytes(
    hash(typeof data === "string" && !ASCII.test(data) ? encoder.encode(data) : data, true),
  );
  const c = new Uint8Array(22);
  // Five 3-byte groups make 20 characters; the last byte makes two more.
  for (let i = 0, o = 0; i < 15; i += 3, o += 4) {
    const v = (digest[i]! << 16) | (digest[i + 1]! << 8) | digest[i + 2]!;
    c[o] = B64URL[v >>> 18]!;
    c[o + 1] = B64URL[(v >>> 12) & 63]!;
    c[o + 2] = B64URL[(v >>> 6) & 63]!;
    c[o + 3] = B64URL[v & 63]!;
  }
  c[20] = B64URL[digest[15]! >>> 2]!;
  c[21] = B64URL[(digest[15]! << 4) & 63]!;
  // One call with 22 arguments: a flat string at once, where `+=` would build a rope.
  // prettier-ignore
  return String.fromCharCode(
    c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!,
    c[11]!, c[12]!, c[13]!, c[14]!, c[15]!, c[16]!, c[17]!, c[18]!, c[19]!, c[20]!, c[21]!,
  );
}
