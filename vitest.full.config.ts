import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { reporters } from "./test/helpers/reporters.js";

// `npm run test:full`: the suites too slow for `npm test`, named `*.slow.test.ts` (every bad
// value of every setting on every runtime, the cache and manifest attacks at full size), and
// the generated cross-runtime attacks at 50,000 (`npm test` sends 10,000). CI runs it on each
// Node beside `npm test`.
export default defineConfig({
  test: {
    name: "full",
    include: ["test/**/*.slow.test.ts", "test/adapter/generated-attacks.test.ts"],
    environment: "node",
    env: { ATTACKS: process.env.ATTACKS ?? "50000" },
    globalSetup: ["./test/helpers/fresh-build.ts"],
    // Two files at a time even on two cores, as in vitest.config.ts.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: reporters(),
    silent: "passed-only",
    allowOnly: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
