import { defineConfig } from "vitest/config";
import { reporters } from "./test/helpers/reporters.js";

// `npm run test:e2e`: real players (ffmpeg; hls.js and dash.js in Debian's Chromium) against
// the built gate on both runtimes. Apart from `npm test` because it needs those programs;
// `.ci/run` installs them.
export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.e2e.test.ts"],
    environment: "node",
    globalSetup: ["./test/helpers/fresh-build.ts", "./test/e2e/needs.ts"],
    reporters: reporters(),
    allowOnly: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
