import { defineConfig } from "vitest/config";
import { reporters } from "./test/helpers/reporters.js";

// `npm run test:template`: a Worker project made from the packed tarball and templates/worker,
// and the hono peer range at both ends. Apart from `npm test` because it installs from the npm
// registry and takes minutes; `.ci/run` runs it.
export default defineConfig({
  test: {
    name: "template",
    include: ["test/template/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/helpers/fresh-build.ts"],
    reporters: reporters(),
    silent: "passed-only",
    allowOnly: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
