/** The package as users import it: the exports map, resolved by Node against the built dist/. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The names a specifier exports, imported by Node itself (self-reference by package name). */
function exportsOf(specifier: string): { names?: string[]; error?: string } {
  const run = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())), (e) => console.log(JSON.stringify({ error: e.code })))`,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  const out = JSON.parse(run.stdout.trim());
  return Array.isArray(out) ? { names: out } : out;
}

describe("the package's exports", () => {
  it.each([
    ["tokengate", ["secureLink"]],
    ["tokengate/sign", ["parseTtl", "resolveExpires", "signLink", "signToken", "verifyToken"]],
    ["tokengate/node", ["startGateServer", "readSettings", "SettingError"]],
    ["tokengate/worker", ["default"]],
  ])("%s exports what the README shows", (specifier, names) => {
    expect(exportsOf(specifier).names).toEqual(expect.arrayContaining(names));
  });

  it.each(["tokengate/md5", "tokengate/dist/core/md5.js", "tokengate/core/decide"])(
    "does not export internals such as %s",
    (specifier) => {
      expect(exportsOf(specifier).error).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
    },
  );
});
