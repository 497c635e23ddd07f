/** The built Worker (dist/worker.bundle.js) in Miniflare's workerd, listening on 127.0.0.1. */
import { Miniflare, type MiniflareOptions } from "miniflare";

export interface StartedWorker {
  mf: Miniflare;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** What the Worker printed, line by line (stderr lines start with `stderr: `). */
  logs: string[];
  /** Disposes of Miniflare; throws, with every line captured, when one was unexpected. */
  close(): Promise<void>;
}

/**
 * Lines the Worker prints by design: its request lines (METRICS) and its own `tokengate: …`
 * error lines; and workerd's HTTP parser refusing a client's framing before the Worker runs
 * (`kj/compat/http.c++`, with its stack line), which tests of hostile requests cause. Anything
 * else (an exception in the Worker, a workerd warning) fails the suite.
 */
const EXPECTED = new RegExp(
  [
    '^(?:stderr: )?\\{"tokengate":"request",.*\\}$',
    "^(?:stderr: )?tokengate: .*$",
    "^stderr: workerd/server/server\\.c\\+\\+:\\d+: error: Uncaught exception: kj/compat/http\\.c\\+\\+:\\d+: failed: .*$",
    "^stderr: stack: .*$",
    "^$",
  ].join("|"),
);

/**
 * Starts the Worker with `bindings` (settings as `[vars]` and secrets would give them). Its
 * output is captured, not printed: a test reads `logs`, and `close()` shows them only when one
 * is unexpected.
 */
export async function startWorker(
  bindings: Record<string, string>,
  options: Partial<MiniflareOptions> = {},
): Promise<StartedWorker> {
  const logs: string[] = [];
  const capture = (prefix: string) => {
    let rest = "";
    return (text: string) => {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) logs.push(prefix + line);
    };
  };
  const mf = new Miniflare({
    scriptPath: "dist/worker.bundle.js",
    modules: true,
    compatibilityDate: "2026-04-26",
    bindings,
    host: "127.0.0.1",
    port: 0,
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding("utf8").on("data", capture(""));
      stderr.setEncoding("utf8").on("data", capture("stderr: "));
    },
    ...options,
  } as MiniflareOptions);
  const ready = await mf.ready;
  return {
    mf,
    url: ready.origin,
    port: Number(ready.port),
    logs,
    async close() {
      await mf.dispose();
      const unexpected = logs.filter((line) => !EXPECTED.test(line));
      if (unexpected.length > 0) {
        throw new Error(
          `the Worker printed ${unexpected.length} unexpected lines:\n${logs.join("\n")}`,
        );
      }
    },
  };
}
