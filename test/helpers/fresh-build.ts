/**
 * Global setup: the suites test dist/ (the CLI, the Worker bundle, the nginx module), so a run
 * rebuilds it first when any source is newer than the last build (`npm test` builds anyway;
 * this is for `npx vitest run one.test.ts` after an edit).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const STAMP = "dist/.built";

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

export default function freshBuild(): void {
  const sources = ["src", "build", "build.mjs", "package.json"].filter((path) => existsSync(path));
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  if (Math.max(...sources.map(newest)) <= built) return;
  execFileSync(process.execPath, ["build.mjs"], { stdio: ["ignore", "ignore", "inherit"] });
}
