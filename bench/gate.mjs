// npm run bench:gate — the self-hosted gate (on Node, and inside nginx as the njs module with
// the config `tokengate nginx-config` prints) against an nginx `secure_link` gate configured
// for the same scheme, all in front of the same nginx origin, and the origin fetched directly.
// Loads with wrk (Debian `wrk`) or, without it, autocannon. Every server is started here on
// 127.0.0.1 and stopped at the end. Settings (environment): DURATION (s, default 5),
// GATE_ROUNDS (default 1), CONNECTIONS (default 10,50,200), WORKERS (tokengate processes, default 1),
// NGINX_WORKERS (default 1), BASELINE (another tokengate checkout, built, measured beside this
// one as "baseline": a before/after in one run).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { treeCpuMs } from "./proc-cpu.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECRET = "bench-secret-0123456789";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const has = (command) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
/** `count` distinct free ports: all are held open until all are known. */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve) => {
          const server = createServer().listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(url) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not answer`);
}

function nginxConf(dir, name, workers, body) {
  const path = join(dir, `${name}.conf`);
  writeFileSync(
    path,
    `worker_processes ${workers};
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-body; proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fcgi; uwsgi_temp_path ${dir}/tmp-uwsgi; scgi_temp_path ${dir}/tmp-scgi;
  sendfile on; tcp_nopush on; keepalive_requests 1000000;
${body}
}
`,
  );
  return path;
}

function parseWrk(text) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text);
  const scale = { us: 0.001, ms: 1, s: 1000 };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(text)?.[1];
  const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
  return { rps, requests, p99ms: p99 ? Number(p99[1]) * scale[p99[2]] : NaN, non2xx, errors };
}

async function load(url, connections, duration) {
  if (has("wrk")) {
    const text = execFileSync(
      "wrk",
      ["-t1", `-c${connections}`, `-d${duration}s`, "--latency", url],
      {
        encoding: "utf8",
      },
    );
    return parseWrk(text);
  }
  const { default: autocannon } = await import("autocannon");
  const result = await autocannon({ url, connections, duration });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p99ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** A figure to `digits` places, or "—" for a target GATE_TARGETS left out. */
function num(value, digits) {
  return Number.isFinite(value) ? value.toFixed(digits) : "—";
}

export async function benchGate(options = {}) {
  const log = options.log ?? console.log;
  const duration = Number(process.env.DURATION ?? options.duration ?? 5);
  const rounds = Number(process.env.GATE_ROUNDS ?? options.rounds ?? 1);
  const connectionsList = (process.env.CONNECTIONS ?? "10,50,200").split(",").map(Number);
  const workers = process.env.WORKERS ?? "1";
  const nginxWorkers = Number(process.env.NGINX_WORKERS ?? 1);
  if (!has("nginx")) {
    log("bench:gate needs nginx (Debian: apt-get install nginx); skipped");
    return { skipped: "nginx not installed" };
  }
  const dir = mkdtempSync(join(tmpdir(), "tokengate-bench-"));
  // nginx workers drop root privileges: they must be able to read the files it serves.
  chmodSync(dir, 0o755);
  const children = [];
  // Each target's process (an nginx master, a Node gate), for its CPU time per request.
  const pids = {};
  try {
    const files = {
      "playlist 1 KB": ["index.m3u8", 1024],
      "segment 200 KB": ["seg-1.ts", 200 * 1024],
    };
    // The same files under a stream prefix and under a CDN-token prefix (`public`).
    for (const folder of ["root/videos/2675_bench", "root/public/bench"]) {
      mkdirSync(join(dir, folder), { recursive: true });
      for (const [name, size] of Object.values(files)) {
        const bytes = Buffer.alloc(size);
        for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 255;
        writeFileSync(join(dir, folder, name), bytes);
      }
    }
    const [
      originPort,
      nginxPort,
      gatePort,
      proxyPort,
      baselinePort,
      cachePort,
      njsPort,
      modulePort,
    ] = await freePorts(8);
    const baseline = process.env.BASELINE;
    const originConf = nginxConf(
      dir,
      "origin",
      1,
      // Fresh for an hour, so the gate's cache (CACHE=on) may keep what it serves.
      `  server { listen 127.0.0.1:${originPort}; root ${dir}/root; expires 1h; }`,
    );
    const gateConf = nginxConf(
      dir,
      "gate",
      nginxWorkers,
      `  upstream origin { server 127.0.0.1:${originPort}; keepalive 512; }
  server {
    listen 127.0.0.1:${nginxPort};
    location ~ "^/(videos|cmaf)/(([^_/]+)_([^/]+))/([A-Za-z0-9_-]{22})/([1-9][0-9]{0,18})/(.+)$" {
      set $kind $1; set $cv $2; set $token $5; set $expires $6; set $file $7;
      secure_link $token,$expires;
      secure_link_md5 "\${cv}_${SECRET}_\${expires}_";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://origin/$kind/$cv/$file$is_args$args;
    }
    # A CDN directory token (?md5=&expires=, signed for the file's folder), as nginx's docs
    # show secure_link for a query token.
    location ~ "^(/public/(?:[^/]+/)*)[^/]+$" {
      set $folder $1;
      secure_link $arg_md5,$arg_expires;
      secure_link_md5 "\${secure_link_expires}\${folder} ${SECRET}";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://origin$uri;
    }
    location / { return 404; }
  }`,
    );
    // tokengate inside nginx, from the config its CLI prints, with as many workers as the
    // secure_link gate.
    // The secret file as a careful user keeps it: root's alone (nginx's master reads it).
    writeFileSync(join(dir, "secret"), SECRET, { mode: 0o600 });
    // Every gate here serves one client (wrk) at up to 200 connections: no per-client share.
    const printNginx = (name, port, env = {}, flags = []) => {
      const conf = join(dir, `${name}.conf`);
      writeFileSync(
        conf,
        execFileSync(
          process.execPath,
          [
            join(ROOT, "dist/cli/index.js"),
            "nginx-config",
            "--origin-url",
            `http://127.0.0.1:${originPort}`,
            "--secret-file",
            join(dir, "secret"),
            "--listen",
            `127.0.0.1:${port}`,
            "--workers",
            String(nginxWorkers),
            "--prefix",
            join(dir, name),
            ...flags,
          ],
          {
            encoding: "utf8",
            env: {
              ...process.env,
              REQUESTS_PER_CLIENT: "0",
              QUERY_TOKEN_PREFIXES: "public",
              ...env,
            },
          },
        ),
      );
      return conf;
    };
    // As printed: the common request decided by nginx itself.
    const njsConf = printNginx("tokengate-nginx", njsPort);
    // Every request through the module, as before the native path.
    const moduleConf = printNginx("tokengate-module", modulePort, {}, ["--native", "off"]);
    const nginxTargets = {
      origin: originConf,
      nginx: gateConf,
      "tokengate in nginx": njsConf,
      "tokengate in nginx, module only": moduleConf,
    };
    for (const [name, conf] of Object.entries(nginxTargets)) {
      const child = spawn("nginx", ["-p", dir, "-c", conf, "-g", "daemon off;"], {
        stdio: "ignore",
      });
      children.push(child);
      pids[name] = child.pid;
    }
    // The gate as users run it, plain and with its cache on (after the first request, every
    // one is a hit).
    const startGate = (name, port, env = {}) => {
      const child = spawn(process.execPath, [join(ROOT, "dist/cli/index.js"), "serve"], {
        env: {
          ...process.env,
          ORIGIN_URL: `http://127.0.0.1:${originPort}`,
          SECRET,
          PORT: String(port),
          WORKERS: workers,
          LOG_FORMAT: "json",
          REQUESTS_PER_CLIENT: "0",
          METRICS_LISTEN: "off",
          QUERY_TOKEN_PREFIXES: "public",
          ...env,
        },
        stdio: "ignore",
      });
      children.push(child);
      pids[name] = child.pid;
    };
    startGate("tokengate", gatePort);
    startGate("tokengate cache", cachePort, { CACHE: "on" });
    if (baseline) {
      const cli = ["dist/cli/index.js", "dist/cli.js"]
        .map((path) => join(baseline, path))
        .find((path) => existsSync(path));
      if (!cli) throw new Error(`BASELINE: no built CLI under ${baseline}`);
      const child = spawn(process.execPath, [cli, "serve"], {
        env: {
          ...process.env,
          ORIGIN_URL: `http://127.0.0.1:${originPort}`,
          SECRET,
          PORT: String(baselinePort),
          WORKERS: workers,
          LOG_FORMAT: "json",
          // As the gate above: the same settings, so the two builds are compared alone.
          REQUESTS_PER_CLIENT: "0",
          METRICS_LISTEN: "off",
        },
        stdio: "ignore",
      });
      children.push(child);
      pids.baseline = child.pid;
    }
    const proxy = spawn(process.execPath, [join(ROOT, "bench/node-http-proxy.mjs")], {
      env: {
        ...process.env,
        ORIGIN_URL: `http://127.0.0.1:${originPort}`,
        PORT: String(proxyPort),
      },
      stdio: "ignore",
    });
    children.push(proxy);
    pids["node:http proxy"] = proxy.pid;
    const base = (port) => `http://127.0.0.1:${port}`;
    await Promise.all(
      [originPort, nginxPort, njsPort, modulePort].map((p) => waitFor(base(p) + "/")),
    );
    await waitFor(base(gatePort) + "/healthz");
    await waitFor(base(cachePort) + "/healthz");
    if (baseline) await waitFor(base(baselinePort) + "/healthz");
    await waitFor(base(proxyPort) + "/");

    const { signLink, signQueryToken } = await import("../dist/sign.js");
    const streamLink = (file, ttlSeconds = 3600) =>
      signLink({ clientId: 2675, videoId: "bench", secret: SECRET, ttlSeconds, file });
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const folderToken = signQueryToken({
      path: "/public/bench/",
      secret: SECRET,
      expires: expiresAt,
    });
    // A CDN directory token, as a player carries it from a manifest to each segment.
    const cdnLink = (file) => `/public/bench/${file}?md5=${folderToken}&expires=${expiresAt}`;
    // `file` is `cdn:<name>` for the CDN form.
    const link = (file) => (file.startsWith("cdn:") ? cdnLink(file.slice(4)) : streamLink(file));
    const plainPath = (file) =>
      file.startsWith("cdn:") ? `/public/bench/${file.slice(4)}` : `/videos/2675_bench/${file}`;
    // Both gates must agree on what they serve and refuse before anything is timed.
    for (const [file, size] of Object.values(files)) {
      for (const port of [nginxPort, gatePort, njsPort, modulePort]) {
        const res = await fetch(base(port) + link(file));
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200 || body.length !== size)
          throw new Error(`${port} served ${res.status}/${body.length}`);
        const bad = await fetch(base(port) + link(file).replace("/2675_bench/", "/2675_other/"));
        if (bad.status !== 403) throw new Error(`${port} answered ${bad.status} to a wrong token`);
      }
    }
    const expired = signLink({
      clientId: 2675,
      videoId: "bench",
      secret: SECRET,
      expires: 1_000_000_000,
      file: "x",
    });
    for (const port of [nginxPort, gatePort, njsPort, modulePort]) {
      const res = await fetch(base(port) + expired);
      if (res.status !== 410) throw new Error(`${port} answered ${res.status} to an expired link`);
      const cdn = await fetch(base(port) + link("cdn:seg-1.ts"));
      const body = Buffer.from(await cdn.arrayBuffer());
      if (cdn.status !== 200 || body.length !== files["segment 200 KB"][1])
        throw new Error(`${port} served ${cdn.status}/${body.length} for a CDN directory token`);
      const cdnWrong = await fetch(base(port) + link("cdn:seg-1.ts").replace("/bench/", "/other/"));
      if (cdnWrong.status !== 403)
        throw new Error(`${port} answered ${cdnWrong.status} to a CDN token for another folder`);
    }

    const targets = {
      origin: (file) => `${base(originPort)}${plainPath(file)}`,
      nginx: (file) => base(nginxPort) + link(file),
      tokengate: (file) => base(gatePort) + link(file),
      "tokengate cache": (file) => base(cachePort) + link(file),
      "tokengate in nginx": (file) => base(njsPort) + link(file),
      "tokengate in nginx, module only": (file) => base(modulePort) + link(file),
      "node:http proxy": (file) => `${base(proxyPort)}${plainPath(file)}`,
    };
    if (baseline) targets.baseline = (file) => base(baselinePort) + link(file);
    // GATE_TARGETS=a,b: only those targets (their tables, with "—" for a peer left out), for a
    // pair measured over more rounds in the same time.
    const only = (process.env.GATE_TARGETS ?? "").split(",").map((name) => name.trim());
    if (only.some((name) => name !== "")) {
      for (const name of only) {
        if (name !== "" && !(name in targets)) throw new Error(`GATE_TARGETS: no target ${name}`);
      }
      for (const name of Object.keys(targets)) if (!only.includes(name)) delete targets[name];
    }
    const rows = [];
    // A link with a wrong token: what a refusal costs (every gate answers 403 and asks no
    // origin; the origin and the node:http proxy, which check nothing, answer 404).
    const refusal = "refused (wrong token)";
    const loads = {
      ...files,
      "CDN dir token, segment 200 KB": ["cdn:seg-1.ts"],
      [refusal]: ["index.m3u8"],
    };
    const wrong = (url) => url.replace("/2675_bench/", "/2675_other/");
    for (const [label, [file]] of Object.entries(loads)) {
      for (const connections of connectionsList) {
        const runs = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
        for (let round = 0; round < rounds; round++) {
          const order = Object.keys(targets).sort(() => Math.random() - 0.5);
          for (const name of order) {
            const url = targets[name](file);
            const cpuBefore = treeCpuMs(pids[name]);
            const result = await load(label === refusal ? wrong(url) : url, connections, duration);
            // µs of the target's CPU per answered request.
            result.cpuUs = ((treeCpuMs(pids[name]) - cpuBefore) * 1000) / result.requests;
            if (result.non2xx && label !== refusal)
              throw new Error(`${name}: ${result.non2xx} non-2xx answers under load`);
            runs[name].push(result);
          }
        }
        const pick = (name, key) => median(runs[name].map((r) => r[key]));
        const present = Object.keys(targets);
        const row = {
          file: label,
          connections,
          rps: Object.fromEntries(present.map((name) => [name, pick(name, "rps")])),
          p99ms: Object.fromEntries(present.map((name) => [name, pick(name, "p99ms")])),
        };
        // The median of the per-round ratios of `a` to `b`; NaN when either was left out.
        const ratio = (a, b, key = "rps") =>
          runs[a] && runs[b] ? median(runs[a].map((r, i) => r[key] / runs[b][i][key])) : NaN;
        row.rpsVsNginx = ratio("tokengate", "nginx");
        row.p99VsNginx = ratio("tokengate", "nginx", "p99ms");
        row.rpsVsOrigin = ratio("tokengate", "origin");
        row.cacheRpsVsNginx = ratio("tokengate cache", "nginx");
        row.cacheP99VsNginx = ratio("tokengate cache", "nginx", "p99ms");
        row.nginxRpsVsOrigin = ratio("nginx", "origin");
        row.njsRpsVsNginx = ratio("tokengate in nginx", "nginx");
        row.njsP99VsNginx = ratio("tokengate in nginx", "nginx", "p99ms");
        row.cpuUs = Object.fromEntries(present.map((name) => [name, pick(name, "cpuUs")]));
        row.njsCpuVsNginx = ratio("tokengate in nginx", "nginx", "cpuUs");
        row.cpuVsNginx = ratio("tokengate", "nginx", "cpuUs");
        row.moduleRpsVsNginx = ratio("tokengate in nginx, module only", "nginx");
        if (baseline) {
          row.rpsVsBaseline = ratio("tokengate", "baseline");
          row.p99VsBaseline = ratio("tokengate", "baseline", "p99ms");
        }
        row.rpsVsNodeHttpProxy = ratio("tokengate", "node:http proxy");
        // Each round's figures too, so a reader of results.json can see the spread the
        // medians hide.
        row.rounds = Object.fromEntries(
          present.map((name) => [
            name,
            runs[name].map((r) => ({ rps: r.rps, p99ms: r.p99ms, cpuUs: r.cpuUs })),
          ]),
        );
        rows.push(row);
        log(
          `${label}, ${connections} conns: tokengate ${num(row.rps.tokengate, 0)} req/s (p99 ${num(row.p99ms.tokengate, 1)} ms), ` +
            `nginx ${num(row.rps.nginx, 0)} (p99 ${num(row.p99ms.nginx, 1)} ms), origin ${num(row.rps.origin, 0)}`,
        );
      }
    }
    log(
      `\nGate on loopback (tokengate WORKERS=${workers}, nginx worker_processes ${nginxWorkers}, ${duration} s runs, ${has("wrk") ? "wrk" : "autocannon"})`,
    );
    log(
      "| file | conns | tokengate req/s | nginx req/s | node:http proxy req/s | origin req/s | req/s vs nginx | vs node:http proxy | p99 tokengate | p99 nginx | p99 vs nginx | tokengate vs origin | nginx vs origin |",
    );
    log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const r of rows) {
      log(
        `| ${r.file} | ${r.connections} | ${num(r.rps.tokengate, 0)} | ${num(r.rps.nginx, 0)} | ${num(r.rps["node:http proxy"], 0)} | ${num(r.rps.origin, 0)} | ` +
          `${num(r.rpsVsNginx, 2)} | ${num(r.rpsVsNodeHttpProxy, 2)} | ${num(r.p99ms.tokengate, 1)} ms | ${num(r.p99ms.nginx, 1)} ms | ${num(r.p99VsNginx, 1)} | ` +
          `${num(r.rpsVsOrigin, 2)} | ${num(r.nginxRpsVsOrigin, 2)} |`,
      );
    }
    log("\nCache hits (CACHE=on; the origin says max-age=3600), same run:");
    log(
      "| file | conns | tokengate cache req/s | nginx req/s | req/s vs nginx | p99 cache | p99 nginx | p99 vs nginx |",
    );
    log("|---|---|---|---|---|---|---|---|");
    for (const r of rows) {
      log(
        `| ${r.file} | ${r.connections} | ${num(r.rps["tokengate cache"], 0)} | ${num(r.rps.nginx, 0)} | ${num(r.cacheRpsVsNginx, 2)} | ` +
          `${num(r.p99ms["tokengate cache"], 1)} ms | ${num(r.p99ms.nginx, 1)} ms | ${num(r.cacheP99VsNginx, 1)} |`,
      );
    }
    log(
      `\ntokengate in nginx (the njs module, nginx-config's config, worker_processes ${nginxWorkers}), same run:`,
    );
    log(
      "| file | conns | tokengate in nginx req/s | nginx secure_link req/s | req/s vs secure_link | p99 in nginx | p99 secure_link | p99 vs secure_link | CPU µs/req in nginx | CPU µs/req secure_link | CPU vs secure_link | module only req/s | module only vs secure_link |",
    );
    log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const r of rows) {
      log(
        `| ${r.file} | ${r.connections} | ${num(r.rps["tokengate in nginx"], 0)} | ${num(r.rps.nginx, 0)} | ${num(r.njsRpsVsNginx, 2)} | ` +
          `${num(r.p99ms["tokengate in nginx"], 1)} ms | ${num(r.p99ms.nginx, 1)} ms | ${num(r.njsP99VsNginx, 2)} | ` +
          `${num(r.cpuUs["tokengate in nginx"], 1)} | ${num(r.cpuUs.nginx, 1)} | ${num(r.njsCpuVsNginx, 2)} | ` +
          `${num(r.rps["tokengate in nginx, module only"], 0)} | ${num(r.moduleRpsVsNginx, 2)} |`,
      );
    }
    if (baseline) {
      log(`\nAgainst BASELINE (${baseline}), same run:`);
      log(
        "| file | conns | tokengate req/s | baseline req/s | req/s ratio | p99 tokengate | p99 baseline | p99 ratio |",
      );
      log("|---|---|---|---|---|---|---|---|");
      for (const r of rows) {
        log(
          `| ${r.file} | ${r.connections} | ${num(r.rps.tokengate, 0)} | ${num(r.rps.baseline, 0)} | ${num(r.rpsVsBaseline, 2)} | ` +
            `${num(r.p99ms.tokengate, 1)} ms | ${num(r.p99ms.baseline, 1)} ms | ${num(r.p99VsBaseline, 2)} |`,
        );
      }
    }
    return {
      tool: has("wrk") ? "wrk" : "autocannon",
      duration,
      rounds,
      workers,
      nginxWorkers,
      rows,
    };
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await sleep(300);
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchGate();
}
