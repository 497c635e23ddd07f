/**
 * No log holds a usable token when the origin fails, and the operator still learns why.
 * Outside finding: nginx's error log quoted the request line, token and all, for an origin that
 * refused connections, one that timed out, and a cache folder it could not write. Every log of
 * every runtime is scanned for any token that would verify (test/helpers/leaks.ts).
 */
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { leakScanner } from "../helpers/leaks.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { run, serve } from "../helpers/serve.js";
import { startWorker } from "../helpers/worker.js";

/** A port nothing listens on (it did a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once `ready()` holds, checked every 20 ms, within 10 s. */
async function until(ready: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A gate, and every log it wrote so far as text. */
interface Logged {
  url: string;
  /** Every log the runtime writes, whole. */
  logs(): string;
  /** The access-log line of the request for `file`, once written. */
  accessLine(file: string): string | undefined;
  close(): Promise<unknown>;
}

const RUNTIMES: Record<string, (env: Record<string, string>, args?: string[]) => Promise<Logged>> =
  {
    "the Node server": async (env) => {
      const gate = await serve(env);
      return {
        url: gate.url,
        logs: () => gate.lines.join("\n") + gate.stderr.join(""),
        accessLine: (file) => gate.lines.find((l) => l.includes('"method"') && l.includes(file)),
        close: gate.stop,
      };
    },
    "the Worker in Miniflare": async (env) => {
      const output: string[] = [];
      const worker = await startWorker(env, {
        handleRuntimeStdio(stdout, stderr) {
          stdout.on("data", (data) => output.push(String(data)));
          stderr.on("data", (data) => output.push(String(data)));
        },
      });
      return {
        url: worker.url,
        logs: () => output.join(""),
        // The Worker's line per request never names the path: its reason says why.
        accessLine: () =>
          output
            .join("")
            .split("\n")
            .find((l) => l.includes('"tokengate":"request"')),
        close: worker.close,
      };
    },
  };
if (nginxAvailable()) {
  RUNTIMES["nginx with the njs module"] = async (env, args) => {
    const nginx = await startNginx(env, args);
    return {
      url: nginx.url,
      logs: () => nginx.errorLog() + nginx.accessLog().join("\n"),
      accessLine: (file) => nginx.accessLog().find((line) => line.includes(file)),
      close: nginx.close,
    };
  };
}

let scanner = leakScanner(SECRET);
const running: { close(): Promise<unknown> }[] = [];
beforeEach(() => {
  scanner = leakScanner(SECRET);
});
afterAll(async () => {
  for (const item of running.splice(0)) await item.close();
});

/**
 * The logs say why the origin failed: the Node server's access line names the reason, the
 * Worker a `tokengate: <reason>:` line, nginx's access line the reason and the origin's side
 * (`fields`).
 */
function saysWhy(
  runtime: string,
  gate: Logged,
  line: string,
  reason: string,
  fields: Record<string, string>,
): void {
  if (runtime.startsWith("the Worker")) {
    expect(gate.logs()).toContain(`tokengate: ${reason}: `);
    return;
  }
  expect(JSON.parse(line)).toMatchObject({ reason });
  if (runtime.startsWith("nginx")) expect(JSON.parse(line)).toMatchObject(fields);
}

/** Asks the gate for a signed `file`, noting the link's token for the scan. */
async function ask(gate: Logged, file: string) {
  const target = signedPath(file);
  scanner.sent(target);
  return get(gate.url + target);
}

describe.each(Object.keys(RUNTIMES))("origin failures on %s", (runtime) => {
  it("an origin that refuses connections: 502, the access log says why, no log holds the token", async () => {
    const gate = await RUNTIMES[runtime]!({
      SECRET,
      ORIGIN_URL: `http://127.0.0.1:${await closedPort()}`,
    });
    running.push(gate);
    expect((await ask(gate, "refused.ts")).status).toBe(502);
    await until(() => gate.accessLine("refused.ts") !== undefined, "the access-log line");
    scanner.scan(gate.logs(), `${runtime}: logs`);
    expect(scanner.leaks).toEqual([]);
    saysWhy(runtime, gate, gate.accessLine("refused.ts")!, "origin-error", {
      origin: "connect-failed",
      upstream_status: "502",
    });
  });

  it("an origin that answers too late: 504, the access log says why, no log holds the token", async () => {
    const origin: Origin = await startOrigin({ slowHeadersMs: 3000 });
    running.push(origin);
    const gate = await RUNTIMES[runtime]!({
      SECRET,
      ORIGIN_URL: origin.url,
      ORIGIN_TIMEOUT_MS: "300",
    });
    running.push(gate);
    expect((await ask(gate, "slow-headers.ts")).status).toBe(504);
    await until(() => gate.accessLine("slow-headers.ts") !== undefined, "the access-log line");
    scanner.scan(gate.logs(), `${runtime}: logs`);
    expect(scanner.leaks).toEqual([]);
    saysWhy(runtime, gate, gate.accessLine("slow-headers.ts")!, "origin-timeout", {
      origin: "answer-timeout",
      upstream_status: "504",
    });
  });
});

describe.each(Object.keys(RUNTIMES))("an origin's 404 on %s", (runtime) => {
  it("is told apart from the gate's own 404 in the access log: upstream_status, not not-found", async () => {
    const origin: Origin = await startOrigin();
    running.push(origin);
    const gate = await RUNTIMES[runtime]!({ SECRET, ORIGIN_URL: origin.url, METRICS: "on" });
    running.push(gate);
    const worker = runtime.startsWith("the Worker");
    // The Worker's request line names no path: its lines in the order they were asked.
    const lines = () =>
      gate
        .logs()
        .split("\n")
        .filter((line) => line.includes('"tokengate":"request"'));
    expect((await ask(gate, "missing.ts")).status).toBe(404);
    await until(
      () => (worker ? lines().length === 1 : gate.accessLine("missing.ts") !== undefined),
      "the origin's 404 line",
    );
    expect((await get(gate.url + "/elsewhere/x.ts")).status).toBe(404);
    await until(
      () => (worker ? lines().length === 2 : gate.accessLine("/elsewhere/x.ts") !== undefined),
      "the gate's 404 line",
    );
    const fromOrigin = JSON.parse(worker ? lines()[0]! : gate.accessLine("missing.ts")!);
    const fromGate = JSON.parse(worker ? lines()[1]! : gate.accessLine("/elsewhere/x.ts")!);
    expect(fromOrigin).toMatchObject({ status: 404, upstream_status: "404" });
    expect(fromOrigin.reason ?? "").toBe("");
    expect(fromGate).toMatchObject({ status: 404, reason: "not-found" });
    expect(fromGate.upstream_status ?? "").toBe("");
    scanner.scan(gate.logs(), `${runtime}: logs`);
    expect(scanner.leaks).toEqual([]);
  });
});

/** Only nginx keeps its cache in a folder. */
const NGINX_RUNTIME = Object.keys(RUNTIMES).find((name) => name.startsWith("nginx"))!;

describe.runIf(NGINX_RUNTIME !== undefined)("nginx's cache folder", () => {
  it("a cache folder nginx cannot write: nginx's own 500, no log holds the token", async () => {
    const origin: Origin = await startOrigin();
    running.push(origin);
    const cache = mkdtempSync(join(tmpdir(), "tokengate-cache-"));
    running.push({ close: async () => rmSync(cache, { recursive: true, force: true }) });
    const gate = await RUNTIMES[NGINX_RUNTIME]!({ SECRET, ORIGIN_URL: origin.url }, [
      "--cache-dir",
      cache,
    ]);
    running.push(gate);
    // nginx gave the folder to its workers' user at start; take it back (as root), or shut
    // everyone out (nginx's workers run as the user who started it).
    if (process.getuid?.() === 0) {
      chownSync(cache, 0, 0);
      chmodSync(cache, 0o700);
    } else {
      chmodSync(cache, 0);
    }
    const big = `big-${2 * 1024 * 1024}.ts`;
    // nginx answers a request it cannot keep with its own 500.
    expect((await ask(gate, big)).status).toBe(500);
    await until(() => gate.accessLine(big) !== undefined, "the access-log line");
    scanner.scan(gate.logs(), "nginx: logs");
    expect(scanner.leaks).toEqual([]);
  });
});

describe("nginx-config with a cache folder it cannot make or write", () => {
  it("stops with one line naming --cache-dir, and prints no config", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokengate-cache-"));
    try {
      writeFileSync(join(dir, "file"), "");
      writeFileSync(join(dir, "secret"), SECRET);
      const child = run(
        [
          "nginx-config",
          "--origin-url",
          "http://127.0.0.1:9",
          "--secret-file",
          join(dir, "secret"),
          "--prefix",
          join(dir, "run"),
          "--cache-dir",
          join(dir, "file", "cache"),
        ],
        {},
      );
      expect(await child.exited).toBe(2);
      expect(child.stderr.join("")).toMatch(/^tokengate: --cache-dir: [^\n]+\n$/);
      expect(child.lines).toEqual([]);
      expect(existsSync(join(dir, "run"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
