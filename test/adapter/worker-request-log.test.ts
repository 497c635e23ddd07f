/** The Worker's log line per request (METRICS): what Workers Logs and `wrangler tail` count. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/core/token.js";
import { get } from "../helpers/http.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { startWorker } from "../helpers/worker.js";

const SECRET = "worker-log-secret";
const now = Math.floor(Date.now() / 1000);
function link(expires: number, secret = SECRET): string {
  const token = signToken({ clientId: "2675", videoId: "log", secret, expires });
  return `/videos/2675_log/${token}/${expires}/seg.ts`;
}

describe("the Worker's request lines", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });

  /**
   * The request lines a Worker with `bindings` prints for `paths`: read once `expected` lines
   * are there, and `signal` (another Worker's lines, when none are expected here) has come.
   */
  async function linesOf(
    bindings: Record<string, string>,
    paths: (string | [path: string, options: Parameters<typeof get>[1]])[],
    expected = paths.length,
    signal?: Promise<unknown>,
  ) {
    const output: string[] = [];
    const worker = await startWorker(
      { ORIGIN_URL: origin.url, SECRET, ...bindings },
      {
        handleRuntimeStdio(stdout, stderr) {
          for (const stream of [stdout, stderr]) {
            stream.setEncoding("utf8");
            stream.on("data", (text: string) => output.push(text));
          }
        },
      },
    );
    try {
      for (const path of paths) {
        if (typeof path === "string") await get(worker.url + path);
        else await get(worker.url + path[0], path[1]);
      }
      const lines = () => output.join("").split('"tokengate":"request"').length - 1;
      for (let i = 0; i < 250 && lines() < expected; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await signal;
    } finally {
      await worker.close();
    }
    return output
      .join("")
      .split("\n")
      .filter((line) => line.includes('"tokengate":"request"'))
      .map((line) => JSON.parse(line.slice(line.indexOf("{"))));
  }

  it("counts each answer: status, refusal reason, cache verdict, time; never the path or token", async () => {
    const paths = [link(now + 600), link(now + 600, "wrong"), link(now - 5), "/elsewhere"];
    const lines = await linesOf({ CACHE: "on" }, paths);
    const fields = lines.map(({ status, reason, cache, upstream_status }) => ({
      status,
      reason,
      cache,
      upstream_status,
    }));
    expect(fields).toEqual([
      { status: 200, cache: "MISS", upstream_status: "200" },
      { status: 403, reason: "bad-token" },
      { status: 410, reason: "expired" },
      // The gate's own 404 says so; an origin's would carry upstream_status instead.
      { status: 404, reason: "not-found" },
    ]);
    for (const line of lines) {
      expect(typeof line.ms).toBe("number");
      expect(JSON.stringify(line)).not.toMatch(/videos|2675/);
    }
  });

  // Review: with CORS_ORIGINS the preflight's 204 was answered before the request line's
  // middleware ran, so no line counted it.
  it("counts a CORS preflight too", async () => {
    const preflight = {
      method: "OPTIONS",
      headers: { origin: "https://player.example", "access-control-request-method": "GET" },
    };
    const lines = await linesOf({ CORS_ORIGINS: "*" }, [
      [link(now + 600), preflight],
      link(now + 600, "wrong"),
    ]);
    expect(lines.map(({ status }) => status)).toEqual([204, 403]);
  });

  it("METRICS=off: no request lines", async () => {
    // The same request through a Worker that does print its line: once that line is there,
    // this one's would be too.
    const printed = linesOf({}, [link(now + 600)]);
    expect(await linesOf({ METRICS: "off" }, [link(now + 600)], 0, printed)).toEqual([]);
    expect(await printed).toHaveLength(1);
  });
});
