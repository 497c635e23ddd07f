import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../../helpers/http-raw.js";
import { download, get } from "../../helpers/http.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import { bigChunk, startOrigin, type Origin } from "../../helpers/origin.js";
import { run, serve, type Served } from "../../helpers/serve.js";
import { startGateServer } from "../../../src/adapter/node/server.js";
import { readSettings } from "../../../src/core/settings.js";

const MiB = 1024 * 1024;

// Node 22.12+ / 23.1+ on Linux honour SO_REUSEPORT; older versions ignore the option, and the
// gate falls back to one listening socket.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const REUSE_PORT =
  process.platform === "linux" &&
  (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12));

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function md5Of(total: number): string {
  const hash = createHash("md5");
  for (let offset = 0; offset < total; offset += MiB)
    hash.update(bigChunk(offset, Math.min(MiB, total - offset)));
  return hash.digest("hex");
}

describe("tokengate serve in front of a real origin", () => {
  let origin: Origin;
  let gate: Served;
  beforeAll(async () => {
    origin = await startOrigin({ slowHeadersMs: 5000 });
    gate = await serve({ ORIGIN_URL: origin.url, SECRET, ORIGIN_TIMEOUT_MS: "500" });
  });
  afterAll(async () => {
    await gate?.stop();
    await origin?.close();
  });

  it("answers GET /healthz with 200 ok", async () => {
    const res = await get(gate.url + "/healthz");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("ok");
  });

  it("passes Range, HEAD and conditional requests through", async () => {
    const range = await get(gate.url + signedPath("a.ts"), { headers: { range: "bytes=0-6" } });
    expect(range.status).toBe(206);
    expect(range.body.toString()).toBe("content");
    const head = await get(gate.url + signedPath("a.ts"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(0);
    const etag = String(head.headers.etag);
    const conditional = await get(gate.url + signedPath("a.ts"), {
      headers: { "if-none-match": etag },
    });
    expect(conditional.status).toBe(304);
    const unsatisfiable = await get(gate.url + signedPath("a.ts"), {
      headers: { range: "bytes=99999-" },
    });
    expect(unsatisfiable.status).toBe(416);
  });

  it("forwards end-to-end headers but not Cookie, Authorization or hop-by-hop ones", async () => {
    await get(gate.url + signedPath("h.ts"), {
      headers: {
        "accept-language": "de",
        "if-modified-since": "Wed, 21 Oct 2015 07:28:00 GMT",
        cookie: "a=b",
        authorization: "Basic eDp5",
        "x-hop": "1",
        connection: "x-hop",
      },
    });
    const seen = origin.requests.at(-1)!.headers;
    expect(seen["accept-language"]).toBe("de");
    expect(seen["if-modified-since"]).toBe("Wed, 21 Oct 2015 07:28:00 GMT");
    expect(seen.cookie).toBeUndefined();
    expect(seen.authorization).toBeUndefined();
    expect(seen["x-hop"]).toBeUndefined();
    expect(seen.host).toBe(`127.0.0.1:${origin.port}`);
  });

  it("streams 200 MB byte-exact while its memory stays flat", async () => {
    const total = 200 * MiB;
    const before = rssOf(gate.proc.pid!);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(gate.proc.pid!))), 20);
    const res = await download(gate.url + signedPath(`big-${total}.ts`));
    clearInterval(sampler);
    expect(res.status).toBe(200);
    expect(res.bytes).toBe(total);
    expect(res.md5).toBe(md5Of(total));
    // Node 24's V8 collects spent socket buffers later: measured 89-97 MB of growth there for
    // 200 MB and 600 MB bodies alike (bounded, not buffering), 37-44 MB on Node 20 and 22.
    const limit = Number(process.versions.node.split(".")[0]) >= 24 ? 128 : 64;
    expect(peak - before).toBeLessThan(limit * MiB);
  });

  it("keeps serving a slow reader after the origin has finished and closed", async () => {
    // nodejs/undici#5360: fetch on Node >= 22.19 could crash here; the gate uses node:http.
    const total = 8 * MiB;
    const path = gate.url + signedPath(`big-${total}.ts`);
    const result = await new Promise<{ bytes: number; md5: string }>((resolve, reject) => {
      request(path, { headers: { connection: "close" } }, (res) => {
        const hash = createHash("md5");
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
          res.pause();
          setTimeout(() => res.resume(), 2);
        });
        res.on("end", () => resolve({ bytes, md5: hash.digest("hex") }));
        res.on("error", reject);
      })
        .on("error", reject)
        .end();
    });
    expect(result.bytes).toBe(total);
    expect(result.md5).toBe(md5Of(total));
    expect((await get(gate.url + "/healthz")).status).toBe(200);
  });

  it("cuts the client's connection when the origin dies mid-body, and stays up", async () => {
    const outcome = await new Promise<string>((resolve) => {
      request(gate.url + signedPath("cut.ts"), (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve("end"));
        res.on("error", () => resolve("error"));
        res.on("aborted", () => resolve("aborted"));
      })
        .on("error", () => resolve("error"))
        .end();
    });
    expect(outcome).not.toBe("end");
    expect((await get(gate.url + "/healthz")).status).toBe(200);
  });

  it("cuts the client's connection when the origin goes quiet mid-body for ORIGIN_TIMEOUT_MS", async () => {
    const started = Date.now();
    const outcome = await new Promise<{ how: string; bytes: number }>((resolve) => {
      let bytes = 0;
      request(gate.url + signedPath("stall.ts"), (res) => {
        res.on("data", (chunk: Buffer) => (bytes += chunk.length));
        res.on("end", () => resolve({ how: "end", bytes }));
        res.on("error", () => resolve({ how: "error", bytes }));
        res.on("aborted", () => resolve({ how: "aborted", bytes }));
      })
        .on("error", () => resolve({ how: "error", bytes }))
        .end();
    });
    expect(outcome.how).not.toBe("end");
    expect(outcome.bytes).toBe(64 * 1024);
    expect(Date.now() - started).toBeLessThan(4000);
    const originPath = "/videos/2675_3dk4NsRt6vWsffEr/stall.ts";
    for (let i = 0; i < 50 && !origin.aborted.includes(originPath); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(origin.aborted).toContain(originPath);
    const line = JSON.parse(await gate.waitFor(/stall\.ts"/)) as { reason?: string };
    expect(line.reason).toBe("origin-timeout");
  });

  it("aborts the origin request when the client goes away", async () => {
    const path = signedPath("drip.ts");
    await new Promise<void>((resolve) => {
      const req = request(gate.url + path, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => {});
      req.end();
    });
    const originPath = "/videos/2675_3dk4NsRt6vWsffEr/drip.ts";
    for (let i = 0; i < 50 && !origin.aborted.includes(originPath); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(origin.aborted).toContain(originPath);
  });

  it("answers 504 when the origin sends no headers within ORIGIN_TIMEOUT_MS", async () => {
    const started = Date.now();
    const res = await get(gate.url + signedPath("slow-headers.ts"));
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("writes one access-log line per request without the token or the secret", async () => {
    const path = signedPath("logged.ts");
    const token = path.split("/")[3]!;
    await get(gate.url + path + "?part=1");
    await get(gate.url + signedPath("x.ts", { expires: 1000 }));
    const line = await gate.waitFor(/logged\.ts/);
    const entry = JSON.parse(line);
    expect(entry).toMatchObject({
      method: "GET",
      status: 200,
      path: "/videos/2675_3dk4NsRt6vWsffEr/…/" + path.split("/")[4] + "/logged.ts",
    });
    expect(entry.bytes).toBe("content of /videos/2675_3dk4NsRt6vWsffEr/logged.ts".length);
    expect(typeof entry.ms).toBe("number");
    expect(typeof entry.time).toBe("string");
    const expired = JSON.parse(await gate.waitFor(/"status":410/));
    expect(expired.reason).toBe("expired");
    expect(expired.bytes).toBe("Gone: link expired\n".length);
    const all = gate.lines.join("\n");
    expect(all).not.toContain(token);
    expect(all).not.toContain(SECRET);
  });

  it("logs no usable token whatever the request target's form", async () => {
    const path = signedPath("formed.ts");
    const token = path.split("/")[3]!;
    const port = Number(new URL(gate.url).port);
    const targets = [
      `http://gate.test${path}`, // absolute form: served
      `/${path}`, // "//videos/…"
      "/" + path.slice(1).replaceAll("/", "%2f"),
      "/" + path.slice(1).replaceAll("/", "%252f"),
      `${path.slice(0, path.lastIndexOf("/"))}/../${token}/x.ts`,
    ];
    const before = gate.lines.length;
    const answers = [];
    for (const target of targets) answers.push((await rawRequest(port, "GET", target)).status);
    expect(answers[0]).toBe(200);
    const since = () => gate.lines.slice(before).filter((line) => line.includes('"method":"GET"'));
    for (let i = 0; i < 100 && since().length < targets.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = since();
    expect(lines).toHaveLength(targets.length);
    expect(lines.join("\n")).not.toContain(token);
  });

  it("cuts a client that takes no bytes for CLIENT_TIMEOUT_MS", async () => {
    const cutting = await serve({
      ORIGIN_URL: origin.url,
      SECRET,
      CLIENT_TIMEOUT_MS: "300",
    });
    try {
      const socket = connect(cutting.port, "127.0.0.1");
      socket.write(`GET ${signedPath(`big-${200 * MiB}.ts`)} HTTP/1.1\r\nHost: gate\r\n\r\n`);
      socket.pause();
      const line = JSON.parse(await cutting.waitFor(/client-timeout/, 10_000));
      expect(line).toMatchObject({ status: 200, reason: "client-timeout" });
      await new Promise<void>((resolve) => socket.on("close", resolve).resume());
    } finally {
      await cutting.stop();
    }
  });
});

describe("tokengate serve when the origin is down", () => {
  it("answers 502 and logs the failure in one line", async () => {
    const closed = await startOrigin();
    await closed.close();
    const gate = await serve({ ORIGIN_URL: closed.url, SECRET });
    try {
      const res = await get(gate.url + signedPath("a.ts"));
      expect(res.status).toBe(502);
      expect(res.body.toString()).toMatch(/^Bad Gateway/);
      const line = JSON.parse(await gate.waitFor(/"level":"error"/));
      expect(line.message).toMatch(/origin-error: .*ECONNREFUSED/);
    } finally {
      await gate.stop();
    }
  });
});

describe("tokengate serve start-up", () => {
  it.each([
    ["PORT", { PORT: "http" }],
    ["PORT", { PORT: "70000" }],
    ["WORKERS", { WORKERS: "many" }],
    ["LISTEN_SOCKETS", { LISTEN_SOCKETS: "0" }],
    ["LOG_FORMAT", { LOG_FORMAT: "xml" }],
    ["ORIGIN_URL", { ORIGIN_URL: "origin:8080" }],
    ["ORIGIN_TIMEOUT_MS", { ORIGIN_TIMEOUT_MS: "-1" }],
    ["CLIENT_TIMEOUT_MS", { CLIENT_TIMEOUT_MS: "soon" }],
    ["ORIGIN_CONNECTIONS", { ORIGIN_CONNECTIONS: "0" }],
    ["ORIGIN_KEEPALIVE", { ORIGIN_KEEPALIVE: "maybe" }],
    ["PREFIXES", { PREFIXES: "a/b" }],
    ["SECRET", { SECRET: "" }],
    ["HOST", { HOST: "not a host" }],
  ])("stops with exit code 2 and one line naming %s", async (setting, bad) => {
    const child = run(["serve"], { ORIGIN_URL: "http://127.0.0.1:9", SECRET, ...bad });
    expect(await child.exited).toBe(2);
    const stderr = child.stderr.join("");
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain(setting);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("stops with exit code 2 when the port is taken", async () => {
    const first = await serve({ ORIGIN_URL: "http://127.0.0.1:9", SECRET });
    try {
      const second = run(["serve", "--port", String(first.port)], {
        ORIGIN_URL: "http://127.0.0.1:9",
        SECRET,
      });
      expect(await second.exited).toBe(2);
      expect(second.stderr.join("")).toMatch(/PORT: \d+ is already in use/);
    } finally {
      await first.stop();
    }
  });

  it("listens on as many sockets as LISTEN_SOCKETS or --listen-sockets asks", async () => {
    const origin = await startOrigin();
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET, LISTEN_SOCKETS: "1" }, [
      "--listen-sockets",
      "3",
    ]);
    try {
      expect((await get(gate.url + signedPath("f.ts"))).status).toBe(200);
      // Count the sockets the process has listening on its port (Linux /proc).
      const hex = gate.port.toString(16).toUpperCase().padStart(4, "0");
      const listening = readFileSync("/proc/net/tcp", "utf8")
        .split("\n")
        .filter((line) => line.includes(`:${hex} 00000000:0000 0A`)).length;
      expect(listening).toBe(REUSE_PORT ? 3 : 1);
    } finally {
      await gate.stop();
      await origin.close();
    }
  });

  it("takes flags over environment variables", async () => {
    const origin = await startOrigin();
    const gate = await serve({ ORIGIN_URL: "http://127.0.0.1:9", SECRET }, [
      "--origin-url",
      origin.url,
      "--log-format",
      "pretty",
    ]);
    try {
      expect((await get(gate.url + signedPath("f.ts"))).status).toBe(200);
      expect(
        await gate.waitFor(/ GET \/videos\/2675_3dk4NsRt6vWsffEr\/…\/\d+\/f\.ts 200 /),
      ).toBeTruthy();
    } finally {
      await gate.stop();
      await origin.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("finishes the response in flight on SIGTERM, refuses new connections, and exits 0", async () => {
    const origin = await startOrigin();
    const gate = await serve({ ORIGIN_URL: origin.url, SECRET });
    try {
      let finished = false;
      const inFlight = download(gate.url + signedPath("drip.ts")).finally(() => (finished = true));
      // In flight: the origin has the request (it drips the answer over a second).
      for (let i = 0; i < 200 && !origin.requests.some((r) => r.url.endsWith("/drip.ts")); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(origin.requests.some((r) => r.url.endsWith("/drip.ts"))).toBe(true);
      gate.proc.kill("SIGTERM");
      // The listener closes on SIGTERM: new connections are refused well before the drip ends.
      let refused = false;
      for (let i = 0; i < 50 && !refused; i++) {
        refused = await get(gate.url + "/healthz").then(
          () => false,
          (error: Error) => /ECONNREFUSED/.test(error.message),
        );
        if (!refused) await new Promise((r) => setTimeout(r, 10));
      }
      expect(refused).toBe(true);
      expect(finished).toBe(false);
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.bytes).toBe(20 * 3277);
      expect(await gate.exited).toBe(0);
      // The access log is written in batches: the last line must not be lost at exit.
      const last = gate.lines
        .map((line) => JSON.parse(line))
        .find((e) => /drip\.ts$/.test(e.path ?? ""));
      expect(last).toMatchObject({ status: 200, bytes: 20 * 3277 });
    } finally {
      await gate.stop();
      await origin.close();
    }
  });
});

describe("demo mode", () => {
  it("prints a signed link that serves the sample playlist", async () => {
    const gate = await serve({});
    try {
      const banner = await gate.waitFor(/Signed link/);
      expect(gate.lines.join("\n")).toMatch(/DEMO MODE/);
      // In words, in the banner itself, not only inside the JSON log line or the link.
      expect(gate.lines).toContain(
        `  Listening on ${gate.url} (port ${gate.port}; --port or PORT changes it)`,
      );
      const link = /(http:\/\/\S+master\.m3u8)/.exec(banner)![1]!;
      const res = await get(link);
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("application/vnd.apple.mpegurl");
      expect(res.body.toString()).toMatch(/^#EXTM3U/);
      const variant = await get(link.replace("master.m3u8", "240p/index.m3u8"));
      expect(variant.body.toString()).toContain("seg-0.ts");
      const segment = await get(link.replace("master.m3u8", "240p/seg-0.ts"));
      expect(segment.status).toBe(200);
      expect(segment.body[0]).toBe(0x47); // MPEG-TS sync byte
      expect(
        (await get(link.replace(/\/[A-Za-z0-9_-]{22}\//, "/AAAAAAAAAAAAAAAAAAAAAA/"))).status,
      ).toBe(403);
      if (spawnSync("ffprobe", ["-version"]).status === 0) {
        const duration = execFileSync(
          "ffprobe",
          ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", link],
          {
            encoding: "utf8",
          },
        );
        expect(Number(duration)).toBeCloseTo(6, 0);
      }
    } finally {
      expect(await gate.stop()).toBe(0);
    }
  });
});

describe("WORKERS=2", () => {
  it("serves from two processes", async () => {
    const origin = await startOrigin();
    const dir = mkdtempSync(join(tmpdir(), "tokengate-"));
    writeFileSync(join(dir, "secret"), SECRET);
    const gate = await serve({ ORIGIN_URL: origin.url, WORKERS: "2" }, [
      "--secret-file",
      join(dir, "secret"),
    ]);
    try {
      const pids = new Set<number>();
      for (let i = 0; i < 40 && pids.size < 2; i++) {
        await get(gate.url + "/healthz", { headers: { connection: "close" } });
        await new Promise((r) => setTimeout(r, 5));
        for (const line of gate.lines) {
          if (line.includes('"path":"/healthz"')) pids.add(JSON.parse(line).pid);
        }
      }
      expect(pids.size).toBe(2);
      // The secret came from --secret-file: no process's environment may hold it.
      for (const pid of [...pids, gate.proc.pid!]) {
        expect(readFileSync(`/proc/${pid}/environ`, "latin1"), `pid ${pid}`).not.toContain(SECRET);
      }
    } finally {
      expect(await gate.stop()).toBe(0);
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("listening sockets", () => {
  it("opens several sockets on one port where SO_REUSEPORT works, serves from all, and frees the port on close", async () => {
    const origin = await startOrigin();
    const gate = await startGateServer({
      settings: readSettings({ ORIGIN_URL: origin.url, SECRET }),
      port: 0,
      log: () => {},
      listenSockets: 8,
    });
    try {
      expect(gate.listenSockets).toBe(REUSE_PORT ? 8 : 1);
      // A new connection each: the kernel spreads them over the sockets.
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          get(gate.url + (i % 2 ? "/healthz" : signedPath("f.ts")), {
            headers: { connection: "close" },
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    } finally {
      await gate.close();
      await origin.close();
    }
    // Every socket is closed: a plain bind to the same port succeeds.
    const probe = createNetServer();
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(gate.port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => probe.close(resolve));
  });

  it("still refuses a port another server holds", async () => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      await expect(
        startGateServer({
          settings: readSettings({ ORIGIN_URL: "http://127.0.0.1:9", SECRET }),
          port,
          log: () => {},
        }),
      ).rejects.toMatchObject({ code: "EADDRINUSE" });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
