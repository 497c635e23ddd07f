// One measurement in a fresh process: node bench/md5-worker.mjs <impl> <token|bulk|verify>
// Prints one JSON line: { impl, workload, nsPerOp } (verify: also nsPerToken, same process).
// Correctness is checked against node:crypto before anything is timed.
import { createHash, hash as cryptoHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { IMPLS } from "./impls.mjs";

const [name, workload] = process.argv.slice(2);
const impl = workload === "sign" ? undefined : await IMPLS[name]();

/** 1,024 distinct 64-byte token bodies, like the gate hashes: "{client}_{video}_{secret}_{expires}_". */
function tokenBodies() {
  const bodies = [];
  for (let i = 0; i < 1024; i++) {
    const body = `2675_3dk4NsRt6vWsffEr_k3yF0rT0k3nGateS3cr3tV4lue${String(i).padStart(4, "0")}_${1861919000 + i}_`;
    if (body.length !== 64) throw new Error(`token body is ${body.length} bytes, not 64`);
    bodies.push(body);
  }
  return bodies;
}

/** ns per call of fn(i), measured over ~1 s after a warm-up. */
function measure(fn) {
  let sink = 0;
  const run = (n) => {
    for (let i = 0; i < n; i++) sink ^= fn(i).length;
  };
  // Grow the batch until it takes ~50 ms (one bulk digest can take 20 ms), warming up as it goes.
  let n = 1;
  let t = performance.now();
  run(n);
  let took = performance.now() - t;
  const warmUntil = performance.now() + 300;
  while (took < 50 || performance.now() < warmUntil) {
    if (took < 50) n = Math.max(n + 1, Math.round((n * 50) / Math.max(took, 0.01)));
    t = performance.now();
    run(n);
    took = performance.now() - t;
  }
  // The fastest of the batches run in 1 s: the minimum filters out the scheduler noise of a
  // shared 2-core machine.
  let best = Infinity;
  const until = performance.now() + 1000;
  while (performance.now() < until) {
    t = performance.now();
    run(n);
    best = Math.min(best, ((performance.now() - t) * 1e6) / n);
  }
  if (sink === 0.5) console.log(sink); // keep the results alive
  return best;
}

/** 1,024 signToken inputs whose bodies are the 64-byte token bodies above. */
function signInputs() {
  return tokenBodies().map((body) => {
    const [clientId, videoId, secret, expires] = body.split("_");
    return { clientId, videoId, secret, expires: Number(expires) };
  });
}

/**
 * The whole public signer against hashing the same body with node:crypto: `signToken` (this
 * build's, or `BASELINE`'s for "baseline") with its validation, where the peers only build the
 * body and hash it.
 */
async function signer(which) {
  const body = (i) => `${i.clientId}_${i.videoId}_${i.secret}_${i.expires}_`;
  if (which === "createHash") return (i) => createHash("md5").update(body(i)).digest("base64url");
  if (which === "crypto.hash") return (i) => cryptoHash("md5", body(i), "base64url");
  const url =
    which === "baseline"
      ? pathToFileURL(`${process.env.BASELINE}/dist/core/token.js`)
      : new URL("../dist/core/token.js", import.meta.url);
  return (await import(url.href)).signToken;
}

const result = { impl: name, workload };
if (workload === "sign") {
  const sign = await signer(name);
  const inputs = signInputs();
  for (const input of inputs.slice(0, 8)) {
    const expected = createHash("md5")
      .update(`${input.clientId}_${input.videoId}_${input.secret}_${input.expires}_`)
      .digest("base64url");
    if (sign(input) !== expected) throw new Error(`${name} signs ${input.expires} wrong`);
  }
  result.nsPerOp = measure((i) => sign(inputs[i & 1023]));
} else if (workload === "token") {
  const bodies = tokenBodies();
  for (const text of [...bodies.slice(0, 4), "", "a", "x".repeat(200)]) {
    const expected = createHash("md5").update(text).digest("base64url");
    if (impl.token(text) !== expected)
      throw new Error(`${name} gives a wrong token for ${JSON.stringify(text)}`);
  }
  result.nsPerOp = measure((i) => impl.token(bodies[i & 1023]));
} else if (workload === "bulk") {
  if (!impl.digest) {
    console.log(JSON.stringify({ ...result, skipped: "no byte input" }));
    process.exit(0);
  }
  const data = new Uint8Array(1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >>> 11)) & 255;
  const expected = createHash("md5").update(data).digest("hex");
  const digest = impl.digest(data);
  // Libraries answer in their own types: a binary string, an ArrayBuffer, an Int32Array.
  const bytes =
    typeof digest === "string"
      ? Uint8Array.from(digest, (c) => c.charCodeAt(0))
      : digest instanceof ArrayBuffer
        ? new Uint8Array(digest)
        : new Uint8Array(digest.buffer, digest.byteOffset, 16);
  const hex = Buffer.from(bytes).toString("hex");
  if (hex !== expected) throw new Error(`${name} gives a wrong digest for 1 MiB: ${hex}`);
  result.nsPerOp = measure(() => impl.digest(data));
  result.mbPerSecond = ((1024 * 1024) / result.nsPerOp) * 1e3;
} else if (workload === "verify") {
  if (name !== "tokengate") throw new Error("verify is measured for tokengate only");
  const { decide, gateSettings } = await import("../dist/core/decide.js");
  const { signToken } = await import("../dist/core/token.js");
  const settings = gateSettings({
    secret: "k3yF0rT0k3nGateS3cr3tV4lue0000",
    now: () => 1861000000,
  });
  const targets = [];
  for (let i = 0; i < 1024; i++) {
    const expires = 1861919000 + i;
    const token = signToken({
      clientId: "2675",
      videoId: "3dk4NsRt6vWsffEr",
      secret: "k3yF0rT0k3nGateS3cr3tV4lue0000",
      expires,
    });
    targets.push(`/videos/2675_3dk4NsRt6vWsffEr/${token}/${expires}/720/seg-${i}.ts`);
  }
  for (const target of targets.slice(0, 8)) {
    if (decide("GET", target, settings).action !== "proxy")
      throw new Error(`verify refused ${target}`);
  }
  const bodies = targets.map((t) => {
    const [, , id, , expires] = t.split("/");
    return `${id}_k3yF0rT0k3nGateS3cr3tV4lue0000_${expires}_`;
  });
  // Interleave the two so both see the same machine state.
  let verify = Infinity;
  let token = Infinity;
  for (let round = 0; round < 3; round++) {
    verify = Math.min(
      verify,
      measure((i) => decide("GET", targets[i & 1023], settings).target),
    );
    token = Math.min(
      token,
      measure((i) => impl.token(bodies[i & 1023])),
    );
  }
  result.nsPerOp = verify;
  result.nsPerToken = token;
}
console.log(JSON.stringify(result));
