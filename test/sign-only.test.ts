/**
 * `tokengate/sign` without the server stack: bundled for a browser, it must pull in only its own
 * files and ipaddr.js (no Hono, undici, prom-client, @hono/node-server, no Node built-ins), as
 * docs/signing.md says.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

describe("tokengate/sign", () => {
  it("bundles for a browser from its own files and ipaddr.js alone", async () => {
    const result = await build({
      stdin: {
        contents: 'export * from "tokengate/sign";',
        resolveDir: ROOT,
        loader: "js",
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs).filter((path) => path !== "<stdin>");
    const outside = inputs.filter(
      (path) =>
        !/^dist\/(sign\.js|core\/[\w-]+\.js)$/.test(path) &&
        !path.startsWith("node_modules/ipaddr.js/"),
    );
    expect(outside).toEqual([]);
    expect(inputs).toContain("dist/sign.js");
  });
});
