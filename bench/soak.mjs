// npm run soak — the Node gate under sustained mixed load, as users run it
// (`node dist/cli/index.js serve`), in front of a fast origin, both started here on 127.0.0.1
// and stopped at the end (also on SIGINT). SOAK_CONNECTIONS keep-alive connections (default 200)
// send valid links (200, 206 with Range, HEAD), tampered tokens (403), malformed links (403),
// traversal attempts (403), expired but correctly signed links (410), paths outside the prefixes
// (404), other methods (405) and /healthz, with every answer's status and bytes checked; beside
// them SOAK_SLOW clients read segments 1 KB every 100 ms and SOAK_DISCONNECT clients drop their
// connection in the middle of a 4 MiB body. Every second it samples the gate's RSS, open
// descriptors and CPU. Fails (exit 1) on any unexpected status, client error, error log line,
// request that reached the origin though refused, or growth of RSS or descriptors after warm-up
// (thresholds at LEAK_LIMITS). Settings (environment): SOAK_SECONDS (default 300),
// SOAK_CONNECTIONS (200), SOAK_SLOW (4), SOAK_DISCONNECT (4), SOAK_SEED (1), SOAK_SAMPLES (a file
// to write the per-second samples to, as JSON lines).
import { fork, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Client } from "undici";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "dist/cli/index.js");
const SECRET = "soak-secret-3f9c2a7e51";
const CLIENT_ID = "2675";
// One id with "_" in it: the video id may contain "_" (the client id is split at the first).
const VIDEOS = ["3dk4NsRt6vWsffEr", "soak_video_b", "c-9", "Zz0"];
const SEGMENTS = 24;
const BIG_FILE = "big.ts";
const BIG_SIZE = 4 * 1024 * 1024;
/**
 * Share of requests that ask to close their connection (`Connection: close`), as players leave
 * and others arrive: each connection carries some 200 requests, and the gate keeps accepting
 * new ones (~25 a second here) throughout the run.
 */
const CLOSING = 1 / 200;
const TICKS_PER_SECOND = 100; // USER_HZ, what /proc/<pid>/stat counts CPU time in on Linux

/**
 * When growth after warm-up counts as a leak. Two measures must both pass their limit: the
 * least-squares growth over the measured window (slope × window) and the difference between the
 * medians of the window's last and first quarters (half the limit: a steady leak moves them
 * apart by three quarters of its growth), so neither a lone spike at one end nor the fit of a
 * short, noisy window fails a run.
 *
 * RSS: 40 % of the level at the end of warm-up. A healthy gate's RSS reaches its level after
 * some 50,000 requests (about 10 s here, hence a warm-up of at least 10 s) and then moves with
 * V8's collections: in three full runs on this 2-core shared machine it stayed between -5 % and
 * +22 % of its level (fitted growth 0.3 % to 3.7 %). A 20-second smoke measures 10 s, and on a
 * loaded machine the heap may still be growing then: up to 25 % fitted and 20 % between
 * quarters was seen. 40 % clears that; in a 5-minute run a leak of about 60 bytes a request (at
 * ~4,500 requests/s) passes it, while the smoke catches only leaks of several KiB a request.
 *
 * Descriptors: twice the client connections. Each connection is one, and each may hold one
 * origin connection, so their count moves with throughput and connection churn (by up to ~300
 * within seconds here) but not by more than that. A descriptor leaked per disconnect or per reconnect passes it
 * within a minute; any leak at all shows in the idle check after the load, which must find the
 * descriptors of before it again (the origin connections close after their keep-alive).
 */
const LEAK_LIMITS = {
  rssFraction: 0.4,
  fdsPerClient: 2,
  /** Descriptors the idle gate may hold after the load beyond those it held before it. */
  idleFdSlack: 4,
};

// --- Content: the same bytes, deterministically, in the origin and in the clients' checks ---

function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A small seeded generator (mulberry32): the same mix of requests for the same SOAK_SEED. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const segmentFile = (n) => `720/seg-${n}.ts`;
/** 64–200 KiB, different for neighbouring segments. */
const segmentSize = (n) => (64 + ((n * 37) % 137)) * 1024;

function playlist(video, file) {
  const lines = ["#EXTM3U", `# ${video}/${file}`];
  if (file === "master.m3u8") {
    for (const [height, bandwidth] of [
      [1080, 5000000],
      [720, 2800000],
      [480, 1400000],
    ]) {
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},RESOLUTION=${height * 1.5}x${height}`);
      lines.push(`${height}/index.m3u8`);
    }
  } else {
    lines.push("#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:0");
    for (let n = 0; n < SEGMENTS; n++) lines.push("#EXTINF:6.000,", `seg-${n}.ts`);
    lines.push("#EXT-X-ENDLIST");
  }
  const text = lines.join("\n") + "\n";
  // Padded to ~1 KB, the size of a real media playlist.
  return Buffer.from(
    text.length < 1024 ? text + "#" + "-".repeat(1022 - text.length) + "\n" : text,
  );
}

/** Bytes of a binary file: its name, then xorshift32 noise seeded by the name. */
function binary(name, size) {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = fnv1a(name) | 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  const bytes = Buffer.from(words.buffer, 0, size);
  bytes.write(`${name}\n`, 0, "latin1");
  return bytes;
}

/** Every file the origin has, by `<video>/<file>`; made on first use. */
function catalogue() {
  const files = new Map();
  const names = ["master.m3u8", "720/index.m3u8", BIG_FILE];
  for (let n = 0; n < SEGMENTS; n++) names.push(segmentFile(n));
  for (const video of VIDEOS) for (const file of names) files.set(`${video}/${file}`, null);
  return {
    has: (key) => files.has(key),
    get(key) {
      let bytes = files.get(key);
      if (bytes === null) {
        const [video, ...rest] = key.split("/");
        const file = rest.join("/");
        if (file.endsWith(".m3u8")) bytes = playlist(video, file);
        else if (file === BIG_FILE) bytes = binary(key, BIG_SIZE);
        else bytes = binary(key, segmentSize(Number(/seg-(\d+)/.exec(file)[1])));
        files.set(key, bytes);
      }
      return bytes;
    },
  };
}

// --- The origin (a child process, so the load generator and the origin do not share a core) ---

function runOrigin() {
  const files = catalogue();
  const stats = { requests: 0, ranges: 0, aborted: 0, unexpected: 0, refusedReached: 0 };
  const samples = [];
  const note = (what) => samples.length < 10 && samples.push(what);
  // Node's default keep-alive (5 s): the gate's idle connections close soon after the load.
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    stats.requests++;
    const target = req.url ?? "";
    const query = target.indexOf("?");
    const path = query < 0 ? target : target.slice(0, query);
    // Refused requests carry this marker in their query: the gate must never forward one.
    if (query >= 0 && target.includes("soak=refused")) {
      stats.refusedReached++;
      note(`refused request reached the origin: ${req.method} ${target}`);
    }
    const match = /^\/(?:videos|cmaf)\/2675_([^/]+)\/(.+)$/.exec(path);
    const key = match ? `${match[1]}/${match[2]}` : "";
    if (!files.has(key) || (req.method !== "GET" && req.method !== "HEAD")) {
      stats.unexpected++;
      note(`unexpected origin request: ${req.method} ${target}`);
      res.writeHead(404, { "content-type": "text/plain" }).end("no such file\n");
      return;
    }
    const bytes = files.get(key);
    const type = key.endsWith(".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t";
    let body = bytes;
    let status = 200;
    const headers = { "content-type": type, "accept-ranges": "bytes" };
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (range) {
      stats.ranges++;
      const first = Number(range[1]);
      const last = Math.min(Number(range[2]), bytes.length - 1);
      status = 206;
      body = bytes.subarray(first, last + 1);
      headers["content-range"] = `bytes ${first}-${last}/${bytes.length}`;
    }
    headers["content-length"] = String(body.length);
    res.on("close", () => {
      if (!res.writableFinished) stats.aborted++;
    });
    res.writeHead(status, headers);
    if (req.method === "HEAD") return void res.end();
    // In 64 KiB writes with back-pressure, as a file server streams: a gate that stops reading
    // holds the origin back rather than letting it buffer a whole file.
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const end = Math.min(offset + 65_536, body.length);
        const more = res.write(body.subarray(offset, end));
        offset = end;
        if (!more) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  server.listen(0, "127.0.0.1", () =>
    process.send({ type: "listening", port: server.address().port }),
  );
  process.on("message", (message) => {
    if (message.type === "stats") process.send({ type: "stats", stats, samples });
  });
  process.on("disconnect", () => process.exit(0));
}

// --- Child processes: started here, all ended on exit ---

const children = new Set();
/** Directories made here (the secret file's), removed on exit. */
const directories = new Set();

function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode);
  }
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function stopChild(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const code = await exited(child);
  clearTimeout(timer);
  return code;
}

/** In the soak's own process only (the origin child runs this file too). */
function endChildrenOnExit() {
  process.on("exit", () => {
    for (const child of children) child.kill("SIGKILL");
    for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      console.error(`soak: ${signal}, stopping`);
      void Promise.all([...children].map((child) => stopChild(child, 3_000))).finally(() =>
        process.exit(130),
      );
    });
  }
}

async function startOrigin() {
  const child = track(fork(fileURLToPath(import.meta.url), ["--origin"], { stdio: "inherit" }));
  const port = await new Promise((resolve, reject) => {
    child.once("message", (message) => resolve(message.port));
    child.once("exit", () => reject(new Error("the origin exited before listening")));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    stats: () =>
      new Promise((resolve) => {
        child.once("message", resolve);
        child.send({ type: "stats" });
      }),
  };
}

/** The gate as users run it, its stdout read line by line into `onLine`. */
async function startGate(originUrl, secretFile, onLine) {
  const child = track(
    spawn(process.execPath, [CLI, "serve", "--port", "0", "--secret-file", secretFile], {
      // One load generator stands for 200 clients: no per-address share; metrics on a port of
      // their own choosing, as the default one may be taken.
      env: {
        PATH: process.env.PATH,
        ORIGIN_URL: originUrl,
        LOG_FORMAT: "json",
        REQUESTS_PER_CLIENT: "0",
        METRICS_LISTEN: "127.0.0.1:0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const stderr = [];
  child.stderr.setEncoding("utf8").on("data", (text) => stderr.push(text));
  let buffer = "";
  let resolveUrl;
  const listening = new Promise((resolve, reject) => {
    resolveUrl = resolve;
    child.once("exit", (code) =>
      reject(new Error(`the gate exited (${code}): ${stderr.join("")}`)),
    );
    setTimeout(() => reject(new Error("the gate did not listen within 15 s")), 15_000).unref();
  });
  child.stdout.setEncoding("utf8").on("data", (text) => {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (url) resolveUrl(url[1]);
      onLine(line);
    }
  });
  const url = await listening;
  return { child, url, pid: child.pid, stderr };
}

// --- The gate's process, from /proc ---

function procSample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  return { rssKiB, fds, cpuTicks };
}

// --- The requests ---

/**
 * Every kind of request in the mix, with its weight (per 100) and what the gate must answer.
 * `make(rand)` returns { method, path, headers?, body? (the bytes a 200/206 must carry) }.
 */
function requestKinds(links) {
  const files = links.files;
  const pick = (rand, list) => list[Math.floor(rand() * list.length)];
  const refused = (path) => `${path}?soak=refused`;
  const video = (rand) => pick(rand, VIDEOS);
  const segment = (rand) => Math.floor(rand() * SEGMENTS);
  const kinds = [
    {
      name: "valid playlist",
      weight: 22,
      status: 200,
      make(rand) {
        const v = video(rand);
        const file = rand() < 0.5 ? "master.m3u8" : "720/index.m3u8";
        const query = rand() < 0.3 ? `?session=${Math.floor(rand() * 1e6)}` : "";
        const kind = rand() < 0.2 ? "cmaf" : "videos";
        return {
          method: "GET",
          path: links.valid(v, file, kind) + query,
          body: files.get(`${v}/${file}`),
        };
      },
    },
    {
      name: "valid segment",
      weight: 18,
      status: 200,
      make(rand) {
        const v = video(rand);
        const file = segmentFile(segment(rand));
        return { method: "GET", path: links.valid(v, file), body: files.get(`${v}/${file}`) };
      },
    },
    {
      name: "valid range",
      weight: 10,
      status: 206,
      make(rand) {
        const v = video(rand);
        const file = segmentFile(segment(rand));
        const bytes = files.get(`${v}/${file}`);
        const first = Math.floor(rand() * (bytes.length - 1));
        const last = Math.min(bytes.length - 1, first + Math.floor(rand() * 65_536));
        return {
          method: "GET",
          path: links.valid(v, file),
          headers: { range: `bytes=${first}-${last}` },
          body: bytes.subarray(first, last + 1),
          contentRange: `bytes ${first}-${last}/${bytes.length}`,
        };
      },
    },
    {
      name: "valid HEAD",
      weight: 4,
      status: 200,
      make(rand) {
        const v = video(rand);
        const file = segmentFile(segment(rand));
        const size = files.get(`${v}/${file}`).length;
        return { method: "HEAD", path: links.valid(v, file), body: Buffer.alloc(0), length: size };
      },
    },
    {
      name: "tampered token",
      weight: 10,
      status: 403,
      make(rand) {
        const v = video(rand);
        const { token, expires } = links.signed(v);
        const file = segmentFile(segment(rand));
        const at = Math.floor(rand() * 22);
        const flipped = token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
        const other = links.signed(VIDEOS[(VIDEOS.indexOf(v) + 1) % VIDEOS.length]).token;
        const expired = links.expired(v);
        const variants = [
          `/videos/${CLIENT_ID}_${v}/${flipped}/${expires}/${file}`,
          // Another video's valid token.
          `/videos/${CLIENT_ID}_${v}/${other}/${expires}/${file}`,
          // A valid token with its expiry moved on by a second.
          `/videos/${CLIENT_ID}_${v}/${token}/${BigInt(expires) + 1n}/${file}`,
          // Wrong token on an expired link: 403, not 410.
          `/videos/${CLIENT_ID}_${v}/${flipped}/${expired.expires}/${file}`,
          // A valid token for another client id.
          `/videos/2676_${v}/${token}/${expires}/${file}`,
        ];
        return { method: "GET", path: refused(pick(rand, variants)) };
      },
    },
    {
      name: "malformed",
      weight: 8,
      status: 403,
      make(rand) {
        const v = video(rand);
        const { token, expires } = links.signed(v);
        const base = `/videos/${CLIENT_ID}_${v}`;
        const variants = [
          `${base}/${token.slice(0, 21)}/${expires}/master.m3u8`,
          `${base}/${token}A/${expires}/master.m3u8`,
          `${base}/${token.slice(0, 21)}!/${expires}/master.m3u8`,
          `${base}/${token}/0${expires}/master.m3u8`,
          `${base}/${token}/soon/master.m3u8`,
          `${base}/${token}/99999999999999999999/master.m3u8`,
          `${base}/${token}/${expires}/`,
          `${base}/${token}/${expires}`,
          `/videos/${CLIENT_ID}/${token}/${expires}/master.m3u8`,
          `/videos/${CLIENT_ID}_/${token}/${expires}/master.m3u8`,
          `/videos/_${v}/${token}/${expires}/master.m3u8`,
          `${base}/${expires}/master.m3u8`,
          `${base}/%zz/${expires}/master.m3u8`,
        ];
        return { method: "GET", path: refused(pick(rand, variants)) };
      },
    },
    {
      name: "traversal",
      weight: 8,
      status: 403,
      make(rand) {
        const v = video(rand);
        const link = links.prefix(v);
        const variants = [
          `${link}/../../2675_${VIDEOS[0]}/master.m3u8`,
          `${link}/720/../../../etc/passwd`,
          `${link}/720/%2e%2e/%2e%2e/secret.ts`,
          `${link}/720/%2E./seg-1.ts`,
          `${link}/..;x/720/seg-1.ts`,
          `${link}/720/.%3bx/seg-1.ts`,
          `${link}/720%2f..%2f..%2fseg-1.ts`,
          `${link}/720%5c..%5cseg-1.ts`,
          `${link}/720\\..\\seg-1.ts`,
          `${link}/720//seg-1.ts`,
          `${link}/720/./seg-1.ts`,
          `${link}/720/seg-1.ts%00.m3u8`,
          `${link}/%c0%ae%c0%ae/seg-1.ts`,
          `${link}/%ef%bc%8e%ef%bc%8e/seg-1.ts`,
          `${link}/;x/seg-1.ts`,
          `/videos/../etc/passwd`,
          `/videos/${CLIENT_ID}_${v}/../../etc/passwd`,
        ];
        return { method: "GET", path: refused(pick(rand, variants)) };
      },
    },
    {
      name: "expired",
      weight: 10,
      status: 410,
      make(rand) {
        const v = video(rand);
        const { token, expires } = links.expired(v);
        const file = rand() < 0.5 ? "master.m3u8" : segmentFile(segment(rand));
        return {
          method: "GET",
          path: refused(`/videos/${CLIENT_ID}_${v}/${token}/${expires}/${file}`),
        };
      },
    },
    {
      name: "outside prefixes",
      weight: 6,
      status: 404,
      make(rand) {
        const v = video(rand);
        const { token, expires } = links.signed(v);
        const variants = [
          "/",
          "/favicon.ico",
          "/robots.txt",
          "/static/app.js",
          `/video/${CLIENT_ID}_${v}/${token}/${expires}/master.m3u8`,
          `/videosx/${CLIENT_ID}_${v}/${token}/${expires}/master.m3u8`,
          `/hls/${CLIENT_ID}_${v}/${token}/${expires}/seg-1.ts`,
          // An empty first segment is no prefix: the table's first row, before any path check.
          `//videos/${CLIENT_ID}_${v}/${token}/${expires}/master.m3u8`,
        ];
        return { method: "GET", path: refused(pick(rand, variants)) };
      },
    },
    {
      name: "other method",
      weight: 2,
      status: 405,
      make(rand) {
        const v = video(rand);
        return {
          method: pick(rand, ["DELETE", "POST", "PUT"]),
          path: refused(links.valid(v, "master.m3u8")),
        };
      },
    },
    {
      name: "healthz",
      weight: 2,
      status: 200,
      make: () => ({ method: "GET", path: "/healthz", body: Buffer.from("ok") }),
    },
  ];
  const total = kinds.reduce((sum, kind) => sum + kind.weight, 0);
  return {
    kinds,
    /** A kind chosen by weight. */
    choose(rand) {
      let at = rand() * total;
      for (const kind of kinds) if ((at -= kind.weight) < 0) return kind;
      return kinds.at(-1);
    },
  };
}

/** The links of the run, signed with the built `tokengate/sign` as a backend would. */
async function signedLinks(secret, seconds) {
  const { signLink } = await import(new URL("../dist/sign.js", import.meta.url).href);
  const now = Math.floor(Date.now() / 1000);
  const parts = (video, expires) => {
    const path = signLink({ clientId: CLIENT_ID, videoId: video, secret, expires, file: "x" });
    const [, , , token, expiresText] = path.split("/");
    return { token, expires: expiresText };
  };
  // Valid for the whole run and an hour beyond; expired an hour ago.
  const valid = new Map(VIDEOS.map((v) => [v, parts(v, now + seconds + 3600)]));
  const expired = new Map(VIDEOS.map((v) => [v, parts(v, now - 3600)]));
  return {
    files: catalogue(),
    signed: (video) => valid.get(video),
    expired: (video) => expired.get(video),
    prefix(video) {
      const { token, expires } = valid.get(video);
      return `/videos/${CLIENT_ID}_${video}/${token}/${expires}`;
    },
    valid(video, file, kind = "videos") {
      const { token, expires } = valid.get(video);
      return `/${kind}/${CLIENT_ID}_${video}/${token}/${expires}/${file}`;
    },
    /** Every token that verifies (valid and expired): none may show in a log line or answer. */
    tokens: [...valid.values(), ...expired.values()].map((signed) => signed.token),
  };
}

// --- Tallies ---

function tallies() {
  const byKind = new Map();
  const failures = [];
  let failureCount = 0;
  return {
    byKind,
    failures,
    get failureCount() {
      return failureCount;
    },
    kind(name, expected) {
      let entry = byKind.get(name);
      if (entry === undefined) {
        entry = { name, expected, sent: 0, asExpected: 0, got: new Map(), errors: 0 };
        byKind.set(name, entry);
      }
      return entry;
    },
    fail(what) {
      failureCount++;
      if (failures.length < 25) failures.push(what);
    },
  };
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};

/** Growth of one measure over the window after warm-up; `limitOf(level)` gives its limit. */
function growth(samples, key, warmup, limitOf) {
  const before = samples.filter((s) => s.t <= warmup && s.t > warmup - 5).map((s) => s[key]);
  const window = samples.filter((s) => s.t > warmup);
  const level = median(before);
  const minutes = window.length > 1 ? (window.at(-1).t - window[0].t) / 60 : 0;
  const perMinute = slope(
    window.map((s) => s.t / 60),
    window.map((s) => s[key]),
  );
  const quarter = Math.max(1, Math.floor(window.length / 4));
  const firstQuarter = median(window.slice(0, quarter).map((s) => s[key]));
  const lastQuarter = median(window.slice(-quarter).map((s) => s[key]));
  const limit = limitOf(level);
  const fitted = perMinute * minutes;
  const stepped = lastQuarter - firstQuarter;
  return {
    warmupLevel: level,
    perMinute: Math.round(perMinute * 10) / 10,
    windowMinutes: Math.round(minutes * 100) / 100,
    fittedGrowth: Math.round(fitted),
    quarterGrowth: Math.round(stepped),
    growthPercent: Math.round((fitted / level) * 1000) / 10,
    limit: Math.round(limit),
    // A steady leak moves the quarters' medians apart by three quarters of its growth.
    leak: fitted > limit && stepped > limit / 2,
  };
}

// --- Clients ---

/** Reads a whole undici body into one Buffer. */
async function readBody(body) {
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** Everything the gate sent back must be free of the secret and of any token that verifies. */
function leakIn(text, tokens) {
  if (text.includes(SECRET)) return "the secret";
  for (const token of tokens) if (text.includes(token)) return "a valid token";
  return undefined;
}

/**
 * Request latencies (ms) by class; `…Kept` are those that found their connection open, apart
 * from `connecting` ones, which opened it first (see CLOSING).
 */
const latencyLists = () => ({
  valid: [],
  refused: [],
  validKept: [],
  refusedKept: [],
  connecting: [],
});

/** A keep-alive connection of the load, counting the connections it opened. */
function user(url, options) {
  const client = new Client(url, options);
  const self = { client, connects: 0 };
  client.on("connect", () => self.connects++);
  return self;
}

/**
 * One request on a user's connection, checked against its kind. Latencies go to `valid` or
 * `refused`, and those of requests that had to open a connection first also to `connecting`.
 */
async function exchange(connection, kind, request, tally, latencies, tokens) {
  const entry = tally.kind(kind.name, kind.status);
  entry.sent++;
  const { client } = connection;
  const connectsBefore = connection.connects;
  const started = performance.now();
  let answer;
  let body;
  try {
    answer = await client.request({
      method: request.method,
      path: request.path,
      headers: request.headers,
      // undici closes a connection after a HEAD unless told not to; closing is chosen here.
      reset: request.close === true,
    });
    body = await readBody(answer.body);
  } catch (error) {
    entry.errors++;
    tally.fail(`${kind.name}: ${request.method} error ${error.code ?? error.message}`);
    return false;
  }
  const ms = performance.now() - started;
  const status = answer.statusCode;
  entry.got.set(status, (entry.got.get(status) ?? 0) + 1);
  const problem = check(kind, request, status, answer.headers, body, tokens);
  if (problem) {
    tally.fail(`${kind.name}: ${request.method} ${redact(request.path, tokens)}: ${problem}`);
    return true;
  }
  entry.asExpected++;
  const valid = kind.status < 300 && kind.name !== "healthz";
  (valid ? latencies.valid : latencies.refused).push(ms);
  if (connection.connects !== connectsBefore) latencies.connecting.push(ms);
  else (valid ? latencies.validKept : latencies.refusedKept).push(ms);
  return true;
}

function check(kind, request, status, headers, body, tokens) {
  if (status !== kind.status) return `status ${status}, expected ${kind.status}`;
  if (request.body !== undefined) {
    if (request.length !== undefined && Number(headers["content-length"]) !== request.length) {
      return `content-length ${headers["content-length"]}, expected ${request.length}`;
    }
    if (!body.equals(request.body)) {
      return `body of ${body.length} bytes differs from the origin's ${request.body.length}`;
    }
    if (request.contentRange && headers["content-range"] !== request.contentRange) {
      return `content-range ${headers["content-range"]}, expected ${request.contentRange}`;
    }
    return undefined;
  }
  // A refusal: one short line of plain text, not to be cached, carrying no secret.
  if (!/no-store/.test(headers["cache-control"] ?? "")) return "refusal without no-store";
  if (body.length > 200) return `refusal body of ${body.length} bytes`;
  if (status === 405 && headers.allow !== "GET, HEAD") return `405 with Allow ${headers.allow}`;
  const leak = leakIn(JSON.stringify(headers) + body.toString("latin1"), tokens);
  return leak && `refusal carries ${leak}`;
}

/** A path for the report, without a token that verifies. */
function redact(path, tokens) {
  let out = path;
  for (const token of tokens) out = out.split(token).join("<token>");
  return out;
}

/**
 * A GET on a connection of its own (`Connection: close`), by hand on a socket. It reads as fast
 * as it can, or 1 KiB every 100 ms when `slow`; with `cutAfter` it drops the connection once
 * that many body bytes came (0: right after sending), with a FIN or, `cutWith: "reset"`, a RST.
 * Resolves with { head, body }, { cut, head } or, when the run stops it, { stopped, head }.
 */
function rawExchange(gate, path, { slow = false, cutAfter, cutWith = "destroy" } = {}) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: gate.port });
    socket.setNoDelay(true);
    const chunks = [];
    let received = 0;
    let head;
    let bodyStart = 0;
    let timer;
    let idle;
    const done = (result, error) => {
      clearInterval(timer);
      clearTimeout(idle);
      gate.rawSockets.delete(socket);
      if (error) {
        socket.destroy();
        return reject(error);
      }
      if (result.cut) {
        if (cutWith === "reset") socket.resetAndDestroy();
        else socket.destroy();
      } else socket.destroy();
      resolve(result);
    };
    const watchdog = () => {
      clearTimeout(idle);
      // Nothing for 30 s means the gate stalled this client.
      idle = setTimeout(() => done(null, new Error("no bytes for 30 s")), 30_000);
    };
    gate.rawSockets.set(socket, () => done({ stopped: true, head }));
    const take = (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      watchdog();
      if (head === undefined) {
        const all = Buffer.concat(chunks);
        const end = all.indexOf("\r\n\r\n");
        if (end < 0) return;
        const text = all.subarray(0, end).toString("latin1");
        const lines = text.split("\r\n");
        const headers = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        head = { status: Number(lines[0].split(" ")[1]), headers };
        bodyStart = end + 4;
      }
      const bodyBytes = received - bodyStart;
      if (cutAfter !== undefined && bodyBytes >= cutAfter) return done({ cut: true, head });
      const length = Number(head.headers["content-length"]);
      if (Number.isFinite(length) && bodyBytes >= length) {
        done({ head, body: Buffer.concat(chunks).subarray(bodyStart, bodyStart + length) });
      }
    };
    socket.on("error", (error) => done(null, error));
    socket.on("close", () => {
      if (gate.rawSockets.has(socket)) {
        done(null, new Error(`closed after ${received} bytes${head ? "" : ", before a head"}`));
      }
    });
    socket.on("connect", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      watchdog();
      if (cutAfter === 0) return done({ cut: true });
      if (!slow) return void socket.on("data", take);
      // Paused: nothing is read beyond the stream's buffer, so the kernel's buffers fill and
      // the gate sees a reader that takes 10 KiB/s.
      timer = setInterval(() => {
        const chunk = socket.read(1024);
        if (chunk !== null) take(chunk);
      }, 100);
    });
  });
}

// --- The run ---

async function main() {
  const seconds = Number(process.env.SOAK_SECONDS ?? 300);
  const connections = Number(process.env.SOAK_CONNECTIONS ?? 200);
  const slowClients = Number(process.env.SOAK_SLOW ?? 4);
  const disconnectClients = Number(process.env.SOAK_DISCONNECT ?? 4);
  const seed = Number(process.env.SOAK_SEED ?? 1);
  // The first 20 % of the run, at least 10 s: RSS reaches its level within about 10 s of load.
  const warmup = Math.max(10, seconds * 0.2);
  const failures = [];

  endChildrenOnExit();
  if (!existsSync(CLI))
    throw new Error("dist/ is missing: npm run build first (npm run soak does)");
  const dir = mkdtempSync(join(tmpdir(), "tokengate-soak-"));
  directories.add(dir);
  const secretFile = join(dir, "secret");
  writeFileSync(secretFile, SECRET + "\n", { mode: 0o600 });
  const links = await signedLinks(SECRET, seconds);
  const { kinds, choose } = requestKinds(links);

  const log = { lines: 0, access: 0, byStatus: new Map(), errors: [], leaks: 0 };
  const onLine = (line) => {
    log.lines++;
    if (leakIn(line, links.tokens)) log.leaks++;
    const status = /"status":(\d+)/.exec(line);
    if (status) {
      log.access++;
      log.byStatus.set(Number(status[1]), (log.byStatus.get(Number(status[1])) ?? 0) + 1);
    } else if (line.includes('"level":"error"') || !line.startsWith("{")) {
      if (log.errors.length < 10) log.errors.push(redact(line, links.tokens));
      else log.errors.push("…");
    }
  };

  const origin = await startOrigin();
  const gateProc = await startGate(origin.url, secretFile, onLine);
  const gate = { port: Number(gateProc.url.split(":").at(-1)), rawSockets: new Map() };
  console.log(
    `soak: gate ${gateProc.url} (pid ${gateProc.pid}), origin ${origin.url}; ${seconds} s, ` +
      `${connections} connections + ${slowClients} slow + ${disconnectClients} disconnecting`,
  );

  const tally = tallies();
  const latencies = latencyLists();
  let completed = 0;
  let clientConnects = 0;
  const clientOptions = {
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    keepAliveTimeout: 60_000,
  };

  // Every kind a few times before anything is timed: a wrong expectation shows here, alone.
  const preflight = user(gateProc.url, clientOptions);
  const preRand = random(seed + 1000);
  for (const kind of kinds) {
    for (let i = 0; i < 3; i++)
      await exchange(preflight, kind, kind.make(preRand), tally, latencies, links.tokens);
  }
  await preflight.client.close();
  if (tally.failureCount > 0) {
    console.error("soak: preflight failed:\n  " + tally.failures.join("\n  "));
    await stopChild(gateProc.child, 15_000);
    await stopChild(origin.child, 3_000);
    process.exitCode = 1;
    return;
  }
  // The preflight is not part of the run's figures.
  tally.byKind.clear();
  for (const list of Object.values(latencies)) list.length = 0;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idleBefore = procSample(gateProc.pid);
  const logBefore = { access: log.access, byStatus: new Map(log.byStatus) };

  let stopping = false;
  // The load generator's own lag and CPU: when it is saturated, the figures measure it too.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const samples = [];
  const started = performance.now();
  let lastCompleted = 0;
  const sampler = setInterval(() => {
    const t = (performance.now() - started) / 1000;
    try {
      samples.push({ t, ...procSample(gateProc.pid), completed: completed - lastCompleted });
    } catch (error) {
      failures.push(`sampling the gate failed: ${error.message}`);
    }
    lastCompleted = completed;
  }, 1000);

  const users = Array.from({ length: connections }, async (_, i) => {
    const rand = random(seed * 100_003 + i);
    const connection = user(gateProc.url, clientOptions);
    // Connections open over the first second, as players arrive, not in one burst.
    await new Promise((resolve) => setTimeout(resolve, rand() * 1000));
    while (!stopping) {
      const kind = choose(rand);
      const request = kind.make(rand);
      request.close = rand() < CLOSING;
      if (await exchange(connection, kind, request, tally, latencies, links.tokens)) completed++;
    }
    clientConnects += connection.connects;
    await connection.client.close();
  });

  const slowStats = { completed: 0, stopped: 0 };
  const slowEntry = tally.kind("slow reader", 200);
  const slow = Array.from({ length: slowClients }, async (_, i) => {
    const rand = random(seed * 7_919 + i);
    while (!stopping) {
      const v = VIDEOS[Math.floor(rand() * VIDEOS.length)];
      const file = segmentFile(Math.floor(rand() * SEGMENTS));
      try {
        const result = await rawExchange(gate, links.valid(v, file), { slow: true });
        // Stopped by the run's end: not judged.
        if (result.stopped) {
          slowStats.stopped++;
          break;
        }
        slowEntry.sent++;
        const status = result.head.status;
        slowEntry.got.set(status, (slowEntry.got.get(status) ?? 0) + 1);
        if (status !== 200 || !result.body.equals(links.files.get(`${v}/${file}`))) {
          tally.fail(`slow reader: status ${status}, ${result.body.length} body bytes`);
        } else {
          slowEntry.asExpected++;
          slowStats.completed++;
          completed++;
        }
      } catch (error) {
        slowEntry.sent++;
        slowEntry.errors++;
        tally.fail(`slow reader: ${error.message}`);
      }
    }
  });

  const cutStats = { midBody: 0, beforeHead: 0, stopped: 0 };
  const disconnecting = Array.from({ length: disconnectClients }, async (_, i) => {
    const rand = random(seed * 104_729 + i);
    while (!stopping) {
      const v = VIDEOS[Math.floor(rand() * VIDEOS.length)];
      // One in four goes before any answer; the rest in the middle of a 4 MiB body, with a FIN
      // or a RST.
      const early = rand() < 0.25;
      const cutAfter = early ? 0 : 16_384 + Math.floor(rand() * (BIG_SIZE / 2));
      const cutWith = rand() < 0.5 ? "reset" : "destroy";
      const entry = tally.kind(
        early ? "disconnect before answer" : "disconnect mid-body",
        early ? 0 : 200,
      );
      entry.sent++;
      try {
        const result = await rawExchange(gate, links.valid(v, BIG_FILE), { cutAfter, cutWith });
        if (result.stopped) {
          entry.sent--;
          cutStats.stopped++;
          break;
        }
        if (early) {
          cutStats.beforeHead++;
          entry.asExpected++;
        } else {
          cutStats.midBody++;
          const status = result.head.status;
          entry.got.set(status, (entry.got.get(status) ?? 0) + 1);
          if (status === 200) entry.asExpected++;
          else tally.fail(`disconnect mid-body: status ${status}`);
        }
        completed++;
      } catch (error) {
        entry.errors++;
        tally.fail(`disconnecting client: ${error.message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50 + rand() * 100));
    }
  });

  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stopping = true;
  const loadSeconds = (performance.now() - started) / 1000;
  loopDelay.disable();
  const generatorCpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  // Slow readers mid-body are stopped (they could take 20 s more); the rest finish their request.
  for (const stop of gate.rawSockets.values()) stop();
  await Promise.all([...users, ...slow, ...disconnecting]);

  // Access-log lines of the load: those written by now (the last answers' lines are flushed
  // within a turn of the gate's event loop).
  await new Promise((resolve) => setTimeout(resolve, 500));
  const loadLog = { access: log.access - logBefore.access, byStatus: new Map(log.byStatus) };
  for (const [status, count] of logBefore.byStatus) {
    loadLog.byStatus.set(status, loadLog.byStatus.get(status) - count);
  }

  // With the clients gone and the origin connections past their keep-alive, the gate must be
  // back to the descriptors it had before the load.
  let idleAfter = procSample(gateProc.pid);
  const idleWaitStarted = performance.now();
  while (
    idleAfter.fds > idleBefore.fds + LEAK_LIMITS.idleFdSlack &&
    performance.now() - idleWaitStarted < 20_000
  ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    idleAfter = procSample(gateProc.pid);
  }
  const idleWaitSeconds = (performance.now() - idleWaitStarted) / 1000;

  // Still serving every kind as before the load.
  const after = user(gateProc.url, clientOptions);
  const postRand = random(seed + 2000);
  const postflight = tallies();
  const discard = latencyLists();
  for (const kind of kinds) {
    await exchange(after, kind, kind.make(postRand), postflight, discard, links.tokens);
  }
  await after.client.close();
  if (postflight.failureCount > 0) {
    failures.push(`after the load: ${postflight.failures.join("; ")}`);
  }

  const gateExit = await stopChild(gateProc.child, 15_000);
  const originStats = await origin.stats();
  await stopChild(origin.child, 3_000);

  // --- Judgement ---
  if (tally.failureCount > 0) {
    failures.push(`${tally.failureCount} unexpected answers or client errors`);
  }
  if (log.errors.length > 0) failures.push(`${log.errors.length} error lines in the gate's log`);
  if (gateProc.stderr.join("").trim() !== "") {
    failures.push(`the gate wrote to stderr: ${gateProc.stderr.join("").slice(0, 500)}`);
  }
  if (log.leaks > 0) failures.push(`${log.leaks} log lines carry the secret or a valid token`);
  if (originStats.stats.refusedReached > 0 || originStats.stats.unexpected > 0) {
    failures.push(`origin: ${originStats.samples.join("; ")}`);
  }
  if (gateExit !== 0) failures.push(`the gate exited with ${gateExit} on SIGTERM`);
  // Every answer a client saw is one access-log line with its status. Requests no client saw
  // answered (dropped before an answer, or stopped at the end) may add a line each, 499 or not.
  const answered = new Map();
  let answeredTotal = 0;
  for (const entry of tally.byKind.values()) {
    for (const [status, count] of entry.got) {
      answered.set(status, (answered.get(status) ?? 0) + count);
      answeredTotal += count;
    }
  }
  const unseen = cutStats.beforeHead + cutStats.stopped + slowStats.stopped;
  const logMismatch = [];
  for (const [status, count] of answered) {
    const inLog = loadLog.byStatus.get(status) ?? 0;
    if (inLog < count) logMismatch.push(`${count} answered ${status}, ${inLog} logged`);
  }
  const extraLines = loadLog.access - answeredTotal;
  if (extraLines < 0 || extraLines > unseen) {
    logMismatch.push(`${loadLog.access} lines for ${answeredTotal} answers and ${unseen} unseen`);
  }
  if (logMismatch.length > 0) failures.push(`access log vs answers: ${logMismatch.join(", ")}`);

  const rss = growth(samples, "rssKiB", warmup, (level) => LEAK_LIMITS.rssFraction * level);
  const clients = connections + slowClients + disconnectClients;
  const fds = growth(samples, "fds", warmup, () => LEAK_LIMITS.fdsPerClient * clients);
  if (rss.leak)
    failures.push(`RSS grew ${rss.fittedGrowth} KiB after warm-up (limit ${rss.limit})`);
  if (fds.leak)
    failures.push(`descriptors grew ${fds.fittedGrowth} after warm-up (limit ${fds.limit})`);
  if (idleAfter.fds > idleBefore.fds + LEAK_LIMITS.idleFdSlack) {
    failures.push(
      `descriptors idle after the load: ${idleAfter.fds}, before it: ${idleBefore.fds}`,
    );
  }

  const measured = samples.filter((s) => s.t > warmup);
  const perSecond = measured.map((s) => s.completed);
  const cpuSeconds =
    measured.length > 1 ? (measured.at(-1).cpuTicks - measured[0].cpuTicks) / TICKS_PER_SECOND : 0;
  const cpuPercent =
    measured.length > 1 ? Math.round((cpuSeconds / (measured.at(-1).t - measured[0].t)) * 100) : 0;
  const round1 = (x) => Math.round(x * 10) / 10;
  const percentiles = (list) => {
    const sorted = list.sort((a, b) => a - b);
    return {
      count: sorted.length,
      p50: round1(quantile(sorted, 0.5)),
      p99: round1(quantile(sorted, 0.99)),
    };
  };

  const summary = {
    pass: failures.length === 0,
    node: process.version,
    seconds: Math.round(loadSeconds),
    warmupSeconds: warmup,
    connections,
    slowClients,
    disconnectClients,
    seed,
    requests: completed,
    requestsPerSecond: Math.round(completed / loadSeconds),
    requestsPerSecondAfterWarmup: {
      median: median(perSecond),
      min: Math.min(...perSecond),
      max: Math.max(...perSecond),
    },
    latencyMs: {
      valid: percentiles(latencies.valid),
      refused: percentiles(latencies.refused),
      validKeptAlive: percentiles(latencies.validKept),
      refusedKeptAlive: percentiles(latencies.refusedKept),
      connecting: percentiles(latencies.connecting),
    },
    generator: {
      cpuPercent: Math.round(((generatorCpu.user + generatorCpu.system) / 1e6 / loadSeconds) * 100),
      eventLoopDelayP99Ms: round1(loopDelay.percentile(99) / 1e6),
    },
    kinds: Object.fromEntries(
      [...tally.byKind.values()].map((e) => [
        e.name,
        {
          sent: e.sent,
          expected: e.expected,
          asExpected: e.asExpected,
          got: Object.fromEntries(e.got),
          errors: e.errors,
        },
      ]),
    ),
    unexpected: tally.failureCount,
    slowReads: slowStats,
    disconnects: cutStats,
    clientConnects,
    gate: {
      logLines: log.lines,
      accessLines: loadLog.access,
      logByStatus: Object.fromEntries(loadLog.byStatus),
      errorLines: log.errors.length,
      exitCode: gateExit,
      cpuPercentAfterWarmup: cpuPercent,
      rssKiB: rss,
      fds,
      idle: {
        fdsBefore: idleBefore.fds,
        fdsAfter: idleAfter.fds,
        waitedSeconds: round1(idleWaitSeconds),
        rssKiBBefore: idleBefore.rssKiB,
        rssKiBAfter: idleAfter.rssKiB,
      },
    },
    origin: originStats.stats,
    failures: [...failures, ...tally.failures, ...log.errors.slice(0, 5)],
  };
  if (process.env.SOAK_SAMPLES) {
    writeFileSync(
      process.env.SOAK_SAMPLES,
      samples.map((x) => JSON.stringify(x)).join("\n") + "\n",
    );
  }
  console.log(JSON.stringify(summary));
  console.log(table(summary));
  process.exitCode = summary.pass ? 0 : 1;
}

const ms = ({ p50, p99 }) => `${p50}/${p99} ms`;

function table(s) {
  const rows = [["request", "sent", "expected", "as expected", "other answers", "errors"]];
  for (const [name, e] of Object.entries(s.kinds)) {
    const other = Object.entries(e.got)
      .filter(([status, count]) => Number(status) !== e.expected && count > 0)
      .map(([status, count]) => `${status}×${count}`)
      .join(" ");
    rows.push([name, e.sent, e.expected || "none", e.asExpected, other || "-", e.errors]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const lines = rows.map((row) =>
    row.map((cell, c) => String(cell)[c === 0 ? "padEnd" : "padStart"](widths[c])).join("  "),
  );
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const g = s.gate;
  lines.push(
    "",
    `${s.requests} requests in ${s.seconds} s: ${s.requestsPerSecond} req/s ` +
      `(after warm-up, per second: median ${s.requestsPerSecondAfterWarmup.median}, ` +
      `min ${s.requestsPerSecondAfterWarmup.min}, max ${s.requestsPerSecondAfterWarmup.max})`,
    `latency p50/p99: valid ${ms(s.latencyMs.valid)}, refused ${ms(s.latencyMs.refused)}; ` +
      `on a kept-alive connection valid ${ms(s.latencyMs.validKeptAlive)}, refused ` +
      `${ms(s.latencyMs.refusedKeptAlive)}; opening one ${ms(s.latencyMs.connecting)} ` +
      `(${s.latencyMs.connecting.count} requests)`,
    `load generator: ${s.generator.cpuPercent} % of a core, event-loop delay p99 ` +
      `${s.generator.eventLoopDelayP99Ms} ms`,
    `gate RSS: ${g.rssKiB.warmupLevel} KiB after warm-up, slope ${g.rssKiB.perMinute} KiB/min ` +
      `(${g.rssKiB.growthPercent} % over ${g.rssKiB.windowMinutes} min; last vs first quarter ` +
      `${g.rssKiB.quarterGrowth} KiB; limit ${g.rssKiB.limit} KiB)`,
    `gate descriptors: ${g.fds.warmupLevel} after warm-up, slope ${g.fds.perMinute}/min ` +
      `(last vs first quarter ${g.fds.quarterGrowth}; limit ${g.fds.limit}); idle ${g.idle.fdsBefore} ` +
      `before the load, ${g.idle.fdsAfter} after (${g.idle.waitedSeconds} s)`,
    `gate CPU ${g.cpuPercentAfterWarmup} % of a core; ${g.accessLines} access-log lines, ` +
      `${g.errorLines} error lines; exit ${g.exitCode}; origin ${s.origin.requests} requests, ` +
      `${s.origin.aborted} cut by the gate, ${s.origin.refusedReached} refused that reached it`,
    `slow reads completed ${s.slowReads.completed}; disconnects mid-body ${s.disconnects.midBody}, ` +
      `before an answer ${s.disconnects.beforeHead}; client connections opened ${s.clientConnects}`,
    s.pass ? "PASS" : `FAIL\n  ${s.failures.join("\n  ")}`,
  );
  return lines.join("\n");
}

if (process.argv[2] === "--origin") runOrigin();
else
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
    for (const child of children) child.kill("SIGTERM");
  });
