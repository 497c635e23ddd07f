/**
 * The player suites' programs, checked before any test starts: a missing one fails the run
 * with what to install, never a skip.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export default function needs(): void {
  const missing: string[] = [];
  if (spawnSync("ffmpeg", ["-version"]).status !== 0)
    missing.push("ffmpeg (apt-get install ffmpeg)");
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) missing.push(`${chromium} (apt-get install chromium)`);
  if (!existsSync("/usr/sbin/nginx") && !process.env.TOKENGATE_WITHOUT_NGINX?.trim()) {
    missing.push("nginx (apt-get install nginx libnginx-mod-http-js)");
  }
  if (missing.length > 0) throw new Error(`the player tests need ${missing.join(", ")}`);
}
