/**
 * Every vector of Gcore's and nginx's documentation through the gate, on both runtimes: the
 * Node server (the CLI as users run it) and the Worker in Miniflare. Addresses are played by
 * TRUST_PROXY + X-Forwarded-For on Node and by CF-Connecting-IP on the Worker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { serve, type Served } from "../helpers/serve.js";
import { startWorker } from "../helpers/worker.js";

interface Vector {
  name: string;
  secret: string;
  /** Settings beside SETTINGS for this vector's gate. */
  settings?: Record<string, string>;
  target: string;
  ip?: string;
  status: number;
  originPath?: string;
}

const VECTORS: Vector[] = [
  {
    name: "stream, IP 1.2.3.4",
    secret: "secret_key",
    target: "/videos/2675_pG8TfmKx2LU2qs/no_WoxDbZBKghjboarsNXw/1861919999/seg.ts",
    ip: "1.2.3.4",
    status: 200,
    originPath: "/videos/2675_pG8TfmKx2LU2qs/seg.ts",
  },
  {
    name: "stream, IP-bound token from another address",
    secret: "secret_key",
    target: "/videos/2675_pG8TfmKx2LU2qs/no_WoxDbZBKghjboarsNXw/1861919999/seg.ts",
    ip: "1.2.3.5",
    status: 403,
  },
  {
    name: "CDN file, IP",
    secret: "secret_key",
    target: "/images/1.jpg?md5=14nsJ0zrjGipdIbehZ1tRw&expires=2147483647",
    ip: "1.2.3.4",
    status: 200,
    originPath: "/images/1.jpg",
  },
  {
    name: "CDN file",
    secret: "secret_key",
    target: "/images/1.jpg?w=1&md5=vHEnxR8VaxpEDgyNzJuWwA&expires=2147483647&h=2",
    status: 200,
    originPath: "/images/1.jpg?w=1&h=2",
  },
  {
    name: "CDN directory, a file directly in it",
    secret: "secret_key",
    settings: { PREFIXES: "cmaf", QUERY_TOKEN_PREFIXES: "videos" },
    target: "/videos/video-1/seg-1.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000",
    status: 200,
    originPath: "/videos/video-1/seg-1.ts",
  },
  {
    name: "CDN directory, a file one level down",
    secret: "secret_key",
    settings: { PREFIXES: "cmaf", QUERY_TOKEN_PREFIXES: "videos" },
    target: "/videos/video-1/720/seg-1.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000",
    status: 403,
  },
  {
    name: "CDN directory token under another prefix",
    secret: "secret_key",
    target: "/media/video-1/seg-1.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000",
    status: 403, // the vector signs /videos/video-1/; under /media it must not verify
  },
  {
    name: "nginx docs, 127.0.0.1",
    secret: "secret",
    target: "/s/link?md5=_e4Nc3iduzkWRm01TBBNYw&expires=2147483647",
    ip: "127.0.0.1",
    status: 200,
    originPath: "/s/link",
  },
  {
    name: "MP4, past its expiry: right token, so 410",
    secret: "MySecr3tStr1ng",
    target:
      "/videos/279481_1053391/qid2920v1_h264_4050_1080_1.mp4?md5=yGa6cK0jM4YvwaSUEPvwMA&expires=1743167062&speed=1000k&buffer=2000k",
    status: 410,
  },
  {
    name: "MP4, a changed speed",
    secret: "MySecr3tStr1ng",
    target:
      "/videos/279481_1053391/qid2920v1_h264_4050_1080_1.mp4?md5=yGa6cK0jM4YvwaSUEPvwMA&expires=1743167062&speed=9000k&buffer=2000k",
    status: 403,
  },
  {
    name: "MP4 with IP, past its expiry",
    secret: "MySecr3tStr1ng",
    target:
      "/videos/279481_1053391/qid2920v1_h264_4050_1080_1.mp4?md5=SZMnuXQv-81sVqslGtXwlA&expires=1743167062",
    ip: "1.2.3.4",
    status: 410,
  },
];

const SETTINGS = {
  BIND_IP: "optional",
  QUERY_TOKEN_PREFIXES: "images,s,media",
  MP4_TOKENS: "on",
};

const gateKey = (vector: Vector) => `${vector.secret} ${JSON.stringify(vector.settings ?? {})}`;

interface Gate {
  url: string;
  headersFor(ip: string | undefined): Record<string, string>;
  close(): Promise<unknown>;
}

type Start = (origin: Origin, secret: string, extra: Record<string, string>) => Promise<Gate>;
const runtimes: Record<string, Start> = {
  "the Node server": async (origin, secret, extra) => {
    const served: Served = await serve({
      ORIGIN_URL: origin.url,
      SECRET: secret,
      TRUST_PROXY: "127.0.0.1",
      ...SETTINGS,
      ...extra,
    });
    return {
      url: served.url,
      // From 127.0.0.1 itself: no X-Forwarded-For, so the peer is the client.
      headersFor: (ip): Record<string, string> =>
        ip && ip !== "127.0.0.1" ? { "x-forwarded-for": ip } : {},
      close: served.stop,
    };
  },
  "the Worker in Miniflare": async (origin, secret, extra) => {
    const worker = await startWorker({
      SECRET: secret,
      ORIGIN_URL: origin.url,
      ...SETTINGS,
      ...extra,
    });
    return {
      url: worker.url,
      headersFor: (ip): Record<string, string> => (ip ? { "cf-connecting-ip": ip } : {}),
      close: worker.close,
    };
  },
};

if (nginxAvailable()) {
  runtimes["nginx with the njs module"] = async (origin, secret, extra) => {
    const nginx = await startNginx({
      ORIGIN_URL: origin.url,
      SECRET: secret,
      TRUST_PROXY: "127.0.0.1",
      ...SETTINGS,
      ...extra,
    });
    return {
      url: nginx.url,
      headersFor: (ip): Record<string, string> =>
        ip && ip !== "127.0.0.1" ? { "x-forwarded-for": ip } : {},
      close: nginx.close,
    };
  };
}

describe.each(Object.keys(runtimes))("Gcore's link forms through %s", (runtime) => {
  let origin: Origin;
  const gates = new Map<string, Gate>();
  beforeAll(async () => {
    origin = await startOrigin();
    for (const vector of VECTORS) {
      const key = gateKey(vector);
      if (!gates.has(key)) {
        gates.set(key, await runtimes[runtime]!(origin, vector.secret, vector.settings ?? {}));
      }
    }
  });
  afterAll(async () => {
    for (const gate of gates.values()) await gate.close();
    await origin?.close();
  });

  it.each(VECTORS)("$name: $status", async (vector) => {
    const gate = gates.get(gateKey(vector))!;
    const before = origin.requests.length;
    const res = await get(gate.url + vector.target, { headers: gate.headersFor(vector.ip) });
    expect(res.status).toBe(vector.status);
    if (vector.originPath !== undefined) {
      expect(origin.requests.at(-1)!.url).toBe(vector.originPath);
    } else {
      expect(origin.requests.length).toBe(before);
    }
  });
});

describe("an MP4 link's speed and buffer on the Node server", () => {
  it("sends the first buffer bytes at once, then at most speed bytes a second", async () => {
    const { signMp4Token } = await import("../../src/core/query-token.js");
    const origin = await startOrigin();
    const secret = "MySecr3tStr1ng";
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET: secret, MP4_TOKENS: "on" });
    try {
      const expires = Math.floor(Date.now() / 1000) + 600;
      const size = 640 * 1024;
      const uri = `/videos/1_a/big-${size}.mp4`;
      const paced = (speed?: string, buffer?: string) =>
        `${uri}?md5=${signMp4Token({ uri, secret, expires, speed, buffer })}&expires=${expires}` +
        (speed ? `&speed=${speed}` : "") +
        (buffer ? `&buffer=${buffer}` : "");
      // 640 KiB with 128 KiB at full speed, then 256 KiB/s: at least 2 s.
      let started = performance.now();
      const slow = await get(gate.url + paced("256k", "128k"));
      const slowMs = performance.now() - started;
      expect(slow.status).toBe(200);
      expect(slow.body.length).toBe(size);
      expect(slowMs).toBeGreaterThan(1800);
      started = performance.now();
      const fast = await get(gate.url + paced());
      expect(fast.body.length).toBe(size);
      expect(performance.now() - started).toBeLessThan(slowMs);
    } finally {
      await gate.stop();
      await origin.close();
    }
  });
});

describe("paced MP4 downloads on the Node server (outside attack: they held every origin connection)", () => {
  it("may hold a quarter of ORIGIN_CONNECTIONS: one more is answered 503, other links are served", async () => {
    const { signMp4Token } = await import("../../src/core/query-token.js");
    const { request } = await import("node:http");
    const { signedPath } = await import("../helpers/links.js");
    const origin = await startOrigin();
    const secret = "node-test-secret";
    const gate = await serve({
      ORIGIN_URL: origin.url,
      SECRET: secret,
      MP4_TOKENS: "on",
      ORIGIN_CONNECTIONS: "4",
    });
    try {
      const expires = Math.floor(Date.now() / 1000) + 600;
      const uri = `/videos/1_a/big-${8 * 1024 * 1024}.mp4`;
      const paced = `${uri}?md5=${signMp4Token({ uri, secret, expires, speed: "16k" })}&expires=${expires}&speed=16k`;
      // The first paced download: reading, slowly, as its pace allows.
      const first = await new Promise<import("node:http").ClientRequest>((resolve, reject) => {
        const req = request(gate.url + paced, (res) => {
          expect(res.statusCode).toBe(200);
          res.resume();
          resolve(req);
        });
        req.on("error", reject);
        req.end();
      });
      const second = await get(gate.url + paced);
      expect(second.status).toBe(503);
      expect(second.headers["retry-after"]).toBe("5");
      expect((await get(gate.url + signedPath("x.ts"))).status).toBe(200);
      first.destroy();
      // Its place is given back once the gate has seen the client go: asked until then.
      const ask = () =>
        new Promise<number>((resolve, reject) => {
          const req = request(gate.url + paced, (res) => {
            resolve(res.statusCode ?? 0);
            req.destroy();
          });
          req.on("error", () => {});
          req.end();
          setTimeout(() => reject(new Error("no answer")), 5000);
        });
      let again = await ask();
      for (const end = Date.now() + 10_000; again === 503 && Date.now() < end;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        again = await ask();
      }
      expect(again).toBe(200);
    } finally {
      await gate.stop();
      await origin.close();
    }
  });
});
