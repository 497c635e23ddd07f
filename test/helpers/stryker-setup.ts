import fc from "fast-check";
import { afterAll, inject } from "vitest";

// A mutant a property test catches fails at its first counterexample: shrinking it to the
// smallest one would cost many runs of the test for a verdict that is already known.
fc.configureGlobal({ endOnFailure: true });

/**
 * Hands Stryker the per-test coverage and hit counts its vitest runner collects. The runner's own
 * setup file (Stryker 9.6) writes them from `afterAll(({ meta }) => …)`, which vitest 4.1 refuses
 * (a suite hook's first argument is no longer the suite): without them Stryker has no coverage,
 * so it runs every related test for every mutant, reloading vitest each time, and has no hit
 * counts to stop an endless loop before the timeout. vitest 4.1 passes the file as the second
 * argument (the first must be a destructuring pattern); this hook, registered after the
 * runner's, runs before it (afterAll hooks run in reverse).
 */
const provided = inject as unknown as (key: string) => unknown;
const namespace = provided("globalNamespace");
if (typeof namespace === "string") {
  const strykerGlobal = globalThis as unknown as Record<
    string,
    Record<string, unknown> | undefined
  >;
  const ns = (strykerGlobal[namespace] ??= {});
  const mutantRun = provided("mode") === "mutant";
  // A mutant switched at run time is active once this file's tests start (the runner's
  // beforeAll), never while the file is imported and its describe blocks collected: the thread
  // is kept from run to run (test/helpers/kept-thread-pool.ts), and the last run's mutant would
  // still be the active one here, building this file's test data with it.
  if (mutantRun && provided("mutantActivation") === "runtime") ns.activeMutant = undefined;
  // The empty pattern is how vitest 4.1 lets a suite hook take no fixtures.
  afterAll(({}, file) => {
    const meta = file.meta as Record<string, unknown>;
    if (mutantRun) meta.hitCount = ns.hitCount;
    else meta.mutantCoverage = ns.mutantCoverage;
  });
}
