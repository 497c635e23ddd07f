/**
 * Red team: answers nginx grants on its native path (@tokengate_native) never pass through the
 * module's js_header_filter, so what that filter does for every other grant is not done there.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { nginxAvailable, startNginx, type StartedNginx } from "../helpers/nginx.js";
import { serve } from "../helpers/serve.js";

describe.skipIf(!nginxAvailable())("nginx native path: the origin's answer headers", () => {
  let server: Server;
  let port = 0;
  let nginx: StartedNginx;
  let node: { url: string; stop(): Promise<unknown> };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const here = `http://127.0.0.1:${port}/base/videos/internal/x.ts`;
      res.writeHead(200, {
        "content-type": "video/mp2t",
        "content-location": here,
        link: `<${here}>; rel=preload`,
        connection: "x-internal-secret",
        "x-internal-secret": "origin-only",
        "content-length": "2",
      });
      res.end("ok");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
    const env = { ORIGIN_URL: `http://127.0.0.1:${port}/base`, SECRET };
    nginx = await startNginx(env);
    node = await serve(env);
  });
  afterAll(async () => {
    await nginx?.close();
    await node?.stop();
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
  });

  it("Node rewrites Content-Location and Link (the baseline)", async () => {
    const answer = await get(node.url + signedPath("a.ts"));
    expect(answer.status).toBe(200);
    expect(String(answer.headers["content-location"])).not.toContain(`127.0.0.1:${port}`);
    expect(String(answer.headers.link)).not.toContain(`127.0.0.1:${port}`);
  });

  it("nginx (native path) never shows the origin's address in Content-Location or Link", async () => {
    const answer = await get(nginx.url + signedPath("a.ts"));
    expect(answer.status).toBe(200);
    // Fails: the native path has no js_header_filter, so relocateHeaders never runs.
    expect(String(answer.headers["content-location"])).not.toContain(`127.0.0.1:${port}`);
    expect(String(answer.headers.link)).not.toContain(`127.0.0.1:${port}`);
  });
});
