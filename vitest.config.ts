import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { fakeOrigin, TEST_SECRET } from "./test/helpers/fake-origin.js";

// Tests are grouped by subject (test/core, test/http, test/adapter/…, test/cli); the runner is
// chosen by name: `*.workerd.test.ts` run inside workerd, everything else on Node.
export default defineConfig({
  test: {
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
        test: { name: "workerd", include: ["test/**/*.workerd.test.ts"] },
      },
      {
        // Pure code, the Node server, the CLI, and Miniflare/wrangler dev against real
        // 127.0.0.1 servers.
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.workerd.test.ts", "test/e2e/**"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
