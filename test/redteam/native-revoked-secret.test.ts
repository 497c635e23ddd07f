/**
 * Red team: a secret removed from SECRET's file (revoked) stays good on nginx's native path
 * after `nginx -s reload` unless `nginx-config` is run again, while the module (same nginx, same
 * moment) refuses links signed with it. Same secret, same link shape, two answers.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { NGINX, nginxAvailable, startNginx, type StartedNginx } from "../helpers/nginx.js";
import { startOrigin, type Origin } from "../helpers/origin.js";

describe.skipIf(!nginxAvailable())("nginx: a revoked secret after a reload", () => {
  let origin: Origin;
  let nginx: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  it("is refused by both paths once the file no longer holds it", async () => {
    const plain = signedPath("a.ts"); // native-eligible: plain path
    // The same link with an escaped character in the file name: the module decides it.
    const escaped = plain.replace(/a\.ts$/, "%61.ts");
    expect((await get(nginx.url + plain)).status).toBe(200);
    expect((await get(nginx.url + escaped)).status).toBe(200);

    // Revoke: the secret file now holds only a new secret; nginx reloaded (HUP).
    writeFileSync(join(nginx.dir, "secret"), "a-brand-new-secret");
    execFileSync(NGINX, ["-s", "reload", "-c", join(nginx.dir, "nginx.conf")]);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const viaModule = await get(nginx.url + escaped);
    const viaNative = await get(nginx.url + plain);
    expect(viaModule.status).toBe(403);
    // Fails: the native path still checks against the secret copied into
    // <prefix>/tokengate-secret.conf when the config was printed.
    expect(viaNative.status).toBe(403);
  });
});
