/**
 * Red team: REQUESTS_PER_CLIENT is keyed on the exact client address. One attacker host with a
 * handful of addresses (any IPv6 client owns a whole /64; here 127.0.0.2..9 stand in for them)
 * holds every origin connection with downloads it never reads, and a real viewer then waits
 * for an origin connection until ORIGIN_TIMEOUT_MS: 504. (Node server; ORIGIN_CONNECTIONS=8,
 * so the default share is 1 per address.)
 */
import { connect, type Socket } from "node:net";
import { expect, it } from "vitest";
import { startOrigin } from "../helpers/origin.js";
import { serve } from "../helpers/serve.js";
import { SECRET, signedPath } from "../helpers/links.js";

it("eight addresses that never read starve every other viewer", async () => {
  const origin = await startOrigin();
  const gate = await serve({ ORIGIN_URL: origin.url, SECRET, ORIGIN_CONNECTIONS: "8", ORIGIN_TIMEOUT_MS: "2000" });
  const port = Number(new URL(gate.url).port);
  const sockets: Socket[] = [];
  try {
    const link = signedPath(`big-${256 * 1024 * 1024}.ts`);
    for (let i = 2; i <= 9; i++) {
      const s = connect({ host: "127.0.0.1", port, localAddress: `127.0.0.${i}` });
      s.on("error", () => {});
      s.write(`GET ${link} HTTP/1.1\r\nHost: g\r\n\r\n`);
      s.pause(); // never reads
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    const res = await fetch(gate.url + signedPath("seg-1.ts"));
    await res.arrayBuffer();
    console.log("legit viewer:", res.status, `${Date.now() - t0} ms`, "origin bigSent", origin.bigSent, "aborted", origin.aborted.length);
    expect(res.status).toBe(200);
  } finally {
    for (const s of sockets) s.destroy();
    await gate.stop();
    await origin.close();
  }
});
