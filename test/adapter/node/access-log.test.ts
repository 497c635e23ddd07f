import { describe, expect, it } from "vitest";
import { accessLine } from "../../../src/adapter/node/access-log.js";

const TOKEN = "bzvFjnpBFskO6M4eg9hriw";

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
