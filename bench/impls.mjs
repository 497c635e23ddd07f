// The MD5 implementations the bench compares, each as "text → 22-char token" and "bytes →
// digest". Every library gets the same cheap base64url step (b64url below) so only the hash
// differs; node:crypto encodes natively. Imported only by md5-worker.mjs, one process each.
import { createHash, hash as cryptoHash } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const codes = new Uint8Array(64).map((_, i) => ALPHABET.charCodeAt(i));
const out = new Array(22);

/** 16 digest bytes → unpadded base64url, without Buffer (which costs more than some hashes). */
export function b64url(bytes) {
  let j = 0;
  for (let i = 0; i < 15; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[j++] = codes[v >>> 18];
    out[j++] = codes[(v >>> 12) & 63];
    out[j++] = codes[(v >>> 6) & 63];
    out[j++] = codes[v & 63];
  }
  out[20] = codes[bytes[15] >>> 2];
  out[21] = codes[(bytes[15] << 4) & 63];
  return String.fromCharCode.apply(null, out);
}
const raw = new Uint8Array(16);
const fromBinaryString = (s) => {
  for (let i = 0; i < 16; i++) raw[i] = s.charCodeAt(i);
  return b64url(raw);
};
const fromWords = (words) => b64url(new Uint8Array(words.buffer, words.byteOffset, 16));
const utf8 = new TextEncoder();

/** name → async () => ({ token(text), digest(bytes) | undefined, note }) */
export const IMPLS = {
  tokengate: async () => {
    const { md5Base64url, md5 } = await import("../dist/core/md5.js");
    return { token: md5Base64url, digest: md5, note: "this project, pure TypeScript" };
  },
  createHash: async () => ({
    token: (s) => createHash("md5").update(s).digest("base64url"),
    digest: (b) => createHash("md5").update(b).digest(),
    note: "node:crypto createHash (OpenSSL)",
  }),
  "crypto.hash": async () => ({
    token: (s) => cryptoHash("md5", s, "base64url"),
    digest: (b) => cryptoHash("md5", b, "buffer"),
    note: "node:crypto one-shot hash() (OpenSSL)",
  }),
  "ts-md5": async () => {
    const { Md5 } = await import("ts-md5");
    return {
      token: (s) => fromWords(Md5.hashStr(s, true)),
      digest: (b) => new Md5().appendByteArray(b).end(true),
      note: "ts-md5 hashStr (ASCII-only by design)",
    };
  },
  "hash-wasm": async () => {
    const { createMD5 } = await import("hash-wasm");
    const hasher = await createMD5();
    return {
      token: (s) => b64url(hasher.init().update(s).digest("binary")),
      digest: (b) => hasher.init().update(b).digest("binary"),
      note: "hash-wasm (WebAssembly)",
    };
  },
  "js-md5": async () => {
    const { default: md5 } = await import("js-md5");
    return {
      // md5(text) itself silently calls node:crypto on Node; .arrayBuffer() is the JS path.
      token: (s) => b64url(new Uint8Array(md5.arrayBuffer(s))),
      digest: (b) => new Uint8Array(md5.arrayBuffer(b)),
      note: "js-md5 .arrayBuffer() (pure-JS path)",
    };
  },
  "spark-md5": async () => {
    const { default: SparkMD5 } = await import("spark-md5");
    return {
      token: (s) => fromBinaryString(SparkMD5.hash(s, true)),
      digest: (b) =>
        SparkMD5.ArrayBuffer.hash(b.buffer.slice(b.byteOffset, b.byteOffset + b.length), true),
      note: "spark-md5",
    };
  },
  "blueimp-md5": async () => {
    const { default: md5 } = await import("blueimp-md5");
    return {
      token: (s) => fromBinaryString(md5(s, null, true)),
      digest: undefined,
      note: "blueimp-md5 (strings only)",
    };
  },
  "@noble/hashes": async () => {
    const { md5 } = await import("@noble/hashes/legacy.js");
    return { token: (s) => b64url(md5(utf8.encode(s))), digest: md5, note: "@noble/hashes md5" };
  },
};
