import { threadId } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVitest, type Vitest } from "vitest/node";
import { keptThreadPlugin } from "./kept-thread-pool.js";

const root = new URL("../..", import.meta.url).pathname;
const fixture = "test/helpers/kept-thread/runs.case.ts";

// The pool `npm run test:mutation` runs its shared project in, driven as Stryker's vitest runner
// drives it: one run per mutant, `pool: "threads"` asked for, the test-name filter set on the
// project before each run, a mutant switched at run time (test/helpers/stryker-setup.ts).
describe("the kept-thread pool of the mutation runs", () => {
  let vitest: Vitest;
  beforeAll(async () => {
    vitest = await createVitest(
      "test",
      { config: false, root, watch: false, pool: "threads", maxWorkers: 1, reporters: [{}] },
      {
        test: {
          provide: { globalNamespace: "__stryker__", mode: "mutant", mutantActivation: "runtime" },
          projects: [
            {
              plugins: [keptThreadPlugin(root)],
              test: {
                name: "kept",
                include: [fixture],
                isolate: false,
                setupFiles: ["test/helpers/stryker-setup.ts"],
              },
            },
          ],
        },
      },
    );
  });
  afterAll(() => vitest?.close());

  async function run(filter: RegExp | undefined) {
    vitest.state.filesMap.clear();
    for (const project of vitest.projects) project.config.testNamePattern = filter;
    await vitest.start([fixture]);
    return vitest.state
      .getFiles()
      .flatMap((file) => file.tasks)
      .map((task) => ({
        name: task.name,
        mode: task.mode,
        state: task.result?.state,
        ...(task.meta as { threadId?: number; freshSources?: boolean }),
      }));
  }

  it("keeps one thread, evaluates the sources anew and follows the filter in each run", async () => {
    const first = await run(/alpha/);
    const second = await run(/beta/);
    const third = await run(undefined);
    const ran = (name: string, freshSources: boolean) =>
      expect.objectContaining({
        name,
        state: "pass",
        freshSources,
        mutantWhileCollected: undefined,
      });
    const filtered = (name: string) =>
      expect.objectContaining({ name, mode: "skip", state: undefined });
    expect(first).toEqual([ran("alpha", true), filtered("beta")]);
    // The last run's mutant was left switched on, and this run's file was collected without it.
    expect(second).toEqual([filtered("alpha"), ran("beta", true)]);
    // One run evaluates them once: its second test shares the first one's.
    expect(third).toEqual([ran("alpha", true), ran("beta", false)]);
    const threads = new Set([...first, ...second, ...third].map((test) => test.threadId));
    threads.delete(undefined);
    expect(threads.size).toBe(1);
    expect(threads).not.toContain(threadId);
  });
});
