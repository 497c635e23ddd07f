/**
 * Red team: on nginx's native path an empty `Upgrade:` header is proxied (the module refuses any
 * Upgrade), and an origin that answers 101 then gets a raw tunnel: every later byte the client
 * writes reaches the origin unchecked, so one valid link opens every origin path. docs/nginx.md
 * names the difference; this shows what it costs with an origin (or anything on its address)
 * that answers 101 to a GET. The Node server and the module refuse the request (403).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET, signedPath } from "../helpers/links.js";
import { nginxAvailable, startNginx, type StartedNginx } from "../helpers/nginx.js";
import { scriptedOrigin, type ScriptedOrigin } from "../helpers/scripted-origin.js";

function exchange(port: number, first: string, then: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(first));
    let out = "";
    let sent = false;
    socket.on("data", (data) => {
      out += data.toString("latin1");
      if (!sent && out.includes("\r\n\r\n")) {
        sent = true;
        socket.write(then);
      }
    });
    socket.on("close", () => resolve(out));
    socket.on("error", () => resolve(out));
    setTimeout(() => socket.destroy(), 1500);
  });
}

describe.skipIf(!nginxAvailable())("nginx native path, empty Upgrade, origin answers 101", () => {
  let origin: ScriptedOrigin;
  let nginx: StartedNginx;
  let tunnelled = "";
  beforeAll(async () => {
    origin = await scriptedOrigin(() => ({
      pieces: ["HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n"],
      silent: false,
    }));
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  it("does not let the client talk to the origin past the token check", async () => {
    const answer = await exchange(
      nginx.port,
      `GET ${signedPath("a.ts")} HTTP/1.1\r\nHost: x\r\nUpgrade:\r\n\r\n`,
      "GET /private/anything-unsigned.mp4 HTTP/1.1\r\nHost: origin\r\n\r\n",
    );
    tunnelled = origin.requests.join("\n");
    // What should happen: refused as with any Upgrade (403), as the module and Node do.
    expect(answer.split("\r\n")[0]).not.toContain("101");
    expect(tunnelled).not.toContain("/private/anything-unsigned.mp4");
  });
});
