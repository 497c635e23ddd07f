// node bench/sign.mjs — the public signToken beside node:crypto building the same body and
// hashing it (createHash, crypto.hash), all in one process: 10,000-call slices interleaved,
// 300 rounds, medians of the per-round ratios. Steadier than fresh processes on a loaded
// shared machine, since every signer sees the same moment's load. BASELINE=<checkout> adds
// that built checkout's signToken. Needs `npm run build` first.
import { createHash, hash as cryptoHash } from "node:crypto";
import { pathToFileURL } from "node:url";

const ROUNDS = Number(process.env.SIGN_ROUNDS ?? 300);
const SLICE = 10_000;

/** 1,024 inputs whose bodies are 64 bytes, as bench/md5-worker.mjs hashes; flat strings. */
const inputs = [];
for (let i = 0; i < 1024; i++) {
  const secret = `k3yF0rT0k3nGateS3cr3tV4lue${String(i).padStart(4, "0")}`;
  inputs.push(
    JSON.parse(
      JSON.stringify({
        clientId: "2675",
        videoId: "3dk4NsRt6vWsffEr",
        secret,
        expires: 1861919000 + i,
      }),
    ),
  );
}
const body = (i) => `${i.clientId}_${i.videoId}_${i.secret}_${i.expires}_`;
const signers = {
  tokengate: (await import(new URL("../dist/core/token.js", import.meta.url).href)).signToken,
  createHash: (i) => createHash("md5").update(body(i)).digest("base64url"),
  "crypto.hash": (i) => cryptoHash("md5", body(i), "base64url"),
};
if (process.env.BASELINE) {
  const url = pathToFileURL(`${process.env.BASELINE}/dist/core/token.js`);
  signers.baseline = (await import(url.href)).signToken;
}
const names = Object.keys(signers);
for (const name of names) {
  for (const input of inputs.slice(0, 8)) {
    if (signers[name](input) !== signers.createHash(input)) throw new Error(`${name} signs wrong`);
  }
}

let sink = 0;
function slice(sign) {
  const start = performance.now();
  for (let k = 0; k < SLICE; k++) sink ^= sign(inputs[k & 1023]).length;
  return performance.now() - start;
}
const ratios = Object.fromEntries(names.map((name) => [name, { createHash: [], hash: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  const took = {};
  // Alternate the order so no signer always runs first.
  for (const name of round & 1 ? names : [...names].reverse()) took[name] = slice(signers[name]);
  for (const name of names) {
    ratios[name].createHash.push(took[name] / took.createHash);
    ratios[name].hash.push(took[name] / took["crypto.hash"]);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log("| signer | vs createHash | vs crypto.hash |");
console.log("|---|---|---|");
for (const name of names) {
  const r = ratios[name];
  console.log(`| ${name} | ${median(r.createHash).toFixed(2)} | ${median(r.hash).toFixed(2)} |`);
}
if (sink === 0.5) console.log(sink);
