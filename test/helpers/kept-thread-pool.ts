import { EventEmitter } from "node:events";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type { Plugin } from "vitest/config";
import type { PoolOptions, PoolRunnerInitializer, PoolWorker, WorkerRequest } from "vitest/node";

/**
 * A vitest pool of one worker thread that outlives the run: for mutation testing only
 * (`vitest.mutation.config.ts`). Stryker's vitest runner calls `vitest.start()` once per mutant,
 * and vitest's own pools end their workers with each run, so every mutant paid for a new thread
 * that loads vitest's runtime and fast-check again, most of a mutant's time.
 *
 * This worker starts vitest's own thread entry once and keeps it: the first `start` reaches it,
 * later ones are answered here, and `stop` ends only this run's listeners. What a fresh worker
 * gave each run, each run still gets:
 * - the sources and the test helpers are evaluated anew (every file under `src/` and `test/` is
 *   invalidated in each run's request), so module state a mutant left behind cannot decide the
 *   next mutant's verdict (only vitest's runtime and packages such as fast-check are kept);
 * - the test-name filter Stryker sets on the project for this run travels with each file of the
 *   request (the thread kept the configuration of its first start, where the filter was the
 *   first run's).
 *
 * It speaks vitest's worker messages (`start`, `run`, `stop`), which are vitest's to change:
 * vitest is pinned, and `kept-thread-pool.test.ts` (in `npm test`) fails on a version where
 * a kept thread no longer behaves as a fresh one did.
 */
let thread: Worker | undefined;
let started = false;

export function keptThread(root: string): PoolRunnerInitializer {
  const sources = ["src", "test"].flatMap((dir) => sourceFiles(resolve(root, dir)));
  return {
    name: "kept-thread",
    createPoolWorker: (options) => new KeptThreadWorker(options, sources),
  };
}

/**
 * Runs its project in {@link keptThread}, whatever pool the caller asked for: Stryker's runner
 * asks for `pool: "threads"`, which as a command-line option would override the config's.
 */
export function keptThreadPlugin(root: string): Plugin {
  const pool = keptThread(root);
  return {
    name: "tokengate:kept-thread",
    configureVitest({ project }) {
      project.config.pool = pool.name;
      project.config.poolRunner = pool;
    },
  };
}

class KeptThreadWorker implements PoolWorker {
  readonly name = "kept-thread";
  private readonly answers = new EventEmitter();
  private readonly listening: [string, (arg: unknown) => void][] = [];

  constructor(
    private readonly options: PoolOptions,
    private readonly sources: string[],
  ) {}

  async start(): Promise<void> {
    if (thread) return;
    thread = new Worker(resolve(this.options.distPath, "workers/threads.js"), {
      env: this.options.env,
      execArgv: this.options.execArgv,
    });
    // Ended by the test process itself (Stryker ends its runner process); never keeps it alive.
    thread.unref();
    thread.once("exit", () => {
      thread = undefined;
      started = false;
    });
  }

  async stop(): Promise<void> {
    for (const [event, callback] of this.listening.splice(0)) thread?.off(event, callback);
    this.answers.removeAllListeners();
  }

  on(event: string, callback: (arg: unknown) => void): void {
    this.listening.push([event, callback]);
    thread?.on(event, callback);
    if (event === "message") this.answers.on(event, callback);
  }

  off(event: string, callback: (arg: unknown) => void): void {
    thread?.off(event, callback);
    this.answers.off(event, callback);
  }

  send(message: WorkerRequest): void {
    if (message.type === "start" && started) return this.answer("started");
    if (message.type === "stop") return this.answer("stopped");
    if (message.type === "start") started = true;
    if (message.type === "run" || message.type === "collect") {
      const filter = this.options.project.config.testNamePattern ?? /(?:)/;
      const context = message.context;
      context.files = context.files.map((file) => ({
        ...file,
        testNamePattern: file.testNamePattern ?? filter,
      }));
      context.invalidates = [...(context.invalidates ?? []), ...this.sources];
    }
    thread!.postMessage(message);
  }

  deserialize(data: unknown): unknown {
    return data;
  }

  private answer(type: "started" | "stopped"): void {
    queueMicrotask(() => this.answers.emit("message", { type, __vitest_worker_response__: true }));
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name));
}
