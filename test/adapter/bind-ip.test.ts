/**
 * IP-bound tokens (BIND_IP) through both runtimes: the Node server binds to the socket's peer,
 * or behind TRUST_PROXY to the right-most X-Forwarded-For entry not trusted; the Worker binds to
 * CF-Connecting-IP (which Cloudflare's edge sets; Miniflare keeps a client's own, which is how
 * this test plays the edge).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/core/token.js";
import { get } from "../helpers/http.js";
import { SECRET } from "../helpers/links.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { serve, type Served } from "../helpers/serve.js";
import { startWorker, type StartedWorker } from "../helpers/worker.js";

const expires = Math.floor(Date.now() / 1000) + 3600;
function bound(ip?: string, video = "bindvideo"): string {
  const token = signToken({ clientId: "2675", videoId: video, secret: SECRET, expires, ip });
  return `/videos/2675_${video}/${token}/${expires}/seg.ts`;
}

describe("BIND_IP on the Node server", () => {
  let origin: Origin;
  let gates: Served[] = [];
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await Promise.all(gates.map((gate) => gate.stop()));
    await origin?.close();
  });
  const start = async (env: Record<string, string>) => {
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET, ...env });
    gates.push(gate);
    return gate;
  };

  it("on: serves a token bound to the peer's address, refuses others and unbound ones", async () => {
    const gate = await start({ BIND_IP: "on" });
    expect((await get(gate.url + bound("127.0.0.1"))).status).toBe(200);
    expect((await get(gate.url + bound("::ffff:127.0.0.1"))).status).toBe(200);
    expect((await get(gate.url + bound("1.2.3.4"))).status).toBe(403);
    expect((await get(gate.url + bound())).status).toBe(403);
    // A client's X-Forwarded-For changes nothing without TRUST_PROXY.
    const claimed = await get(gate.url + bound("1.2.3.4"), {
      headers: { "x-forwarded-for": "1.2.3.4" },
    });
    expect(claimed.status).toBe(403);
  });

  it("optional: serves both forms; off (the default): only unbound tokens", async () => {
    const optional = await start({ BIND_IP: "optional" });
    expect((await get(optional.url + bound("127.0.0.1"))).status).toBe(200);
    expect((await get(optional.url + bound())).status).toBe(200);
    const off = await start({});
    expect((await get(off.url + bound("127.0.0.1"))).status).toBe(403);
    expect((await get(off.url + bound())).status).toBe(200);
  });

  it("behind TRUST_PROXY: binds to the right-most X-Forwarded-For entry not trusted", async () => {
    const gate = await start({ BIND_IP: "on", TRUST_PROXY: "127.0.0.0/8, 10.0.0.0/8" });
    const via = (xff: string) => ({ headers: { "x-forwarded-for": xff } });
    const res = await get(gate.url + bound("203.0.113.7"), via("6.6.6.6, 203.0.113.7, 10.0.0.1"));
    expect(res.status).toBe(200);
    expect(origin.requests.at(-1)!.headers["x-forwarded-for"]).toBe("203.0.113.7");
    expect((await get(gate.url + bound("6.6.6.6"), via("6.6.6.6, 203.0.113.7"))).status).toBe(403);
    expect((await get(gate.url + bound("2001:db8::7"), via("2001:DB8:0::7"))).status).toBe(200);
    // An entry that is not an address: no client address, so no bound token verifies.
    expect((await get(gate.url + bound("203.0.113.7"), via("203.0.113.7, junk"))).status).toBe(403);
  });

  it.each([
    [{ BIND_IP: "yes" }, "BIND_IP"],
    [{ TRUST_PROXY: "10.0.0.0/33" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "proxy.local" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "10.0.0.1," }, "TRUST_PROXY"],
  ])("refuses to start with %j, naming %s", async (env, setting) => {
    const { run } = await import("../helpers/serve.js");
    const child = run(["serve", "--port", "0"], { ORIGIN_URL: origin.url, SECRET, ...env });
    expect(await child.exited).toBe(2);
    expect(child.stderr.join("")).toMatch(new RegExp(`^tokengate: ${setting}: [^\\n]+\\n$`));
  });
});

describe("BIND_IP on the Worker (Miniflare)", () => {
  let origin: Origin;
  let worker: StartedWorker;
  let url: string;
  beforeAll(async () => {
    origin = await startOrigin();
    worker = await startWorker({ SECRET, ORIGIN_URL: origin.url, BIND_IP: "on" });
    url = worker.url;
  });
  afterAll(async () => {
    await worker?.close();
    await origin?.close();
  });

  it("serves a token bound to CF-Connecting-IP and refuses others", async () => {
    const from = (ip: string) => ({ headers: { "cf-connecting-ip": ip } });
    expect((await get(url + bound("203.0.113.7"), from("203.0.113.7"))).status).toBe(200);
    expect((await get(url + bound("2001:db8::7"), from("2001:DB8::0:7"))).status).toBe(200);
    expect((await get(url + bound("203.0.113.7"), from("203.0.113.8"))).status).toBe(403);
    expect((await get(url + bound(), from("203.0.113.7"))).status).toBe(403);
    expect((await get(url + bound("203.0.113.7"), from("junk"))).status).toBe(403);
  });

  it("refuses to serve with a bad BIND_IP, naming it", async () => {
    const bad = await startWorker({ SECRET, ORIGIN_URL: origin.url, BIND_IP: "always" });
    const res = await get(bad.url + bound()).finally(() => bad.close());
    expect(res.status).toBe(500);
    expect(res.body.toString()).toContain("BIND_IP");
  });
});
