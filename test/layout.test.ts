/**
 * The layout is the architecture: the core and the HTTP layer name no runtime, and no adapter
 * reaches into another's folder. Read from the import graph of src/, so a new import that
 * breaks it fails here rather than in review.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every module a file imports or re-exports, by its path under src/ (relative ones) or name. */
function importsOf(file: string, text: string): string[] {
  const found: string[] = [];
  // Statements only (a line starting with import/export), so doc examples in comments are not read.
  const statement = /^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^import\s+"([^"]+)"/gm;
  for (const match of text.matchAll(statement)) {
    const spec = (match[1] ?? match[2])!;
    found.push(
      spec.startsWith(".")
        ? relative(SRC, resolve(dirname(file), spec))
            .replace(/\\/g, "/")
            .replace(/\.js$/, ".ts")
        : spec,
    );
  }
  return found;
}

/** The layer a path under src/ is in: core, http, cli, adapter/<name>, or the package root. */
function layer(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "adapter") return `adapter/${parts[1]}`;
  return parts.length === 1 ? "root" : parts[0]!;
}

/** Why `from` may not import `to` (a path under src/ or a package), or undefined. */
function forbidden(from: string, to: string): string | undefined {
  const local = to.endsWith(".ts");
  const target = layer(to);
  if ((from === "core" || from === "http") && local) {
    if (target.startsWith("adapter/") || target === "cli") return `${from} imports ${target}`;
    // The core is the specification: the HTTP layer builds on it, never the other way.
    if (from === "core" && target === "http") return `core imports http`;
  }
  if (from.startsWith("adapter/") && target.startsWith("adapter/") && target !== from) {
    return `${from} imports ${target}`;
  }
  return undefined;
}

function violations(files: { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    const from = layer(relative(SRC, path).replace(/\\/g, "/"));
    for (const to of importsOf(path, text)) {
      const why = forbidden(from, to);
      if (why !== undefined) found.push(`${relative(SRC, path)}: ${why} (${to})`);
    }
  }
  return found;
}

describe("the import graph of src/", () => {
  const files = sources(SRC).map((path) => ({ path, text: readFileSync(path, "utf8") }));

  it("reads the imports it judges (the graph is not empty)", () => {
    const workers = files.find((file) => file.path.endsWith("adapter/workers/index.ts"))!;
    expect(importsOf(workers.path, workers.text)).toContain("http/app.ts");
    expect(files.length).toBeGreaterThan(30);
  });

  it("has no adapter importing another, no core or http file importing an adapter, no core file importing http", () => {
    expect(violations(files)).toEqual([]);
  });

  it.each([
    ["http/app.ts", 'import { edgeCache } from "../adapter/workers/edge-cache.js";'],
    ["core/decide.ts", 'import { gateServer } from "../adapter/node/server.js";'],
    ["adapter/nginx/conf.ts", 'import type { ServerEnv } from "../node/config.js";'],
    ["adapter/workers/index.ts", 'export { startGateServer } from "../node/server.js";'],
    ["core/settings.ts", 'import { serve } from "../cli/serve.js";'],
    ["core/settings.ts", 'import { FORWARDED } from "../http/headers.js";'],
  ])("fails on a forbidden import in %s", (path, line) => {
    expect(violations([{ path: join(SRC, path), text: `${line}\n` }])).toHaveLength(1);
  });
});
