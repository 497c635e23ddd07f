/**
 * nginx with the njs module, started from the config `tokengate nginx-config` prints (the
 * built CLI, as users run it): Debian's `nginx` and `libnginx-mod-http-js`.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "./serve.js";

export const NGINX = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
export const JS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so";

/**
 * Whether the suites run against nginx: true when nginx and its js module are here. A missing
 * one fails the run with what to install, unless `TOKENGATE_WITHOUT_NGINX` says why to go on
 * without it (then every nginx test is left out, and the run says so).
 */
export function nginxAvailable(): boolean {
  if (existsSync(NGINX) && existsSync(JS_MODULE)) return true;
  const why = process.env.TOKENGATE_WITHOUT_NGINX?.trim();
  if (why) return false;
  throw new Error(
    `nginx is missing (${NGINX}, ${JS_MODULE}): apt-get install nginx libnginx-mod-http-js, ` +
      "or set TOKENGATE_WITHOUT_NGINX to say why the run goes on without it",
  );
}

/** A free TCP port on 127.0.0.1 (nginx cannot say which port `listen 0` took). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface StartedNginx {
  url: string;
  port: number;
  /** The folder holding the config, logs and secret files. */
  dir: string;
  /** The config as `tokengate nginx-config` printed it. */
  conf: string;
  /** The access log's lines so far. */
  accessLog(): string[];
  /** The error log so far. */
  errorLog(): string;
  /** The rotation procedure: the same `nginx-config` command again, then `nginx -s reload`. */
  reconfigure(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Prints a config with `tokengate nginx-config` for gate settings given as the environment
 * variables `serve` reads (SECRET and CLIENT_SECRETS are written to files for it), starts
 * nginx in the foreground from it and waits until it answers. `secretMode`: the secret file's
 * mode (0600: only its owner, root when the tests run as root, can read it).
 */
export async function startNginx(
  env: Record<string, string | undefined>,
  args: string[] = [],
  options: { secretMode?: number } = {},
): Promise<StartedNginx> {
  const dir = mkdtempSync(join(tmpdir(), "tokengate-nginx-"));
  // Started as root, nginx's workers run as nobody, and they read the secret file.
  chmodSync(dir, 0o755);
  const flags = [...args];
  // Every test client is 127.0.0.1: no share per address unless a test sets one.
  const rest: Record<string, string | undefined> = { REQUESTS_PER_CLIENT: "0", ...env };
  if (env.SECRET !== undefined) {
    writeFileSync(join(dir, "secret"), env.SECRET, { mode: options.secretMode ?? 0o644 });
    chmodSync(join(dir, "secret"), options.secretMode ?? 0o644);
    flags.push("--secret-file", join(dir, "secret"));
  }
  if (env.CLIENT_SECRETS !== undefined) {
    writeFileSync(join(dir, "clients.json"), env.CLIENT_SECRETS, { mode: 0o644 });
    flags.push("--client-secrets-file", join(dir, "clients.json"));
  }
  delete rest.SECRET;
  delete rest.CLIENT_SECRETS;
  const port = await freePort();
  const print = () =>
    execFileSync(
      process.execPath,
      [
        CLI,
        "nginx-config",
        "--listen",
        `127.0.0.1:${port}`,
        "--workers",
        "1",
        "--prefix",
        join(dir, "run"),
        ...flags,
      ],
      {
        env: { PATH: process.env.PATH, ...rest } as NodeJS.ProcessEnv,
        encoding: "utf8",
        // Its complaint is in the error it throws; not printed besides.
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
  const conf = print();
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc = spawn(NGINX, ["-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`nginx did not answer on ${port}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, "run", name), "utf8");
    } catch {
      return "";
    }
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    conf,
    accessLog: () =>
      read("access.log")
        .split("\n")
        .filter((line) => line !== ""),
    errorLog: () => read("error.log"),
    async reconfigure() {
      writeFileSync(join(dir, "nginx.conf"), print());
      const before = workersOf(proc.pid!);
      execFileSync(NGINX, ["-c", join(dir, "nginx.conf"), "-s", "reload"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      // Done once the old workers are gone and a new one runs (the new config's).
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = workersOf(proc.pid!);
        if (now.length > 0 && now.every((pid) => !before.includes(pid))) break;
        if (Date.now() > deadline) throw new Error("nginx did not reload within 10 s");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      // TERM: nginx's fast shutdown, its workers stopped with it.
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The child processes of nginx's master: its workers (and cache processes). */
function workersOf(master: number): number[] {
  try {
    return readFileSync(`/proc/${master}/task/${master}/children`, "utf8")
      .split(" ")
      .filter((pid) => pid.trim() !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * The access log's entry for each of `marks` (the first line whose path contains it), in their
 * order, once all are there. nginx writes a line after the client has its answer, so a line
 * count taken before a request can miss the line of the request before it: lines are found
 * by what they name, never by position. Fails after 10 s with what the log held.
 */
export async function loggedFor(
  nginx: StartedNginx,
  marks: readonly string[],
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const entries = nginx.accessLog().map((line) => JSON.parse(line) as Record<string, unknown>);
    const found = marks.map((mark) => entries.find((entry) => String(entry.path).includes(mark)));
    if (found.every((entry) => entry !== undefined)) return found as Record<string, unknown>[];
    if (Date.now() > deadline) {
      const missing = marks.filter((_, i) => found[i] === undefined);
      throw new Error(
        `not logged within 10 s: ${missing.join(", ")} (log: ${entries.length} lines)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
