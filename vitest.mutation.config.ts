import { defineConfig } from "vitest/config";

// `npm run test:mutation` (StrykerJS): the suites that specify the pure core and the shared
// HTTP policy, run on Node for each mutant; the runtime suites start servers and are too slow
// to run thousands of times.
export default defineConfig({
  test: {
    include: ["test/core/**/*.test.ts", "test/http/**/*.test.ts"],
    exclude: ["test/**/*.workerd.test.ts"],
    environment: "node",
    // After Stryker's own setup file, which the runner puts first (see the file for why).
    setupFiles: ["test/helpers/stryker-setup.ts"],
    // Lets the few exhaustive tests sample instead (test/core/link.test.ts).
    env: { TOKENGATE_MUTATION: "1" },
    testTimeout: 60_000,
  },
});
