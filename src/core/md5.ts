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

/** The state MD5 starts from (RFC 1321 §3.3), in a new array of the caller's own. */
const JOINED_STATE = new Int32Array(4);
const JOINED_BLOCK = new Int32Array(16);

function initialState(): Int32Array {
  const state = new Int32Array(4);
  state[0] = 0x67452301;
  state[1] = 0xefcdab89;
  state[2] = 0x98badcfe;
  state[3] = 0x10325476;
  return state;
}

/**
 * The last block(s) of a message of `length` bytes (RFC 1321 §3.1–3.2), whose tail (`length`
 * mod 64 bytes) `block` holds at its start with zeros after it: a 1 bit, zeros to 56 mod 64,
 * then the length in bits as a 64-bit little-endian number; a second block when the tail
 * leaves no room for the length.
 */
function finish(state: Int32Array, block: Int32Array, length: number): void {
  const tail = length % 64;
  block[tail >> 2]! |= 0x80 << ((tail & 3) << 3);
  if (tail >= 56) {
    compress(state, block, 0);
    block.fill(0);
  }
  block[14] = length << 3; // low 32 bits of the bit length (ToInt32 wraps)
  block[15] = (length / 0x20000000) | 0; // high 32 bits
  compress(state, block, 0);
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
function hash(data: Uint8Array, wordView: boolean): Int32Array {
  const state = initialState();
  const block = new Int32Array(16);
  const length = data.length;
  const full = length - (length % 64);
  if (wordView && LITTLE_ENDIAN && (data.byteOffset & 3) === 0 && full > 0) {
    const view = new Int32Array(data.buffer, data.byteOffset, full >> 2);
    for (let o = 0; o < view.length; o += 16) compress(state, view, o);
  } else {
    for (let p = 0; p < full; p += 64) {
      // Each word assembled little-endian by shifts, whatever the engine's byte order.
      for (let j = 0, q = p; j < 16; j++, q += 4) {
        block[j] = data[q]! | (data[q + 1]! << 8) | (data[q + 2]! << 16) | (data[q + 3]! << 24);
      }
      compress(state, block, 0);
    }
  }
  block.fill(0);
  for (let j = 0; j < length - full; j++) block[j >> 2]! |= data[full + j]! << ((j & 3) << 3);
  finish(state, block, length);
  return state;
}

/**
 * {@link hash} of a string read from its characters, when each is below 0x80 (its own UTF-8
 * byte); undefined as soon as a block holds one that is not, for the caller to encode. Reading
 * the characters straight into words, and noticing non-ASCII on the way, spares the string a
 * second pass (a regex) and an encoded copy.
 */
function hashAscii(text: string): Int32Array | undefined {
  const state = initialState();
  const block = new Int32Array(16);
  const length = text.length;
  const full = length - (length % 64);
  for (let p = 0; p < full; p += 64) {
    let seen = 0;
    for (let j = 0, q = p; j < 16; j++, q += 4) {
      const b0 = text.charCodeAt(q);
      const b1 = text.charCodeAt(q + 1);
      const b2 = text.charCodeAt(q + 2);
      const b3 = text.charCodeAt(q + 3);
      seen |= b0 | b1 | b2 | b3;
      block[j] = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
    }
    if (seen > 0x7f) return undefined;
    compress(state, block, 0);
  }
  block.fill(0);
  let seen = 0;
  for (let j = 0; j < length - full; j++) {
    const byte = text.charCodeAt(full + j);
    seen |= byte;
    block[j >> 2]! |= byte << ((j & 3) << 3);
  }
  if (seen > 0x7f) return undefined;
  finish(state, block, length);
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
  return base64urlOf(
    typeof data === "string"
      ? (hashAscii(data) ?? hash(encoder.encode(data), true))
      : hash(data, true),
  );
}

/**
 * {@link md5Base64url} of `parts.join("_")`, read from the parts themselves: a token body
 * (`client_video_secret_expires_ip`) is hashed without first being built as one string, which
 * V8 would make a rope and then flatten on the first character read.
 *
 * @param parts - Texts (any; non-ASCII is hashed as UTF-8) joined by `_`.
 * @returns 22 characters of `[A-Za-z0-9_-]`.
 * @example
 * ```ts
 * md5Base64urlJoined(["2675", "abc", "s3cret", "1861919999", ""]); // md5Base64url("2675_abc_s3cret_1861919999_")
 * ```
 */
export function md5Base64urlJoined(parts: readonly string[]): string {
  // One state and block for every call: a token is hashed start to end with nothing in between
  // (no callback, no await), and two fresh typed arrays per token are a measurable share of it.
  const state = JOINED_STATE;
  state[0] = 0x67452301;
  state[1] = 0xefcdab89;
  state[2] = 0x98badcfe;
  state[3] = 0x10325476;
  const block = JOINED_BLOCK;
  let seen = 0;
  let word = 0; // the block word being filled, p & 3 of its bytes so far
  let p = 0; // the byte position in the block
  let length = 0;
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k]!;
    const n = part.length;
    // The separator is the byte before each part but the first.
    let i = k === 0 ? 0 : -1;
    while (i < n) {
      if ((p & 3) === 0 && i >= 0 && i + 4 <= n) {
        // On a word boundary, four characters make the word at once.
        const b0 = part.charCodeAt(i);
        const b1 = part.charCodeAt(i + 1);
        const b2 = part.charCodeAt(i + 2);
        const b3 = part.charCodeAt(i + 3);
        seen |= b0 | b1 | b2 | b3;
        block[p >> 2] = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
        i += 4;
        p += 4;
      } else {
        const byte = i < 0 ? 0x5f : part.charCodeAt(i);
        i++;
        seen |= byte;
        word |= byte << ((p & 3) << 3);
        p++;
        if ((p & 3) === 0) {
          block[(p >> 2) - 1] = word;
          word = 0;
        }
      }
      if (p === 64) {
        compress(state, block, 0);
        p = 0;
        length += 64;
      }
    }
    // Non-ASCII needs encoding: the joined text's own path, at once rather than block by block.
    if (seen > 0x7f) return md5Base64url(parts.join("_"));
  }
  // The tail's last word, if begun, and zeros after it.
  block[p >> 2] = word;
  for (let j = (p >> 2) + 1; j < 16; j++) block[j] = 0;
  finish(state, block, length + p);
  return base64urlOf(state);
}

/** The digest of a state as unpadded base64url. */
function base64urlOf(state: Int32Array): string {
  // The digest's bytes are the state's words little-endian: byte i is word i >> 2 shifted right
  // by 8 × (i & 3). Read from the words straight, with no digest array to fill.
  const w0 = state[0]!;
  const w1 = state[1]!;
  const w2 = state[2]!;
  const w3 = state[3]!;
  // Five 3-byte groups (digest bytes 0–14) make 20 characters; byte 15 makes two more.
  const g0 = ((w0 & 0xff) << 16) | (w0 & 0xff00) | ((w0 >>> 16) & 0xff);
  const g1 = ((w0 >>> 24) << 16) | ((w1 & 0xff) << 8) | ((w1 >>> 8) & 0xff);
  const g2 = (((w1 >>> 16) & 0xff) << 16) | ((w1 >>> 24) << 8) | (w2 & 0xff);
  const g3 = (((w2 >>> 8) & 0xff) << 16) | (((w2 >>> 16) & 0xff) << 8) | (w2 >>> 24);
  const g4 = ((w3 & 0xff) << 16) | (w3 & 0xff00) | ((w3 >>> 16) & 0xff);
  const last = w3 >>> 24;
  // One call with 22 arguments: a flat string at once, where `+=` would build a rope.
  // prettier-ignore
  return String.fromCharCode(
    B64URL[g0 >>> 18]!, B64URL[(g0 >>> 12) & 63]!, B64URL[(g0 >>> 6) & 63]!, B64URL[g0 & 63]!,
    B64URL[g1 >>> 18]!, B64URL[(g1 >>> 12) & 63]!, B64URL[(g1 >>> 6) & 63]!, B64URL[g1 & 63]!,
    B64URL[g2 >>> 18]!, B64URL[(g2 >>> 12) & 63]!, B64URL[(g2 >>> 6) & 63]!, B64URL[g2 & 63]!,
    B64URL[g3 >>> 18]!, B64URL[(g3 >>> 12) & 63]!, B64URL[(g3 >>> 6) & 63]!, B64URL[g3 & 63]!,
    B64URL[g4 >>> 18]!, B64URL[(g4 >>> 12) & 63]!, B64URL[(g4 >>> 6) & 63]!, B64URL[g4 & 63]!,
    B64URL[last >>> 2]!, B64URL[(last << 4) & 63]!,
  );
}
