// npm run bench:secrets — what several secrets (key rotation, SECRET="new old") cost per
// request: decide() on a refused link (a wrong token is tried against every secret) and on a
// link of the last secret (the worst valid case), with 1, 2, 4 and 8 secrets. Figures are
// ratios to one secret, measured in the same process in interleaved rounds; medians.
import { decide, gateSettings } from "../dist/core/decide.js";
import { signToken } from "../dist/core/token.js";

const COUNTS = [1, 2, 4, 8];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function nsPerDecide(settings, targets, iterations) {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    sink += decide("GET", targets[i & 1023], settings).action.length;
  }
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (sink === 0) throw new Error("unreachable");
  return ns;
}

export function benchSecrets({ rounds = 7, iterations = 100_000, log = console.log } = {}) {
  const expires = Math.floor(Date.now() / 1000) + 3600;
  const cases = COUNTS.map((count) => {
    const secrets = Array.from({ length: count }, (_, i) => `rotation-secret-${i}`);
    const settings = gateSettings({ secret: secrets });
    const links = (secret) =>
      Array.from({ length: 1024 }, (_, i) => {
        const video = `video${i}`;
        const token = signToken({ clientId: "2675", videoId: video, secret, expires });
        return `/videos/2675_${video}/${token}/${expires}/seg-${i}.ts`;
      });
    return { count, settings, refused: links("not-a-secret"), last: links(secrets.at(-1)) };
  });
  const samples = Object.fromEntries(COUNTS.map((c) => [c, { refused: [], last: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) nsPerDecide(c.settings, c.refused, iterations / 10); // warm
    for (const c of cases) {
      samples[c.count].refused.push(nsPerDecide(c.settings, c.refused, iterations));
      samples[c.count].last.push(nsPerDecide(c.settings, c.last, iterations));
    }
  }
  const one = { refused: median(samples[1].refused), last: median(samples[1].last) };
  const results = COUNTS.map((count) => ({
    secrets: count,
    refusedNs: median(samples[count].refused),
    refusedVsOne: median(samples[count].refused) / one.refused,
    lastSecretNs: median(samples[count].last),
    lastSecretVsOne: median(samples[count].last) / one.last,
  }));
  log("\nsecrets | refused link | vs 1 secret | link of the last secret | vs 1 secret");
  for (const r of results) {
    log(
      `${String(r.secrets).padStart(7)} | ${r.refusedNs.toFixed(0).padStart(9)} ns | ${r.refusedVsOne.toFixed(2).padStart(10)}× | ${r.lastSecretNs.toFixed(0).padStart(20)} ns | ${r.lastSecretVsOne.toFixed(2).padStart(10)}×`,
    );
  }
  return { node: process.version, rounds, iterations, results };
}

if (import.meta.url === `file://${process.argv[1]}`) benchSecrets();
