/**
 * A reporter that fails the run when a test was skipped or a `.only` narrowed it, unless
 * `TOKENGATE_ALLOW_SKIPS` (or `TOKENGATE_WITHOUT_NGINX`) says why: a green run must mean every
 * test ran. `.ci/run` counts skips from the JSON report too.
 */
import type { Reporter, TestModule, Vitest } from "vitest/node";

export default class NoSkips implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    // Tests left out by the runner's own filter (-t) were asked to be left out.
    if (this.vitest?.config.testNamePattern !== undefined) return;
    const skipped: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        if (test.result().state === "skipped")
          skipped.push(`${module.moduleId} > ${test.fullName}`);
      }
    }
    if (skipped.length === 0) return;
    const without = process.env.TOKENGATE_WITHOUT_NGINX?.trim();
    const why =
      process.env.TOKENGATE_ALLOW_SKIPS?.trim() || (without ? `without nginx: ${without}` : "");
    if (why) {
      console.error(`${skipped.length} tests skipped (TOKENGATE_ALLOW_SKIPS: ${why})`);
      return;
    }
    console.error(
      `${skipped.length} tests skipped; a green run must run them all (set TOKENGATE_ALLOW_SKIPS to say why):\n` +
        skipped
          .slice(0, 20)
          .map((name) => `  ${name}`)
          .join("\n"),
    );
    process.exitCode = 1;
  }
}
