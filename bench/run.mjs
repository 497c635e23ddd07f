// npm run bench — the MD5/token bench, the several-secrets bench and the gate bench; prints both tables and writes
// bench/results.json with the machine they ran on. Figures are ratios to peers measured in
// the same run: this machine is shared and noisy, absolute numbers drift between runs.
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { benchGate } from "./gate.mjs";
import { benchMd5 } from "./md5.mjs";
import { benchSecrets } from "./secrets.mjs";

const which = process.argv[2] ?? "all";
const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
console.log(`machine: ${machine}\n`);
const results = { date: new Date().toISOString(), machine };
if (which === "all" || which === "md5")
  results.md5 = await benchMd5({ rounds: Number(process.env.MD5_ROUNDS ?? 5) });
if (which === "all" || which === "secrets") results.secrets = benchSecrets();
if (which === "all" || which === "gate") results.gate = await benchGate();
const out = fileURLToPath(new URL("./results.json", import.meta.url));
writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
console.log(`\nwrote ${out}`);
