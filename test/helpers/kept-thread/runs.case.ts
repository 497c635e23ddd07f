// Run by test/helpers/kept-thread-pool.test.ts through the kept-thread pool, one run at a time:
// each test reports the thread it ran in, whether the sources were evaluated anew for it, and
// which mutant was active while this file was collected.
import { threadId } from "node:worker_threads";
import { it, type TestContext } from "vitest";
import { signToken } from "../../../src/core/token.js";

const seen = ((globalThis as { keptThreadSeen?: unknown[] }).keptThreadSeen ??= []);
const stryker = ((globalThis as { __stryker__?: { activeMutant?: string } }).__stryker__ ??= {});
const mutantWhileCollected = stryker.activeMutant;

function report({ task }: TestContext): void {
  Object.assign(task.meta, {
    threadId,
    freshSources: !seen.includes(signToken),
    mutantWhileCollected,
  });
  seen.push(signToken);
  // As Stryker's runner does once a file's tests start: this run's mutant, left switched on.
  stryker.activeMutant = task.name;
}

it("alpha", report);
it("beta", report);
