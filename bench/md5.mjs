// npm run bench:md5 — MD5/token benchmarks: each measurement in a fresh process, rounds
// interleaved in a shuffled order, every figure a ratio to node:crypto createHash measured in
// the same round, medians over rounds. Prints a table; returns the results for bench/run.mjs.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { IMPLS } from "./impls.mjs";

const WORKER = fileURLToPath(new URL("./md5-worker.mjs", import.meta.url));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const shuffle = (xs) =>
  xs
    .map((x) => [Math.random(), x])
    .sort((a, b) => a[0] - b[0])
    .map((p) => p[1]);

function measure(impl, workload, node) {
  const out = execFileSync(node, [WORKER, impl, workload], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1));
}

export async function benchMd5({ rounds = 5, node = process.execPath, log = console.log } = {}) {
  const names = Object.keys(IMPLS);
  const token = Object.fromEntries(names.map((n) => [n, { ns: [], ratio: [] }]));
  const bulk = Object.fromEntries(names.map((n) => [n, { ns: [], ratio: [], skipped: false }]));
  const verify = { ratioToToken: [], ns: [], tokenNs: [] };
  // The public signToken, validation and all, beside node:crypto hashing the same body;
  // BASELINE=<checkout> adds another built checkout's signToken to the same rounds.
  const signers = ["tokengate", "createHash", "crypto.hash"];
  if (process.env.BASELINE) signers.push("baseline");
  const sign = Object.fromEntries(
    signers.map((n) => [n, { ns: [], vsCreateHash: [], vsHash: [] }]),
  );
  for (let round = 1; round <= rounds; round++) {
    log(`md5 round ${round}/${rounds}`);
    const tokenRound = {};
    for (const name of shuffle(names)) tokenRound[name] = measure(name, "token", node).nsPerOp;
    for (const name of names) {
      token[name].ns.push(tokenRound[name]);
      token[name].ratio.push(tokenRound[name] / tokenRound.createHash);
    }
    const bulkRound = {};
    for (const name of shuffle(names)) {
      const r = measure(name, "bulk", node);
      if (r.skipped) bulk[name].skipped = true;
      else bulkRound[name] = r.nsPerOp;
    }
    for (const name of names) {
      if (bulk[name].skipped) continue;
      bulk[name].ns.push(bulkRound[name]);
      // Throughput ratio: createHash time / this time (> 1 is faster than createHash).
      bulk[name].ratio.push(bulkRound.createHash / bulkRound[name]);
    }
    const signRound = {};
    for (const name of shuffle(signers)) signRound[name] = measure(name, "sign", node).nsPerOp;
    for (const name of signers) {
      sign[name].ns.push(signRound[name]);
      sign[name].vsCreateHash.push(signRound[name] / signRound.createHash);
      sign[name].vsHash.push(signRound[name] / signRound["crypto.hash"]);
    }
    const v = measure("tokengate", "verify", node);
    verify.ns.push(v.nsPerOp);
    verify.tokenNs.push(v.nsPerToken);
    verify.ratioToToken.push(v.nsPerOp / v.nsPerToken);
  }
  const results = {
    node: (await import("node:process")).version,
    rounds,
    token: Object.fromEntries(
      names.map((n) => [
        n,
        { nsPerToken: median(token[n].ns), vsCreateHash: median(token[n].ratio) },
      ]),
    ),
    bulk1MiB: Object.fromEntries(
      names
        .filter((n) => !bulk[n].skipped)
        .map((n) => [
          n,
          {
            mbPerSecond: (1024 * 1024 * 1e3) / median(bulk[n].ns),
            throughputVsCreateHash: median(bulk[n].ratio),
          },
        ]),
    ),
    signToken: Object.fromEntries(
      signers.map((n) => [
        n,
        {
          nsPerToken: median(sign[n].ns),
          vsCreateHash: median(sign[n].vsCreateHash),
          vsCryptoHash: median(sign[n].vsHash),
        },
      ]),
    ),
    verify: {
      nsPerVerify: median(verify.ns),
      nsPerToken: median(verify.tokenNs),
      verifyVsToken: median(verify.ratioToToken),
    },
  };
  const t = results.token;
  results.token.tokengate.vsCryptoHash = median(
    token.tokengate.ns.map((x, i) => x / token["crypto.hash"].ns[i]),
  );
  results.token.tokengate.vsTsMd5 = median(
    token.tokengate.ns.map((x, i) => x / token["ts-md5"].ns[i]),
  );
  log("\nToken: 64-byte body string → 22-character token (median of per-round ratios)");
  log("| implementation | ns/token | vs createHash |");
  log("|---|---|---|");
  for (const n of names)
    log(`| ${n} | ${t[n].nsPerToken.toFixed(0)} | ${t[n].vsCreateHash.toFixed(2)} |`);
  log(
    `tokengate vs crypto.hash(): ${t.tokengate.vsCryptoHash.toFixed(2)}; vs ts-md5: ${t.tokengate.vsTsMd5.toFixed(2)}`,
  );
  log("\nsignToken (ids, secret, expires → token, validation included) beside node:crypto");
  log("| signer | ns/token | vs createHash | vs crypto.hash |");
  log("|---|---|---|---|");
  for (const [n, r] of Object.entries(results.signToken)) {
    log(
      `| ${n} | ${r.nsPerToken.toFixed(0)} | ${r.vsCreateHash.toFixed(2)} | ${r.vsCryptoHash.toFixed(2)} |`,
    );
  }
  log("\nBulk: MD5 of 1 MiB (throughput; higher is better)");
  log("| implementation | MB/s | vs createHash |");
  log("|---|---|---|");
  for (const [n, r] of Object.entries(results.bulk1MiB)) {
    log(`| ${n} | ${r.mbPerSecond.toFixed(0)} | ${r.throughputVsCreateHash.toFixed(2)} |`);
  }
  log(
    `\nWhole verification (decide(): path checks + token + constant-time compare + expiry): ` +
      `${results.verify.nsPerVerify.toFixed(0)} ns = ${results.verify.verifyVsToken.toFixed(2)}× the token alone (${results.verify.nsPerToken.toFixed(0)} ns)`,
  );
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.MD5_ROUNDS ?? 5);
  await benchMd5({ rounds });
}
