import { defineConfig } from "vitest/config";
import { keptThreadPlugin } from "./test/helpers/kept-thread-pool.js";

// `npm run test:mutation` (StrykerJS): the suites that specify the pure core and the shared
// HTTP policy, run on Node for each mutant; the runtime suites start servers and are too slow
// to run thousands of times.
const pure = ["test/core/**/*.test.ts", "test/http/**/*.test.ts"];
// V8's precise coverage of token.ts, which needs the module fresh (not optimised by other files).
const fresh = ["test/core/constant-time.test.ts"];
export default defineConfig({
  test: {
    exclude: ["test/**/*.workerd.test.ts"],
    environment: "node",
    // After Stryker's own setup file, which the runner puts first (see the file for why).
    setupFiles: ["test/helpers/stryker-setup.ts"],
    // Lets the few exhaustive tests sample instead (test/core/link.test.ts).
    env: { TOKENGATE_MUTATION: "1" },
    testTimeout: 60_000,
    projects: [
      {
        extends: true,
        // Stryker runs each mutant's tests anew: one module graph for all files spares
        // re-importing the sources and fast-check for every file of every mutant. Mutants are
        // switched at run time (a global Stryker sets), so a shared module sees each one. One
        // worker thread kept from mutant to mutant spares starting vitest's runtime for each.
        plugins: [keptThreadPlugin(import.meta.dirname)],
        test: {
          name: "shared",
          include: pure,
          exclude: ["test/**/*.workerd.test.ts", ...fresh],
          isolate: false,
        },
      },
      { extends: true, test: { name: "fresh", include: fresh } },
    ],
  },
});
