// Builds dist/: every src/**/*.ts transpiled as its own ES module, folders kept (the library,
// the Node server and the CLI run from these on Node 20, which runs no TypeScript), their
// .d.ts files, dist/worker.bundle.js, the Worker bundled with Hono for tests that start
// Miniflare directly, and dist/nginx/tokengate.js, the njs module.
import { transformAsync } from "@babel/core";
import { build } from "esbuild";
import lazyTopLevel from "./build/lazy-top-level.mjs";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";

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
// The nginx module: bundled (only what it uses), then compiled by Babel down to the language
// Debian's njs 0.7.9 parses (no classes, destructuring, spread, for…of, default parameters,
// optional chaining). Babel's `iterableIsArray` assumption: every for…of and spread in the core
// is over an array, and njs has neither Symbol.iterator helpers' Array.from nor Map or Set.
const njsBundle = await build({
  entryPoints: ["src/adapter/nginx/index.ts"],
  bundle: true,
  write: false,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  external: ["crypto", "fs"],
  // The module checks tokens with njs's native MD5 (a setting of the core); the core's own,
  // whose constants njs would derive again on every request, is left out.
  plugins: [
    {
      name: "native-md5",
      setup(build) {
        build.onLoad({ filter: /[\\/]src[\\/]core[\\/]md5\.ts$/ }, () => ({
          contents:
            'const native = () => { throw new Error("the nginx module hashes with njs crypto"); };\n' +
            "export { native as md5Base64url, native as md5Base64urlJoined };",
          loader: "ts",
        }));
      },
    },
  ],
  target: "es2020",
  legalComments: "none",
  logLevel: "warning",
});
const njs = await transformAsync(njsBundle.outputFiles[0].text, {
  babelrc: false,
  configFile: false,
  sourceType: "module",
  compact: false,
  comments: false,
  // ignoreFunctionLength: default parameters without `arguments`, which njs makes slowly.
  assumptions: {
    iterableIsArray: true,
    setSpreadProperties: true,
    noDocumentAll: true,
    ignoreFunctionLength: true,
  },
  plugins: [lazyTopLevel],
  presets: [
    [
      "@babel/preset-env",
      // njs has sticky regexes: a literal is compiled once, `new RegExp` on every request.
      {
        targets: { ie: "11" },
        modules: false,
        bugfixes: true,
        exclude: ["transform-sticky-regex"],
      },
    ],
  ],
});
// njs takes only `export default <name>`, not esbuild's `export { <name> as default }`.
const exported = /^export \{ (\w+) as default \};$/m;
if (!exported.test(njs.code)) throw new Error("build: the njs module has no default export");
mkdirSync("dist/nginx", { recursive: true });
writeFileSync("dist/nginx/tokengate.js", njs.code.replace(exported, "export default $1;"));
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
  stdio: "inherit",
});
// The Worker's generated Env, referenced by dist/adapter/workers/index.d.ts.
copyFileSync(
  "src/adapter/workers/worker-configuration.d.ts",
  "dist/adapter/workers/worker-configuration.d.ts",
);
// When this build was made: the tests' global setup rebuilds when a source is newer.
writeFileSync("dist/.built", "");
