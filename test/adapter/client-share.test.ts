/**
 * REQUESTS_PER_CLIENT: one client address cannot take everyone's share of the origin.
 * Outside attack: with `--origin-connections 8`, two unread paced MP4 downloads from one
 * address made every other viewer's paced MP4 a 503. Addresses are played by TRUST_PROXY +
 * X-Forwarded-For, on the Node server and nginx (its realip module); the Worker has no such
 * limit (see the README).
 */
import { request, type ClientRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { signMp4Token } from "../../src/core/query-token.js";
import { rejection } from "../../src/http/refusal.js";
import { get } from "../helpers/http.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { serve } from "../helpers/serve.js";

const SECRET = "client-share-secret";
const SETTINGS = { SECRET, MP4_TOKENS: "on", TRUST_PROXY: "127.0.0.1" };

/** Settings, and the share of one address they give. */
const ROWS: [Record<string, string>, number][] = [
  // The attack as found: ORIGIN_CONNECTIONS=8 (a paced share of 2), the default share (1).
  // (The helpers set no share unless told: undefined here is the gate's default.)
  [{ ORIGIN_CONNECTIONS: "8", REQUESTS_PER_CLIENT: undefined as unknown as string }, 1],
  [{ ORIGIN_CONNECTIONS: "16", REQUESTS_PER_CLIENT: "2" }, 2],
];

/** A running gate and its access-log lines so far. */
interface Started {
  url: string;
  accessLines(): string[];
  close(): Promise<unknown>;
}

const GATES: Record<string, (env: Record<string, string>) => Promise<Started>> = {
  "the Node server": async (env) => {
    const gate = await serve(env);
    return {
      url: gate.url,
      accessLines: () => gate.lines.filter((line) => line.includes('"method":')),
      close: gate.stop,
    };
  },
};
if (nginxAvailable()) {
  GATES["nginx with the njs module"] = async (env) => {
    const nginx = await startNginx(env);
    return { url: nginx.url, accessLines: nginx.accessLog, close: nginx.close };
  };
}

const URI = `/videos/1_a/big-${8 * 1024 * 1024}.mp4`;

/** An MP4 link to 8 MiB: paced at 16 KiB/s it stays in flight for the whole test. */
function mp4Link(speed?: string): string {
  const expires = Math.floor(Date.now() / 1000) + 600;
  const md5 = signMp4Token({ uri: URI, secret: SECRET, expires, speed });
  return `${URI}?md5=${md5}&expires=${expires}${speed === undefined ? "" : `&speed=${speed}`}`;
}

/** A download whose answer has begun (status 200) and which then reads nothing more. */
function hold(url: string, address: string): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { "x-forwarded-for": address }, agent: false }, (res) => {
      res.pause();
      if (res.statusCode === 200) resolve(req);
      else reject(new Error(`held download answered ${res.statusCode}`));
    });
    req.on("error", () => {});
    req.end();
  });
}

/** Resolves once `ready()` holds, checked every 20 ms, within 10 s. */
async function until(ready: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(Object.keys(GATES))("REQUESTS_PER_CLIENT on %s", (runtime) => {
  let origin: Origin | undefined;
  let gate: Started | undefined;
  const held: ClientRequest[] = [];
  afterEach(async () => {
    for (const req of held.splice(0)) req.destroy();
    await gate?.close();
    await origin?.close();
    gate = origin = undefined;
  });

  it.each(ROWS)(
    "%j: an address beyond its %i gets 503 + Retry-After; others are served; leaving gives it back",
    async (env, share) => {
      origin = await startOrigin();
      gate = await GATES[runtime]!({ ORIGIN_URL: origin.url, ...SETTINGS, ...env });
      const url = gate.url + mp4Link("16k");
      const hog = "203.0.113.7";
      for (let i = 0; i < share; i++) held.push(await hold(url, hog));

      const third = await get(url, { headers: { "x-forwarded-for": hog }, timeoutMs: 5000 });
      const answer = rejection("client-limit");
      expect(third.status).toBe(503);
      expect(third.headers["retry-after"]).toBe("5");
      expect(third.headers["cache-control"]).toBe("no-store");
      expect(third.body.toString()).toBe(answer.body);
      // Every granted request counts, not only paced ones.
      const unpaced = await get(gate.url + mp4Link(), {
        headers: { "x-forwarded-for": hog },
        timeoutMs: 5000,
      });
      expect([unpaced.status, unpaced.headers["retry-after"]]).toEqual([503, "5"]);
      // Another viewer's paced download is served.
      held.push(await hold(url, "198.51.100.9"));
      await until(
        () => gate!.accessLines().some((line) => line.includes('"reason":"client-limit"')),
        "the 503 in the access log",
      );

      // The hog leaves: once its downloads are logged as ended, its address has its share again.
      const hogs = held.splice(0, share);
      for (const req of hogs) req.destroy();
      const ended = () => gate!.accessLines().filter((line) => line.includes('"status":200'));
      await until(() => ended().length >= share, "the hog's downloads logged as ended");
      held.push(await hold(url, hog));
    },
  );

  // Outside attack: one IPv6 host holds a whole /64, so a share per exact address let it take
  // every origin connection with 8 of them.
  it("counts the addresses of one IPv6 /64 as one client", async () => {
    origin = await startOrigin();
    gate = await GATES[runtime]!({
      ORIGIN_URL: origin.url,
      ...SETTINGS,
      ORIGIN_CONNECTIONS: "16",
      REQUESTS_PER_CLIENT: "2",
    });
    const url = gate.url + mp4Link("16k");
    held.push(await hold(url, "2001:db8:1:2::1"), await hold(url, "2001:db8:1:2::2"));
    for (const address of ["2001:db8:1:2::3", "2001:DB8:1:2:ffff:ffff:ffff:ffff"]) {
      const beyond = await get(url, { headers: { "x-forwarded-for": address }, timeoutMs: 5000 });
      expect([address, beyond.status, beyond.headers["retry-after"]]).toEqual([address, 503, "5"]);
    }
    // Another /64 is another client.
    held.push(await hold(url, "2001:db8:1:3::1"));
  });
});
