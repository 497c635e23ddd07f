import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { dropPoolTeardownLine } from "./test/helpers/quiet-pool.js";
import { reporters } from "./test/helpers/reporters.js";
import { fakeOrigin, TEST_SECRET } from "./test/helpers/fake-origin.js";

// Tests are grouped by subject (test/core, test/http, test/adapter/…, test/cli); the runner is
// chosen by name: `*.workerd.test.ts` run inside workerd, everything else on Node.
dropPoolTeardownLine();

export default defineConfig({
  test: {
    // The suites wait on servers and child processes more than they compute: two files at a
    // time even on two cores (vitest's default there is one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Failures and the summary only; a skipped test fails the run, and so does a `.only` left
    // in (test/helpers/reporters.ts).
    reporters: reporters(),
    // The suites run dist/: rebuilt first when a source is newer.
    globalSetup: ["./test/helpers/fresh-build.ts"],
    // What tests print (the Worker's request lines among it) is shown with a failing test only.
    silent: "passed-only",
    projects: [
      {
        // The Worker inside workerd, as deployed: wrangler.toml, bindings, a faked network edge.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { SECRET: TEST_SECRET, ORIGIN_URL: "http://origin.test/base" },
              outboundService: fakeOrigin,
            },
          }),
        ],
        test: {
          name: "workerd",
          include: ["test/**/*.workerd.test.ts"],
          allowOnly: false,
        },
      },
      {
        // Pure code, the Node server, the CLI, and Miniflare/wrangler dev against real
        // 127.0.0.1 servers.
        test: {
          name: "node",
          allowOnly: false,
          include: ["test/**/*.test.ts"],
          // `*.slow.test.ts` run in `npm run test:full` (vitest.full.config.ts).
          exclude: [
            "test/**/*.workerd.test.ts",
            "test/**/*.slow.test.ts",
            "test/e2e/**",
            "test/template/**",
          ],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
