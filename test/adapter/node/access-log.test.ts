import { describe, expect, it } from "vitest";
import { accessLine } from "../../../src/adapter/node/access-log.js";
import { redactTarget } from "../../../src/core/redact.js";

const TOKEN = "bzvFjnpBFskO6M4eg9hriw";

describe("redactTarget", () => {
  it.each([
    [
      `/videos/2675_abc/${TOKEN}/1861919999/720/seg-1.ts?part=4`,
      "/videos/2675_abc/…/1861919999/720/seg-1.ts",
    ],
    // Forms a client may send that are still served or still carry a usable token:
    [
      `http://gate.test/videos/2675_abc/${TOKEN}/1861919999/a.ts`,
      "/videos/2675_abc/…/1861919999/a.ts",
    ],
    [
      `https://gate.test:8443/videos/2675_abc/${TOKEN}/1861919999/a.ts?x=1#f`,
      "/videos/2675_abc/…/1861919999/a.ts",
    ],
    [`//videos/2675_abc/${TOKEN}/1861919999/a.ts`, "//videos/2675_abc/…/1861919999/a.ts"],
    [
      `/videos%2f2675_abc%2f${TOKEN}%2f1861919999%2fa.ts`,
      "/videos%2f2675_abc%2f…%2f1861919999%2fa.ts",
    ],
    [`/videos%252f2675_abc%252f${TOKEN}%252f1/a.ts`, "/…/a.ts"],
    [`/videos/2675_abc/${TOKEN}/1861919999/../${TOKEN}`, "/videos/2675_abc/…/1861919999/../…"],
    [`/videos\\2675_abc\\${TOKEN}\\1/a.ts`, "/videos\\2675_abc\\…\\1/a.ts"],
    [
      `/videos/2675_abc/${TOKEN}/1861919999/dir/${TOKEN}.ts`,
      "/videos/2675_abc/…/1861919999/dir/….ts",
    ],
    [`/x/${TOKEN}xyz/1`, "/x/…/1"],
    // One character of the token percent-escaped: still a token to anyone who decodes it.
    [`/videos/2675_abc/bzvFjnpBFskO6M4eg9hri%77/1/x.ts`, "/videos/2675_abc/…/1/x.ts"],
    [`/videos/2675_abc/%62zvFjnpBFskO6M4eg9hriw/1/x.ts`, "/videos/2675_abc/…/1/x.ts"],
    [`/videos/2675_abc/bzvFjnpBFskO%36M4eg9hriw/1/x.ts?q`, "/videos/2675_abc/…/1/x.ts"],
    ["/videos/2675_abc/a%20b/1/x.ts", "/videos/2675_abc/a%20b/1/x.ts"],
    [`/videos/${TOKEN}_abc/${TOKEN}/1/x.ts`, "/videos/…/…/1/x.ts"],
    [`/videos/2675_abc/bzvFjnpBFsk%25O6M4eg9hriw/1/x.ts`, "/videos/2675_abc/…/1/x.ts"],
    ["/videos/2675_abc/short/x?y=/a/b/c", "/videos/2675_abc/short/x"],
    // Another token written as the id segment (outside attack), also across its "_".
    [`/videos/1_${TOKEN}/AAAAAAAAAAAAAAAAAAAAAA/1/x`, "/videos/…/…/1/x"],
    [`/videos/bzvFjnpBFsk_O6M4eg9hriw/AAAAAAAAAAAAAAAAAAAAAA/1/x`, "/videos/…/…/1/x"],
    ["/healthz", "/healthz"],
    ["/", "/"],
  ])("logs %j as %j", (target, path) => {
    expect(redactTarget(target)).toBe(path);
    expect(decodeURIComponent(redactTarget(target)).replaceAll("%", "")).not.toContain(TOKEN);
  });
});

describe("accessLine", () => {
  const record = {
    method: "GET",
    target: `/videos/1_a/${TOKEN}/1/x".ts?q`,
    status: 403,
    reason: "bad-token",
    bytes: 25,
    ms: 1.234,
  };

  it("writes one JSON object with the token redacted and quotes escaped", () => {
    const entry = JSON.parse(accessLine("json", record, Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(entry).toEqual({
      time: "2026-01-02T03:04:05.000Z",
      pid: process.pid,
      method: "GET",
      path: '/videos/1_a/…/1/x".ts',
      status: 403,
      reason: "bad-token",
      bytes: 25,
      ms: 1.2,
    });
  });

  it("names the origin's status, as nginx's upstream_status, when the origin was asked", () => {
    const origin = { ...record, status: 404, reason: undefined, upstreamStatus: 404 };
    expect(JSON.parse(accessLine("json", origin))).toMatchObject({ upstream_status: "404" });
    expect(JSON.parse(accessLine("json", origin))).not.toHaveProperty("reason");
    expect(JSON.parse(accessLine("json", record))).not.toHaveProperty("upstream_status");
    expect(accessLine("pretty", origin)).toMatch(/ 404 \(origin 404\) 25 B /);
  });

  it("stamps every line with its own millisecond, as toISOString would", () => {
    const base = Date.UTC(2026, 10, 28, 23, 59, 58);
    for (const offset of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 86_400_000 + 7]) {
      for (const now of [base + offset, offset]) {
        const entry = JSON.parse(accessLine("json", record, now)) as { time: string };
        expect(entry.time).toBe(new Date(now).toISOString());
      }
    }
  });

  it("writes a readable line in pretty format", () => {
    expect(accessLine("pretty", record, Date.UTC(2026, 0, 2, 3, 4, 5))).toBe(
      '2026-01-02T03:04:05.000Z GET /videos/1_a/…/1/x".ts 403 (bad-token) 25 B 1.2 ms',
    );
  });
});
