/** Starts `tokengate serve` (the built CLI) as a child process, the way users run it. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/cli/index.js", import.meta.url));

export interface Served {
  proc: ChildProcess;
  url: string;
  port: number;
  lines: string[];
  stderr: string[];
  /** `http://host:port/metrics` on the metrics listener, when the gate announced one. */
  metricsUrl?: string;
  /** Resolves with the first stdout line (seen or coming) that matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export function run(
  args: string[],
  env: Record<string, string | undefined>,
): Omit<Served, "url" | "port"> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    // Any free port for the metrics listener: gates run side by side in the tests. Every test
    // client is 127.0.0.1: no share per address unless a test sets one.
    env: {
      PATH: process.env.PATH,
      METRICS_LISTEN: "127.0.0.1:0",
      REQUESTS_PER_CLIENT: "0",
      ...env,
    } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let buffer = "";
  proc.stdout!.setEncoding("utf8").on("data", (text: string) => {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  proc.stderr!.setEncoding("utf8").on("data", (text: string) => stderr.push(text));
  // On "close", not "exit": by then everything the process wrote has been read.
  const exited = new Promise<number | null>((resolve) =>
    proc.once("close", (code) => resolve(code)),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return resolve(seen);
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no line matching ${pattern} in ${timeoutMs} ms; stdout: ${lines.join("\n")}; stderr: ${stderr.join("")}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then(() =>
        setTimeout(() => reject(new Error(`exited; stderr: ${stderr.join("")}`)), 50),
      );
    });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    return exited;
  };
  return { proc, lines, stderr, waitFor, stop, exited };
}

/** Starts the server on a free port and waits until it listens. */
export async function serve(
  env: Record<string, string | undefined>,
  args: string[] = [],
): Promise<Served> {
  const child = run(["serve", "--port", "0", ...args], env);
  const line = await child.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)![1]!;
  // Announced before the public port listens.
  const metrics = child.lines.map((l) => /metrics on (http:\/\/[^\s"]+\/metrics)/.exec(l)?.[1]);
  const metricsUrl = metrics.find((found) => found !== undefined);
  return { ...child, url, port: Number(url.split(":").at(-1)), metricsUrl };
}
