// Builds dist/: every src/**/*.ts transpiled as its own ES module, folders kept (the library,
// the Node server and the CLI run from these on Node 20, which runs no TypeScript), their
// .d.ts files, and dist/worker.bundle.js, the Worker bundled with Hono for tests that start
// Miniflare directly.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, readdirSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
const entryPoints = readdirSync("src", { recursive: true })
  .map(String)
  .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
  .map((name) => `src/${name}`);
await build({
  entryPoints,
  outdir: "dist",
  outbase: "src",
  format: "esm",
  platform: "neutral",
  target: "es2022",
  logLevel: "warning",
});
await build({
  entryPoints: ["src/adapter/workers/index.ts"],
  outfile: "dist/worker.bundle.js",
  bundle: true,
  format: "esm",
  platform: "neutral",
  // "neutral" reads no package.json entry fields; CommonJS dependencies (ipaddr.js) have "main".
  mainFields: ["module", "main"],
  target: "es2022",
  logLevel: "warning",
});
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
  stdio: "inherit",
});
// The Worker's generated Env, referenced by dist/adapter/workers/index.d.ts.
copyFileSync(
  "src/adapter/workers/worker-configuration.d.ts",
  "dist/adapter/workers/worker-configuration.d.ts",
);
