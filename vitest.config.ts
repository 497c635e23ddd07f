import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { fakeOrigin, TEST_SECRET } from "./test/workers/fake-origin.js";

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
        test: { name: "workers", include: ["test/workers/**/*.test.ts"] },
      },
      {
        // Pure code, the Node server, the CLI and Miniflare against real 127.0.0.1 servers.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
