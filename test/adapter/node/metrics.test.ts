/**
 * GET /metrics on the Node server's own metrics listener (METRICS_LISTEN), never on the public
 * port: prom-client's text, one process or a cluster added up by the primary.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../../src/core/token.js";
import { get } from "../../helpers/http.js";
import { startOrigin, type Origin } from "../../helpers/origin.js";
import { run, serve } from "../../helpers/serve.js";
import { createServer } from "node:net";

const SECRET = "metrics-secret";
const now = Math.floor(Date.now() / 1000);
function link(file: string, expires = now + 3600, secret = SECRET): string {
  const token = signToken({ clientId: "2675", videoId: "m", secret, expires });
  return `/videos/2675_m/${token}/${expires}/${file}`;
}
/** The value of one sample line, or undefined. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("GET /metrics on METRICS_LISTEN", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });

  it("counts answers by status and reason, origin time and failures, the cache and connections", async () => {
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET, CACHE: "on" });
    const down = await serve({ ORIGIN_URL: "http://127.0.0.1:9", SECRET });
    try {
      for (let i = 0; i < 3; i++) expect((await get(gate.url + link("a.ts"))).status).toBe(200);
      expect((await get(gate.url + link("a.ts", now + 3600, "wrong"))).status).toBe(403);
      expect((await get(gate.url + link("a.ts", now - 5))).status).toBe(410);
      expect((await get(gate.url + "/elsewhere")).status).toBe(404);
      // The origin's own 404 (through the cache, which does not keep it) is not the gate's.
      expect((await get(gate.url + link("missing.ts"))).status).toBe(404);
      // The public port serves no metrics: /metrics there is a path like any unguarded one.
      expect((await get(gate.url + "/metrics")).status).toBe(404);
      expect(gate.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(gate.metricsUrl).not.toBe(gate.url + "/metrics");
      const answer = await get(gate.metricsUrl!);
      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = answer.body.toString();
      expect(sample(text, 'tokengate_requests_total{status="200",reason=""}')).toBe(3);
      expect(sample(text, 'tokengate_requests_total{status="403",reason="bad-token"}')).toBe(1);
      expect(sample(text, 'tokengate_requests_total{status="410",reason="expired"}')).toBe(1);
      expect(sample(text, 'tokengate_requests_total{status="404",reason="not-found"}')).toBe(2);
      expect(sample(text, 'tokengate_requests_total{status="404",reason=""}')).toBe(1);
      expect(sample(text, "tokengate_origin_response_seconds_count")).toBeGreaterThanOrEqual(1);
      expect(sample(text, "tokengate_client_connections")).toBeGreaterThanOrEqual(1);
      expect(sample(text, "tokengate_origin_connections")).toBeGreaterThanOrEqual(0);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      const hits = sample(text, "tokengate_cache_hits_total")!;
      const misses = sample(text, "tokengate_cache_misses_total")!;
      // The three a.ts and the missing.ts.
      expect([misses >= 2, hits + misses]).toEqual([true, 4]);
      expect(text).not.toContain(SECRET);

      expect((await get(down.url + link("b.ts"))).status).toBe(502);
      const failed = (await get(down.metricsUrl!)).body.toString();
      expect(sample(failed, 'tokengate_origin_failures_total{reason="origin-error"}')).toBe(1);
      expect(sample(failed, 'tokengate_requests_total{status="502",reason="origin-error"}')).toBe(
        1,
      );
    } finally {
      await Promise.all([gate.stop(), down.stop()]);
    }
  });

  it("the metrics listener answers /metrics only, and nothing the gate guards", async () => {
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET });
    try {
      const base = gate.metricsUrl!.slice(0, -"/metrics".length);
      expect((await get(base + link("never.ts"))).status).toBe(404);
      expect((await get(base + "/healthz")).status).toBe(404);
      expect((await get(base + "/metrics", { method: "POST" })).status).toBe(405);
      const head = await get(base + "/metrics", { method: "HEAD" });
      expect([head.status, head.body.length]).toEqual([200, 0]);
      expect(origin.requests.filter((r) => r.url.includes("never.ts"))).toEqual([]);
    } finally {
      await gate.stop();
    }
  });

  it.each([{ METRICS: "off" }, { METRICS_LISTEN: "off" }])(
    "%j: no metrics listener, and no /metrics on the public port",
    async (env) => {
      const gate = await serve({ ORIGIN_URL: origin.url, SECRET, ...env });
      try {
        expect(gate.metricsUrl).toBeUndefined();
        expect(gate.lines.join("\n")).not.toContain("metrics on");
        expect((await get(gate.url + "/metrics")).status).toBe(404);
      } finally {
        await gate.stop();
      }
    },
  );

  it.each(["1", "2"])(
    "WORKERS=%s: a METRICS_LISTEN port already taken stops start-up, naming it",
    async (workers) => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const port = (taken.address() as { port: number }).port;
      try {
        const child = run(["serve", "--port", "0"], {
          ORIGIN_URL: origin.url,
          SECRET,
          WORKERS: workers,
          METRICS_LISTEN: `127.0.0.1:${port}`,
        });
        // A gate that starts after all is stopped: the row then fails on its exit code.
        const started = setTimeout(() => void child.stop(), 10_000);
        expect(await child.exited).toBe(2);
        clearTimeout(started);
        expect(child.stderr.join("")).toBe(
          `tokengate: METRICS_LISTEN: ${port} is already in use on 127.0.0.1\n`,
        );
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    },
  );

  it("with WORKERS=2, the figures of every worker added up", async () => {
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET, WORKERS: "2" });
    try {
      const pids = new Set<number>();
      // The gate is announced once its first worker listens: send until both have answered.
      let sent = 0;
      const served = () => gate.lines.filter((line) => line.includes('"status":200'));
      while (pids.size < 2 && sent < 400) {
        for (let k = 0; k < 20; k++, sent++) {
          await get(gate.url + link(`w-${sent}.ts`), { headers: { connection: "close" } });
        }
        // Each worker writes its log lines in batches: wait for all of them.
        for (let i = 0; i < 100 && served().length < sent; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        for (const line of served()) pids.add(JSON.parse(line).pid);
      }
      expect(pids.size, gate.lines.slice(0, 6).join("\n")).toBe(2);
      expect((await get(gate.url + "/metrics")).status).toBe(404);
      // The primary owns the metrics listener and adds up its workers' figures.
      const text = (await get(gate.metricsUrl!)).body.toString();
      expect(sample(text, 'tokengate_requests_total{status="200",reason=""}')).toBe(sent);
    } finally {
      expect(await gate.stop()).toBe(0);
    }
  });
});
