/**
 * Generated attacks on nginx twice, byte for byte: the config with the native path (a plain
 * stream link with a right token proxied by nginx alone) and the same settings with every
 * request decided by the module (`nginx-config --native off`). Both must answer each request
 * with the same status and body and ask the origin the same (method, target, the forwarded
 * headers' values). `ATTACKS=<n>` sets how many.
 */
import fc from "fast-check";
import type { IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attackArbitrary, attackBytes, type Attack } from "../../helpers/attacks.js";
import { SECRET } from "../../helpers/links.js";
import { nginxAvailable, startNginx, type StartedNginx } from "../../helpers/nginx.js";
import { inParallel, rawExchange } from "../../helpers/raw-exchange.js";
import {
  notItsOwnAnswer,
  recordingOrigin,
  type Recorded,
  type RecordingOrigin,
} from "../../helpers/recording-origin.js";
import { FORWARDED } from "../../../src/http/headers.js";

const here = nginxAvailable();
const ATTACKS = Number(process.env.ATTACKS ?? 2000);
const BATCH = 100;

/**
 * Where the native path may forward headers other than the module does (the report names
 * them): a forwarded header sent twice (nginx 1.22's `$http_` holds the first, the module
 * joins them) or empty (nginx sends no empty header), or a Connection sent twice.
 */
function headersMayDiffer(attack: Attack): boolean {
  const names = attack.hostile.map(([name]) => name.toLowerCase());
  return attack.hostile.some(
    ([name, value], i) =>
      (FORWARDED[name.toLowerCase()] === true || name.toLowerCase() === "connection") &&
      (names.indexOf(name.toLowerCase()) !== i || value.trim() === ""),
  );
}

/** The headers of an origin request the gate decides: the allow-list, X-Req and its own. */
function forwarded(headers: IncomingHttpHeaders): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of [...Object.keys(FORWARDED), "x-req", "x-forwarded-for", "x-forwarded-proto"])
    if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

describe.skipIf(!here)("generated attacks, native path against the module alone", () => {
  let origin: RecordingOrigin;
  let native: StartedNginx;
  let njs: StartedNginx;
  beforeAll(async () => {
    // The same bytes for both gates' requests, so their answers compare.
    origin = await recordingOrigin((_, url) => `ok ${url}`);
    const env = { ORIGIN_URL: origin.url, SECRET, FORWARD_HEADERS: "X-Req" };
    native = await startNginx(env);
    njs = await startNginx(env, ["--native", "off"]);
    expect(native.conf).toContain("@tokengate_native");
    expect(njs.conf).not.toContain("@tokengate_native");
  });
  afterAll(async () => {
    await native?.close();
    await njs?.close();
    await origin?.close();
  });

  it(`answers ${ATTACKS} generated attacks as the module does`, async () => {
    const now = Math.floor(Date.now() / 1000);
    let nextId = 0;
    let headerChecks = 0;
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(attackArbitrary({ secret: SECRET, now }), { minLength: BATCH, maxLength: BATCH }),
        async (attacks) => {
          const first = nextId;
          nextId += attacks.length * 2;
          const [a, b] = await Promise.all(
            [native, njs].map((gate, g) =>
              inParallel(attacks, 16, (attack, i) =>
                rawExchange(gate.port, attackBytes(attack, first + i * 2 + g, origin.host), 5000),
              ),
            ),
          );
          const byId = new Map<number, Recorded[]>();
          for (const seen of origin.seen.splice(0)) {
            byId.set(seen.id, [...(byId.get(seen.id) ?? []), seen]);
          }
          attacks.forEach((attack, i) => {
            const bytes = JSON.stringify(attackBytes(attack, 0, origin.host).toString("latin1"));
            const x = a![i]!;
            const y = b![i]!;
            const fail = (why: string) => problems.push(`${why}: ${bytes}`);
            if (x.status !== y.status) return fail(`native ${x.status}, module ${y.status}`);
            if (x.body !== y.body) fail("bodies differ");
            const sx = byId.get(first + i * 2) ?? [];
            const sy = byId.get(first + i * 2 + 1) ?? [];
            if (sx.length !== sy.length) return fail(`origin asked ${sx.length} vs ${sy.length}`);
            if (sx.length === 0) return;
            // What reached the origin is answered with the origin's answer to it.
            for (const [gate, exchange, seen] of [
              ["native", x, sx[0]!],
              ["module", y, sy[0]!],
            ] as const) {
              const own = notItsOwnAnswer(
                attack.method,
                exchange.status,
                exchange.head,
                exchange.body,
                seen,
              );
              if (own !== undefined) fail(`${gate} ${own}`);
            }
            if (sx[0]!.method !== sy[0]!.method || sx[0]!.url !== sy[0]!.url)
              return fail(`origin asked ${sx[0]!.url} vs ${sy[0]!.url}`);
            if (headersMayDiffer(attack)) return;
            headerChecks++;
            const hx = forwarded(sx[0]!.headers);
            const hy = forwarded(sy[0]!.headers);
            delete hx["x-req"];
            delete hy["x-req"];
            if (JSON.stringify(hx) !== JSON.stringify(hy))
              fail(`origin headers ${JSON.stringify(hx)} vs ${JSON.stringify(hy)}`);
          });
          return true;
        },
      ),
      { numRuns: Math.ceil(ATTACKS / BATCH) },
    );
    expect(problems.slice(0, 10)).toEqual([]);
    // The native path was taken (the module's mark is absent from its access log lines).
    const lines = native
      .accessLog()
      .map((line) => JSON.parse(line) as { njs: string; status: number });
    const nativeLines = lines.filter((line) => line.njs === "" && line.status === 200).length;
    expect(nativeLines).toBeGreaterThan(ATTACKS / 50);
    expect(headerChecks).toBeGreaterThan(ATTACKS / 50);
  });
});
