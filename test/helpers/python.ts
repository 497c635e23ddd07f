import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const SNIPPET = fileURLToPath(new URL("../fixtures/gcore_snippet.py", import.meta.url));

export interface SnippetCase {
  client_id: string;
  video_id: string;
  secret: string;
  expires: string;
}

/** Tokens for `cases` from Gcore's Python snippet, run live with python3. */
export function pythonTokens(cases: SnippetCase[]): string[] {
  const input = cases.map((c) => JSON.stringify(c)).join("\n") + "\n";
  const run = spawnSync("python3", [SNIPPET], { input, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return run.stdout.trim().split("\n");
}
