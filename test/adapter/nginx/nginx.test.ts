/**
 * tokengate inside nginx: the config `tokengate nginx-config` prints, and what only nginx
 * does (its native MD5, its own answers, the secret file read per request, its cache). The
 * behaviour table, traversals, secrets, CORS and the generated attacks run against nginx in
 * their own suites, beside the other runtimes.
 */
import fc from "fast-check";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { md5Base64url } from "../../../src/core/md5.js";
import { get } from "../../helpers/http.js";
import { rawExchange } from "../../helpers/raw-exchange.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import {
  freePort,
  JS_MODULE,
  loggedFor,
  NGINX,
  nginxAvailable,
  startNginx,
} from "../../helpers/nginx.js";
import { bigChunk, startOrigin, type Origin } from "../../helpers/origin.js";
import { CLI } from "../../helpers/serve.js";
import { answerFor, headerReader } from "../../helpers/http-semantics.js";
import { MODIFIED } from "../../helpers/recording-origin.js";

const here = nginxAvailable();

/** Runs `tokengate nginx-config`; its exit code, stdout and stderr. */
function nginxConfig(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, "nginx-config", ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

/** `nginx -t` on a config text; nginx's verdict. */
function nginxTest(dir: string, conf: string): { ok: boolean; output: string } {
  writeFileSync(join(dir, "test.conf"), conf);
  const result = spawnSync(NGINX, ["-t", "-c", join(dir, "test.conf")], { encoding: "utf8" });
  return { ok: result.status === 0, output: result.stderr };
}

describe.skipIf(!here)("tokengate nginx-config", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tokengate-conf-"));
    writeFileSync(join(dir, "secret"), "a-secret-worth-keeping\n");
    writeFileSync(join(dir, "clients.json"), '{"2675": "client-secret-one"}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["the least it needs", []],
    [
      "every option",
      [
        "--prefixes",
        "videos,live",
        "--query-token-prefixes",
        "images",
        "--mp4-tokens",
        "on",
        "--bind-ip",
        "optional",
        "--cors-origins",
        "https://player.example.com",
        "--expiry-leeway-s",
        "30",
        "--client-secrets-file",
        "CLIENTS",
        "--cache-dir",
        "CACHE",
        "--cache-max-bytes",
        "1g",
        "--workers",
        "4",
        "--origin-timeout-ms",
        "0",
      ],
    ],
  ])("prints a config nginx -t accepts, without the secret: %s", (_, extra) => {
    const args = extra.map((arg) =>
      arg === "CLIENTS" ? join(dir, "clients.json") : arg === "CACHE" ? join(dir, "cache") : arg,
    );
    const printed = nginxConfig([
      "--origin-url",
      // An address: nginx resolves a name when it starts, and this machine may have no DNS.
      "https://127.0.0.1:8443/media",
      "--secret-file",
      join(dir, "secret"),
      "--prefix",
      join(dir, "run"),
      ...args,
    ]);
    expect(printed.err).toBe("");
    expect(printed.code).toBe(0);
    expect(printed.out).not.toContain("a-secret-worth-keeping");
    expect(printed.out).not.toContain("client-secret-one");
    expect(printed.out).toContain(`load_module '${JS_MODULE}';`);
    const verdict = nginxTest(dir, printed.out);
    expect(verdict.output).toMatch(/test is successful/);
    expect(verdict.ok).toBe(true);
  });

  // Outside attack: a `;` in ORIGIN_URL's path ended the proxy_pass directive early.
  it("quotes ORIGIN_URL's path, whatever it holds", () => {
    const printed = nginxConfig([
      "--origin-url",
      "http://127.0.0.1:9/a;b",
      "--secret-file",
      join(dir, "secret"),
      "--prefix",
      join(dir, "run"),
    ]);
    expect(printed.out).toContain("proxy_pass 'http://tokengate_origin/a;b$tokengate_target';");
    expect(nginxTest(dir, printed.out).ok).toBe(true);
  });

  // Outside attack: a body filter on every answer kept every byte served in njs's memory.
  it("filters the bodies of manifests only, in a location of their own", () => {
    const printed = nginxConfig([
      "--origin-url",
      "http://127.0.0.1:9",
      "--secret-file",
      join(dir, "secret"),
      "--prefix",
      join(dir, "run"),
      "--query-token-prefixes",
      "hls",
    ]);
    const filters = printed.out.split("\n").filter((line) => line.includes("js_body_filter"));
    expect(filters).toHaveLength(1);
    const manifestLocation = printed.out.slice(printed.out.indexOf("location @tokengate_manifest"));
    expect(manifestLocation.slice(0, manifestLocation.indexOf("}"))).toContain("js_body_filter");
    expect(nginxTest(dir, printed.out).ok).toBe(true);
  });

  it("keys the cache by the origin path the token was taken from", () => {
    const printed = nginxConfig([
      "--origin-url",
      "http://127.0.0.1:9",
      "--secret-file",
      join(dir, "secret"),
      "--prefix",
      join(dir, "run"),
      "--cache-dir",
      join(dir, "cache"),
    ]);
    // The key the module makes by CACHE_KEY_QUERY (the origin path without the token, and
    // the chosen query parameters) and the 1 MiB slice; an object kept from its second
    // request on.
    expect(printed.out).toMatch(/proxy_cache_key "\$tokengate_cache_key \$slice_range";/);
    expect(printed.out).toMatch(/proxy_cache_min_uses 2;/);
    expect(printed.out).toMatch(/proxy_pass '[^']*\$tokengate_target';/);
  });

  it.each([
    [[], /--secret-file is required/],
    [["--secret-file", "SECRET"], /--origin-url is required/],
    [["--secret-file", "SECRET", "--origin-url", "ftp://x"], /^tokengate: ORIGIN_URL: /],
    [["--secret-file", "SECRET", "--origin-url", "http://x/$host"], /ORIGIN_URL holds \$/],
    [["--secret-file", "SECRET", "--origin-url", "http://x", "--listen", "x"], /--listen/],
    [
      ["--secret-file", "SECRET", "--origin-url", "http://x", "--prefixes", "a/b"],
      /^tokengate: PREFIXES: /,
    ],
    [
      ["--secret-file", "/nonexistent/secret", "--origin-url", "http://x"],
      /--secret-file: cannot read/,
    ],
    [["--secret-file", "SECRET", "--origin-url", "http://x", "--bogus"], /bogus/],
  ])("refuses %j with one line naming the setting, and writes nothing", (args, message) => {
    const prefix = join(dir, "refused");
    const printed = nginxConfig([
      ...args.map((arg) => (arg === "SECRET" ? join(dir, "secret") : arg)),
      "--prefix",
      prefix,
    ]);
    expect(existsSync(prefix)).toBe(false);
    expect(printed.code).toBe(2);
    expect(printed.out).toBe("");
    expect(printed.err.trim().split("\n")).toHaveLength(1);
    expect(printed.err).toMatch(message);
    expect(printed.err).not.toContain("a-secret-worth-keeping");
  });
});

describe.skipIf(!here)("njs's native MD5, which the module uses", () => {
  let dir: string;
  let proc: ReturnType<typeof spawn>;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tokengate-md5-"));
    port = await freePort();
    writeFileSync(
      join(dir, "md5.js"),
      "import crypto from 'crypto';\n" +
        "function hash(r) { r.return(200, crypto.createHash('md5').update(decodeURIComponent(r.variables.arg_s)).digest('base64url')); }\n" +
        "export default { hash: hash };\n",
    );
    writeFileSync(
      join(dir, "nginx.conf"),
      `load_module ${JS_MODULE};\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\n` +
        `http { access_log off; client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;\n` +
        `js_path ${dir}; js_import m from md5.js;\n` +
        `server { listen 127.0.0.1:${port}; location / { js_content m.hash; } } }\n`,
    );
    proc = spawn(NGINX, ["-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "ignore" });
    for (let i = 0; i < 200; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/?s=a`).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
  afterAll(async () => {
    proc?.kill("SIGTERM");
    await new Promise((resolve) => proc?.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives the core's MD5 for every text a token hashes: any length, any character", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ unit: "grapheme", maxLength: 80 }),
          fc.string({ unit: "binary", maxLength: 80 }),
        ),
        async (text) => {
          const answer = await get(`http://127.0.0.1:${port}/?s=${encodeURIComponent(text)}`);
          expect(answer.body.toString(), JSON.stringify(text)).toBe(md5Base64url(text));
        },
      ),
      { numRuns: 300 },
    );
    // The IP-bound vector of Gcore's documentation.
    const answer = await get(
      `http://127.0.0.1:${port}/?s=${encodeURIComponent("2675_3dk4NsRt6vWsffEr_s3cr3t_1861919999_1.2.3.4")}`,
    );
    expect(answer.body.toString()).toBe(
      md5Base64url("2675_3dk4NsRt6vWsffEr_s3cr3t_1861919999_1.2.3.4"),
    );
  });
});

/**
 * An origin that records each request's headers and body bytes and says how long to keep
 * answers: a real static server's answers (`http-semantics.ts`: Range 206/416, conditionals,
 * HEAD), plus the hop-by-hop headers a careless one sends and, on request, an error status or
 * an internal redirect.
 */
async function recordingOrigin() {
  const seen: { url: string; headers: IncomingHttpHeaders; bodyBytes: number }[] = [];
  const server: Server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on("data", (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", headers: req.headers, bodyBytes });
      const body = Buffer.from(`content of ${req.url}`);
      const status = /status-(\d{3})/.exec(req.url ?? "")?.[1];
      // An origin that would have nginx follow a redirect inside itself.
      if (req.url?.includes("accel"))
        res.setHeader("x-accel-redirect", "/videos/2675_other/secret.ts");
      const header = headerReader(req.headers);
      const resource = {
        body,
        etag: `"${body.length}"`,
        lastModified: MODIFIED,
        headers: { "content-type": "video/mp2t", "cache-control": "public, max-age=60" },
      };
      const answer =
        status === undefined
          ? answerFor(req.method ?? "GET", header, resource)
          : { status: Number(status), headers: resource.headers, body };
      res.writeHead(answer.status, {
        ...answer.headers,
        ...(answer.body === undefined ? {} : { "content-length": answer.body.length }),
        "x-named": "hop",
        connection: "x-named",
        "proxy-connection": "keep-alive",
        te: "trailers",
        upgrade: "h2c",
      });
      res.end(req.method === "HEAD" ? undefined : answer.body);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

describe.skipIf(!here)("nginx with the njs module, as nginx-config prints it", () => {
  let origin: Awaited<ReturnType<typeof recordingOrigin>>;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  beforeAll(async () => {
    origin = await recordingOrigin();
    nginx = await startNginx({ ORIGIN_URL: `${origin.url}/base`, SECRET });
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
  });

  it("proxies a grant to the origin path under ORIGIN_URL's, without token, body or framing", async () => {
    const path = signedPath("720/seg-1.ts");
    const before = origin.seen.length;
    // A GET with a body: nginx would state its length to the origin without sending it.
    const res = await rawExchange(
      nginx.port,
      Buffer.from(
        `GET ${path}?part=2 HTTP/1.1\r\nHost: gate.test\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello`,
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body).toContain("content of /base/videos/2675_3dk4NsRt6vWsffEr/720/seg-1.ts?part=2");
    const seen = origin.seen.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.bodyBytes).toBe(0);
    expect(seen[0]!.headers["content-length"]).toBeUndefined();
    expect(seen[0]!.headers["transfer-encoding"]).toBeUndefined();
    expect(seen[0]!.headers.host).toBe(origin.url.slice("http://".length));
  });

  it("passes the client's headers by the header policy, and drops hop-by-hop answers", async () => {
    const before = origin.seen.length;
    const answer = await get(nginx.url + signedPath("a.ts"), {
      headers: {
        Range: "bytes=0-3",
        "X-Forwarded-For": "6.6.6.6",
        "X-Original-URL": "/videos/2675_other/x.ts",
        "X-Custom": "kept",
        Connection: "X-Custom",
      },
    });
    // The origin honours the Range: its 206 and the four bytes, passed on as they came.
    expect([answer.status, answer.body.toString()]).toEqual([206, "cont"]);
    expect(answer.headers["content-range"]).toMatch(/^bytes 0-3\/\d+$/);
    const headers = origin.seen[before]!.headers;
    expect(headers.range).toBe("bytes=0-3");
    expect(headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-original-url"]).toBeUndefined();
    // Named by the client's Connection: hop-by-hop for this message.
    expect(headers["x-custom"]).toBeUndefined();
    expect(answer.headers.trailer).toBeUndefined();
    expect(answer.headers["x-named"]).toBeUndefined();
    for (const name of ["proxy-connection", "te", "upgrade", "keep-alive"]) {
      expect(answer.headers[name], name).toBeUndefined();
    }
  });

  it("logs each request without its token", async () => {
    const path = signedPath("log-grant.ts");
    const token = path.split("/")[3]!;
    const refused = signedPath("log-refused.ts");
    await get(nginx.url + path);
    await get(nginx.url + refused.replace(refused.split("/")[3]!, "A".repeat(22)));
    const [granted, bad] = await loggedFor(nginx, ["/log-grant.ts", "/log-refused.ts"]);
    expect(nginx.accessLog().join("\n")).not.toContain(token);
    expect([granted, bad].map((line) => [line!.status, line!.reason])).toEqual([
      [200, ""],
      [403, "bad-token"],
    ]);
    expect(granted!.path).toBe(
      "/videos/2675_3dk4NsRt6vWsffEr/…/" + path.split("/")[4] + "/log-grant.ts",
    );
  });

  // Outside attack: with the client's Upgrade, nginx turned an origin's 101 into a raw tunnel
  // to the origin, through which the client asked for any path with any headers.
  it("proxies no request that asks to upgrade (nginx would tunnel an origin's 101)", async () => {
    const before = origin.seen.length;
    const answer = await get(nginx.url + signedPath("a.ts"), {
      headers: { Upgrade: "websocket", Connection: "Upgrade" },
    });
    expect(answer.status).toBe(403);
    expect(origin.seen.length).toBe(before);
  });

  // Outside attack: nginx leaves $server_protocol empty for HTTP/0.9, and a valid link was served.
  it("refuses an HTTP/0.9 request for a valid link without asking the origin", async () => {
    const before = origin.seen.length;
    const res = await rawExchange(nginx.port, Buffer.from(`GET ${signedPath("a.ts")}\r\n`));
    expect(res.head + res.body).toContain("Forbidden: malformed link");
    expect(origin.seen.length).toBe(before);
  });

  // Outside attack: nginx followed an origin's X-Accel-Redirect inside itself, to any path.
  it("does not follow an origin's X-Accel-Redirect", async () => {
    const before = origin.seen.length;
    const answer = await get(nginx.url + signedPath("accel.ts"));
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe("content of /base/videos/2675_3dk4NsRt6vWsffEr/accel.ts");
    expect(origin.seen.slice(before).map((s) => s.url)).toEqual([
      "/base/videos/2675_3dk4NsRt6vWsffEr/accel.ts",
    ]);
    expect(answer.headers["x-accel-redirect"]).toBeUndefined();
  });

  it("drops a small request body and refuses a large one (413) without a temporary file", async () => {
    const path = signedPath("body.ts");
    const send = (bytes: number) =>
      rawExchange(
        nginx.port,
        Buffer.from(
          `GET ${path} HTTP/1.1\r\nHost: g\r\nConnection: close\r\nContent-Length: ${bytes}\r\n\r\n${"x".repeat(bytes)}`,
        ),
      );
    expect((await send(1000)).status).toBe(200);
    expect((await send(100_000)).status).toBe(413);
    expect(nginx.errorLog()).not.toMatch(/client_body.*failed/);
  });

  // Outside attack: a 15 KB path of escapes cost the module 40 ms of CPU, token or not.
  it("refuses a path over 1024 characters before reading it, and logs only its length", async () => {
    const escapes = "%e4%b8%80".repeat(400);
    expect((await get(`${nginx.url}/videos/${escapes}`)).status).toBe(403);
    expect((await get(`${nginx.url}/zz/${escapes}`)).status).toBe(404);
    // Each long path is logged as its length only.
    const logged = await loggedFor(nginx, ["(a path of 3608", "(a path of 3604"]);
    expect(logged.map((line) => line.path)).toEqual([
      "(a path of 3608 characters)",
      "(a path of 3604 characters)",
    ]);
    const lines = nginx.accessLog();
    expect(lines.filter((line) => line.includes("%e4%b8%80"))).toEqual([]);
  });

  it("keeps its logs in a folder only its owner can read (nginx's error log quotes request lines)", () => {
    expect(statSync(join(nginx.dir, "run")).mode & 0o777).toBe(0o750);
  });

  // Outside attack: the module read SECRET's file on every request and the native path the
  // copy nginx-config made, so a revoked secret stayed good on one path. One source now: the
  // copy, changed by the rotation procedure (nginx-config again, then a reload).
  it("takes SECRET from nginx-config's copy on both paths: a change counts after nginx-config and a reload", async () => {
    const next = "the-next-secret";
    const plain = (secret?: string) => signedPath("r.ts", secret === undefined ? {} : { secret });
    // The same link with an escaped file name: the module's, not the native path's.
    const escaped = (secret?: string) => plain(secret).replace(/r\.ts$/, "%72.ts");
    const statuses = async (secret?: string) => [
      (await get(nginx.url + plain(secret))).status,
      (await get(nginx.url + escaped(secret))).status,
    ];
    writeFileSync(join(nginx.dir, "secret"), next);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await statuses()).toEqual([200, 200]);
      expect(await statuses(next)).toEqual([403, 403]);
      await nginx.reconfigure();
      expect(await statuses(next)).toEqual([200, 200]);
      expect(await statuses()).toEqual([403, 403]);
    } finally {
      writeFileSync(join(nginx.dir, "secret"), SECRET);
      await nginx.reconfigure();
    }
    expect(await statuses()).toEqual([200, 200]);
  });

  it("keeps granting when SECRET's file is gone, until nginx-config is run again (which refuses)", async () => {
    rmSync(join(nginx.dir, "secret"));
    try {
      expect((await get(nginx.url + signedPath("r.ts"))).status).toBe(200);
      expect((await get(nginx.url + signedPath("r.ts").replace(/r\.ts$/, "%72.ts"))).status).toBe(
        200,
      );
      await expect(nginx.reconfigure()).rejects.toThrow(/secret/);
    } finally {
      writeFileSync(join(nginx.dir, "secret"), SECRET, { mode: 0o644 });
    }
    expect(nginx.errorLog()).not.toContain(SECRET);
  });
});

describe.skipIf(!here)("nginx's answers when the origin fails", () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin({ slowHeadersMs: 2000 });
  });
  afterAll(async () => origin?.close());

  it("answers 502 with the other runtimes' body when the origin cannot be reached", async () => {
    const nginx = await startNginx({ ORIGIN_URL: `http://127.0.0.1:${await freePort()}`, SECRET });
    try {
      const answer = await get(nginx.url + signedPath("x.ts"));
      expect(answer.status).toBe(502);
      expect(answer.body.toString()).toBe("Bad Gateway: the origin could not be reached\n");
      expect(answer.headers["cache-control"]).toBe("no-store");
    } finally {
      await nginx.close();
    }
  });

  it("answers 504 when the origin's headers take longer than ORIGIN_TIMEOUT_MS", async () => {
    const nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET, ORIGIN_TIMEOUT_MS: "500" });
    try {
      const answer = await get(nginx.url + signedPath("slow-headers.ts"));
      expect(answer.status).toBe(504);
      expect(answer.body.toString()).toBe("Gateway Timeout: the origin did not answer in time\n");
    } finally {
      await nginx.close();
    }
  });
});

describe.skipIf(!here)("nginx's cache (--cache-dir)", () => {
  let origin: Awaited<ReturnType<typeof recordingOrigin>>;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let cacheDir: string;
  beforeAll(async () => {
    origin = await recordingOrigin();
    cacheDir = mkdtempSync(join(tmpdir(), "tokengate-cache-"));
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET }, ["--cache-dir", cacheDir]);
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("asks the origin once for many viewers' tokens, and says HIT", async () => {
    const now = Math.floor(Date.now() / 1000);
    const answers = [];
    for (let i = 0; i < 20; i++) {
      answers.push(
        await get(nginx.url + signedPath("cached.ts", { expires: now + 3600 + i }), {
          headers: { "X-Viewer": `viewer-${i}`, "User-Agent": "viewer", "Accept-Encoding": "gzip" },
        }),
      );
    }
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    // Kept from its second request on (proxy_cache_min_uses 2): the first streamed through.
    const fills = origin.seen.filter((s) => s.url.endsWith("/cached.ts")).slice(1);
    expect(fills).toHaveLength(1);
    // Outside attack: the fill carried the first viewer's headers, and its answer was kept for
    // all. It is asked in no viewer's words, uncompressed.
    expect(fills[0]!.headers["x-viewer"]).toBeUndefined();
    expect(fills[0]!.headers["user-agent"]).toBeUndefined();
    expect(fills[0]!.headers["accept-encoding"]).toBe("identity");
    expect(answers.slice(0, 2).map((a) => a.headers["x-cache"])).toEqual(["MISS", "MISS"]);
    expect(answers.slice(2).map((a) => a.headers["x-cache"])).toEqual(
      answers.slice(2).map(() => "HIT"),
    );
    // A wrong token is still refused: the cache is behind the decision.
    const bad = signedPath("cached.ts").replace(/\/[A-Za-z0-9_-]{22}\//, `/${"A".repeat(22)}/`);
    expect((await get(nginx.url + bad)).status).toBe(403);
  });

  // Outside attack: nginx kept a 404, 500 or 206 the origin marked cacheable, for everyone.
  it("keeps only a 200", async () => {
    const path = signedPath("status-404.ts");
    expect((await get(nginx.url + path)).status).toBe(404);
    const again = await get(nginx.url + path);
    expect(again.status).toBe(404);
    expect(again.headers["x-cache"]).toBe("MISS");
    expect(origin.seen.filter((s) => s.url.endsWith("/status-404.ts"))).toHaveLength(2);
  });

  it("serves a range from what it keeps, never asking the origin for it", async () => {
    // Twice: kept from its second request on.
    await get(nginx.url + signedPath("ranged.ts"));
    await get(nginx.url + signedPath("ranged.ts"));
    const before = origin.seen.length;
    const answer = await get(nginx.url + signedPath("ranged.ts"), {
      headers: { Range: "bytes=0-6" },
    });
    expect(answer.status).toBe(206);
    expect(answer.body.toString()).toBe("content");
    expect(origin.seen.length).toBe(before);
  });
});

// Outside attack: the cache asked the origin for the whole object on every miss, so a 1-byte
// Range of an object nginx does not keep (no Cache-Control or Expires, as static servers send
// by default) cost the whole file each time. Misses are fetched in 1 MiB slices.
describe.skipIf(!here)("nginx --cache-dir and ranges", () => {
  const MiB = 1024 * 1024;
  const SIZE = 32 * MiB;
  let origin: Origin;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let cacheDir: string;
  beforeAll(async () => {
    origin = await startOrigin();
    cacheDir = mkdtempSync(join(tmpdir(), "tokengate-slice-"));
    nginx = await startNginx({ ORIGIN_URL: origin.url, SECRET }, ["--cache-dir", cacheDir]);
  });
  afterAll(async () => {
    await nginx?.close();
    await origin?.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("costs the origin at most a slice per range it does not keep", async () => {
    origin.bigSent = 0;
    for (const [from, to] of [
      [0, 0],
      [0, 0],
      [0, 0],
      [20 * MiB + 5, 20 * MiB + 9],
      [SIZE - 1, SIZE - 1],
    ]) {
      const answer = await get(nginx.url + signedPath(`big-${SIZE}.ts`), {
        headers: { Range: `bytes=${from}-${to}` },
      });
      expect(answer.status).toBe(206);
      expect(answer.headers["content-range"]).toBe(`bytes ${from}-${to}/${SIZE}`);
      expect(answer.body.equals(bigChunk(from!, to! - from! + 1))).toBe(true);
    }
    // Let nginx finish reading what it asked for.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(origin.bigSent).toBeLessThanOrEqual(5 * MiB);
  });

  it("answers a whole object and a range across slices byte for byte", async () => {
    const size = 3 * MiB + 5;
    const whole = await get(nginx.url + signedPath(`big-${size}.ts`));
    expect([whole.status, whole.body.length]).toEqual([200, size]);
    expect(whole.body.equals(bigChunk(0, size))).toBe(true);
    const across = await get(nginx.url + signedPath(`big-${size}.ts`), {
      headers: { Range: `bytes=${MiB - 3}-${2 * MiB + 3}` },
    });
    expect(across.status).toBe(206);
    expect(across.body.equals(bigChunk(MiB - 3, MiB + 7))).toBe(true);
  });
});

describe.skipIf(!here)("the nginx module's build", () => {
  it("carries no pure MD5 of its own (njs's native one is the setting)", () => {
    const text = readFileSync("dist/nginx/tokengate.js", "utf8");
    expect(text).toMatch(/createHash\("md5"\)/);
    // The core's MD5 derives its constants from Math.sin (RFC 1321 §3.4).
    expect(text).not.toMatch(/Math\.sin/);
    expect(text).toMatch(/^export default \w+;$/m);
  });
});
