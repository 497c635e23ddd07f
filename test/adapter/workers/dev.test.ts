import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../../helpers/http.js";
import { startOrigin, type Origin } from "../../helpers/origin.js";
import { CLI } from "../../helpers/serve.js";

const SECRET = "dev-secret";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("npm run dev (wrangler dev) with a link from tokengate sign", () => {
  let origin: Origin;
  let dev: ChildProcess;
  let url: string;

  beforeAll(async () => {
    origin = await startOrigin();
    const port = await freePort();
    dev = spawn(
      process.execPath,
      [
        "node_modules/wrangler/bin/wrangler.js",
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--var",
        `SECRET:${SECRET}`,
        "--var",
        `ORIGIN_URL:${origin.url}`,
        "--log-level",
        "warn",
      ],
      {
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: "false",
          CLOUDFLARE_CF_FETCH_ENABLED: "false",
          CI: "true",
        },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 300; i++) {
      try {
        await get(url + "/");
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error("wrangler dev did not start in 30 s");
  }, 60_000);

  afterAll(async () => {
    if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
    await origin?.close();
  });

  it("serves the origin's bytes for a signed link and refuses a tampered one", async () => {
    const sign = spawnSync(
      process.execPath,
      [CLI, "sign", "--client", "2675", "--video", "abc", "--file", "720/seg-1.ts", "--base", url],
      { env: { PATH: process.env.PATH, SECRET }, encoding: "utf8" },
    );
    const link = sign.stdout.trim();
    const res = await get(link);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("content of /videos/2675_abc/720/seg-1.ts");
    expect((await get(link.replace("/2675_abc/", "/2675_abd/"))).status).toBe(403);
    expect(await get(url + "/")).toMatchObject({ status: 404 });
  });
});
