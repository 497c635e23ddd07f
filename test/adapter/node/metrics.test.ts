/** GET /metrics on the Node server: prom-client's text, one process or a cluster added up. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../../src/core/token.js";
import { get } from "../../helpers/http.js";
import { startOrigin, type Origin } from "../../helpers/origin.js";
import { serve } from "../../helpers/serve.js";

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

describe("GET /metrics", () => {
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
      const answer = await get(gate.url + "/metrics");
      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = answer.body.toString();
      expect(sample(text, 'tokengate_requests_total{status="200",reason=""}')).toBe(3);
      expect(sample(text, 'tokengate_requests_total{status="403",reason="bad-token"}')).toBe(1);
      expect(sample(text, 'tokengate_requests_total{status="410",reason="expired"}')).toBe(1);
      expect(sample(text, 'tokengate_requests_total{status="404",reason="not-found"}')).toBe(1);
      expect(sample(text, "tokengate_origin_response_seconds_count")).toBeGreaterThanOrEqual(1);
      expect(sample(text, "tokengate_client_connections")).toBeGreaterThanOrEqual(1);
      expect(sample(text, "tokengate_origin_connections")).toBeGreaterThanOrEqual(0);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      const hits = sample(text, "tokengate_cache_hits_total")!;
      const misses = sample(text, "tokengate_cache_misses_total")!;
      expect([misses >= 1, hits + misses]).toEqual([true, 3]);
      expect(text).not.toContain(SECRET);

      expect((await get(down.url + link("b.ts"))).status).toBe(502);
      const failed = (await get(down.url + "/metrics")).body.toString();
      expect(sample(failed, 'tokengate_origin_failures_total{reason="origin-error"}')).toBe(1);
      expect(sample(failed, 'tokengate_requests_total{status="502",reason="origin-error"}')).toBe(
        1,
      );
    } finally {
      await Promise.all([gate.stop(), down.stop()]);
    }
  });

  it("METRICS=off: no /metrics", async () => {
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET, METRICS: "off" });
    try {
      expect((await get(gate.url + "/metrics")).status).toBe(404);
    } finally {
      await gate.stop();
    }
  });

  it("with WORKERS=2, the figures of every worker added up", async () => {
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET, WORKERS: "2" });
    try {
      const pids = new Set<number>();
      for (let i = 0; i < 40; i++) {
        await get(gate.url + link(`w-${i}.ts`), { headers: { connection: "close" } });
      }
      // Each worker writes its log lines in batches: wait for all 40.
      const served = () => gate.lines.filter((line) => line.includes('"status":200')).length;
      for (let i = 0; i < 100 && served() < 40; i++) await new Promise((r) => setTimeout(r, 50));
      for (const line of gate.lines) {
        if (line.includes('"status":200')) pids.add(JSON.parse(line).pid);
      }
      expect(pids.size, gate.lines.slice(0, 6).join("\n")).toBe(2);
      const text = (await get(gate.url + "/metrics")).body.toString();
      expect(sample(text, 'tokengate_requests_total{status="200",reason=""}')).toBe(40);
    } finally {
      expect(await gate.stop()).toBe(0);
    }
  });
});
