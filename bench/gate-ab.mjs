// node bench/gate-ab.mjs <before checkout> <after checkout> — two built tokengate checkouts side
// by side (`tokengate serve`, one process each, same settings) on refusals and a 1 KB grant: wrk
// -t1 -c50 in interleaved pairs (PAIRS, default 5; DURATION s, default 3), and each gate's CPU
// time per answered request read from /proc (Linux): on a shared machine requests per second
// swing with the neighbours' load, CPU time per request much less. Prints a Markdown table.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { treeCpuMs } from "./proc-cpu.mjs";

const SECRET = "bench-secret-0123456789";
const [before, after] = process.argv.slice(2).map((dir) => resolve(dir));
if (!before || !after) throw new Error("usage: node bench/gate-ab.mjs <before> <after>");
const PAIRS = Number(process.env.PAIRS ?? 5);
const DURATION = process.env.DURATION ?? "3";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

const children = [];
process.on("exit", () => children.forEach((child) => child.kill("SIGKILL")));
const originPort = await freePort();
// The origin in a process of its own: wrk runs synchronously in this one.
children.push(
  spawn(
    process.execPath,
    [
      "-e",
      `require("node:http").createServer((req, res) => {
        const body = Buffer.alloc(1024, 97);
        res.writeHead(200, { "content-type": "application/vnd.apple.mpegurl", "content-length": body.length });
        res.end(req.method === "HEAD" ? undefined : body);
      }).listen(${originPort}, "127.0.0.1")`,
    ],
    { stdio: "ignore" },
  ),
);
const gates = {};
for (const [name, root] of Object.entries({ before, after })) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, "dist/cli/index.js"), "serve"], {
    env: {
      ...process.env,
      ORIGIN_URL: `http://127.0.0.1:${originPort}`,
      SECRET,
      PORT: String(port),
      LOG_FORMAT: "json",
      REQUESTS_PER_CLIENT: "0",
      METRICS_LISTEN: "off",
    },
    stdio: "ignore",
  });
  children.push(child);
  gates[name] = { port, pid: child.pid };
}
for (const { port } of Object.values(gates)) {
  for (let tries = 0; ; tries++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    if (tries > 100) throw new Error(`no gate on port ${port}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

const { signLink } = await import(join(after, "dist/sign.js"));
const link = (options) =>
  signLink({ clientId: 2675, videoId: "bench", secret: SECRET, ...options });
const good = link({ ttlSeconds: 3600, file: "index.m3u8" });
const paths = {
  "refused, wrong token (403)": good.replace("/2675_bench/", "/2675_other/"),
  "refused, expired (410)": link({ expires: 1_000_000_000, file: "index.m3u8" }),
  "not guarded (404)": "/elsewhere/index.m3u8",
  "granted, 1 KB (200)": good,
};

function load(name, path) {
  const { port, pid } = gates[name];
  const cpu = treeCpuMs(pid);
  const text = execFileSync(
    "wrk",
    ["-t1", "-c50", `-d${DURATION}s`, `http://127.0.0.1:${port}${path}`],
    { encoding: "utf8" },
  );
  const requests = Number(/(\d+) requests in/.exec(text)[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)[1]);
  return { rps, cpuUs: ((treeCpuMs(pid) - cpu) * 1000) / requests };
}

console.log(
  "| request | before req/s | after req/s | after / before (range) | CPU µs/request before | after | after / before |",
);
console.log("|---|---|---|---|---|---|---|");
for (const [label, path] of Object.entries(paths)) {
  const runs = { before: [], after: [] };
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 ? ["after", "before"] : ["before", "after"];
    for (const name of order) runs[name].push(load(name, path));
  }
  const ratios = runs.after.map((run, i) => run.rps / runs.before[i].rps);
  const rps = (name) => median(runs[name].map((run) => run.rps));
  const cpu = (name) => median(runs[name].map((run) => run.cpuUs));
  console.log(
    `| ${label} | ${rps("before").toFixed(0)} | ${rps("after").toFixed(0)} | ` +
      `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ` +
      `${cpu("before").toFixed(0)} | ${cpu("after").toFixed(0)} | ${(cpu("after") / cpu("before")).toFixed(2)} |`,
  );
}
process.exit(0);
