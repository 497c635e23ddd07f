import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROWS, TRAVERSALS } from "../helpers/behaviour.js";
import { rawRequest } from "../helpers/http-raw.js";
import { SECRET } from "../helpers/links.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { serve, type Served } from "../helpers/serve.js";

interface Gate {
  port: number;
  close(): Promise<unknown>;
}

const gates: Record<string, (origin: Origin) => Promise<Gate>> = {
  "the Node server": async (origin) => {
    const served: Served = await serve({ ORIGIN_URL: origin.url, SECRET, LOG_FORMAT: "json" });
    return { port: served.port, close: served.stop };
  },
  "the Worker in Miniflare": async (origin) => {
    const mf = new Miniflare({
      scriptPath: "dist/worker.bundle.js",
      modules: true,
      compatibilityDate: "2026-04-26",
      bindings: { SECRET, ORIGIN_URL: origin.url },
      host: "127.0.0.1",
      port: 0,
    });
    const url = await mf.ready;
    return { port: Number(url.port), close: () => mf.dispose() };
  },
};
if (nginxAvailable()) {
  gates["nginx with the njs module"] = async (origin) => {
    const nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET });
    return { port: nginx.port, close: nginx.close };
  };
}

/** Rows nginx answers itself before the module sees them: it refuses an escaped NUL with 400. */
const NGINX_FIRST: Record<string, number> = { "an encoded NUL": 400 };

describe.each(Object.keys(gates))("the behaviour table through %s", (which) => {
  let origin: Origin;
  let gate: Gate;
  beforeAll(async () => {
    origin = await startOrigin();
    gate = await gates[which]!(origin);
  });
  afterAll(async () => {
    await gate?.close();
    await origin?.close();
  });

  it.each(ROWS)("answers $status to $name", async (row) => {
    const before = origin.requests.length;
    const res = await rawRequest(gate.port, row.method ?? "GET", row.path());
    if (which === "nginx with the njs module" && NGINX_FIRST[row.name] !== undefined) {
      // nginx answers these itself, before the module runs (README, "Self-host in nginx").
      expect(res.status).toBe(NGINX_FIRST[row.name]);
      expect(origin.requests.length).toBe(before);
      return;
    }
    expect(res.status).toBe(row.status);
    if (row.originPath !== undefined) {
      expect(origin.requests.at(-1)?.url).toBe(row.originPath);
      expect(res.body).toBe(`content of ${row.originPath.split("?")[0]}`);
    } else {
      // Refusals never reach the origin, carry no-store and a short plain body.
      expect(origin.requests.length).toBe(before);
      expect(res.head).toMatch(/cache-control: no-store/i);
      expect(res.body.length).toBeLessThan(100);
      expect(res.body).not.toContain(SECRET);
    }
    if (row.allow) expect(res.head).toMatch(new RegExp(`allow: ${row.allow}`, "i"));
  });

  it("never lets a traversal reach outside the signed video's folder", async () => {
    for (const attempt of TRAVERSALS) {
      const path = attempt();
      const before = origin.requests.length;
      const res = await rawRequest(gate.port, "GET", path);
      const asked = origin.requests.slice(before).map((r) => r.url);
      for (const url of asked) {
        expect(url.startsWith("/videos/2675_3dk4NsRt6vWsffEr/"), `${path} reached ${url}`).toBe(
          true,
        );
        expect(url, path).not.toMatch(/\.\.|%2e|%5c|%2f|\\/i);
      }
      if (which !== "the Worker in Miniflare") {
        // Node and nginx hand the gate the raw target: every one of these is refused outright.
        expect(res.status, path).toBe(403);
        expect(asked).toEqual([]);
      }
    }
  });
});
