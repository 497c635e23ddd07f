/**
 * nginx's native path passed the origin's hop-by-hop answer headers (`TE`, `Trailer`,
 * `Upgrade`, `Proxy-Connection`) on to the client: its location's own `proxy_hide_header`
 * lines replace, not add to, the server's, which hide them for the module's path.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../../helpers/http.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import { nginxAvailable, startNginx } from "../../helpers/nginx.js";
import { scriptedOrigin, type ScriptedOrigin } from "../../helpers/scripted-origin.js";

describe.runIf(nginxAvailable())("the origin's hop-by-hop answer headers on nginx", () => {
  let origin: ScriptedOrigin;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  beforeAll(async () => {
    origin = await scriptedOrigin(() => ({
      pieces: [
        "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-A\r\n" +
          "Upgrade: h2c\r\nProxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
      ],
    }));
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  // A plain name goes the native path, an escaped one the module's.
  it.each(["a.ts", "%61.ts"])("are not passed on for %s", async (file) => {
    const answer = await get(nginx.url + signedPath(file));
    expect(answer.status).toBe(200);
    for (const name of ["keep-alive", "te", "trailer", "upgrade", "proxy-connection"]) {
      expect(answer.headers[name], name).toBeUndefined();
    }
  });
});
