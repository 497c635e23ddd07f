/**
 * Red team: an origin's answer names its own address where the gate's relocation does not
 * look: a Refresh written `URL = …` (spaces around `=`, which browsers follow) and a Link's
 * quoted `anchor` parameter. Every runtime (the nginx module path: an escaped file name keeps
 * the request off the native path, which rewrites neither header at all).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";

describe.each(Object.keys(RUNTIMES))("origin address in answer headers through %s", (which) => {
  let server: Server;
  let port = 0;
  let gate: Gate;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const here = `http://127.0.0.1:${port}/base/videos/x.ts`;
      res.writeHead(200, {
        refresh: `0; URL = ${here}`,
        link: `<a.ts>; rel=preload; anchor="${here}"`,
        "content-length": "2",
      });
      res.end("ok");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
    gate = await RUNTIMES[which]!({ ORIGIN_URL: `http://127.0.0.1:${port}/base`, SECRET });
  });
  afterAll(async () => {
    await gate?.close();
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
  });

  it("never shows the origin's address in Refresh (`URL = …`)", async () => {
    const answer = await get(gate.url + signedPath("%61.ts"));
    expect(answer.status).toBe(200);
    expect(String(answer.headers.refresh)).not.toContain(`127.0.0.1:${port}`);
  });

  it("never shows the origin's address in Link (quoted anchor)", async () => {
    const answer = await get(gate.url + signedPath("%61.ts"));
    expect(answer.status).toBe(200);
    expect(String(answer.headers.link)).not.toContain(`127.0.0.1:${port}`);
  });
});
