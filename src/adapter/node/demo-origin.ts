/**
 * Demo mode's origin: the bundled HLS sample (`demo/sample/`) served on 127.0.0.1 and a free
 * port, so `npm start` works with nothing else installed.
 * @module
 */
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

/** The sample lives under this client and video id in demo links. */
export const DEMO_CLIENT = "1";
export const DEMO_VIDEO = "demo";

const SAMPLE = fileURLToPath(new URL("../../../demo/sample/", import.meta.url));
const TYPES: Record<string, string> = {
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
};

/**
 * Starts the sample origin: `/<kind>/1_demo/<file>` answers `demo/sample/<file>`.
 *
 * @example
 * ```ts
 * const origin = await startDemoOrigin();
 * // origin.url === "http://127.0.0.1:41234"
 * ```
 */
export async function startDemoOrigin(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const match = /^\/[^/]+\/1_demo\/((?:[A-Za-z0-9_-]+\/)?[A-Za-z0-9_-]+\.(m3u8|ts))$/.exec(path);
    let size = -1;
    try {
      if (match) size = statSync(SAMPLE + match[1]).size;
    } catch {
      size = -1;
    }
    if (!match || size < 0 || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" });
      return void res.end("not in the demo sample\n");
    }
    res.writeHead(200, {
      "content-type": TYPES[match[2]!]!,
      "content-length": String(size),
      "cache-control": "public, max-age=60",
      "access-control-allow-origin": "*",
    });
    if (req.method === "HEAD") return void res.end();
    createReadStream(SAMPLE + match[1]).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
