/**
 * How many generated cases a property test runs: all of them normally, one in ten under
 * mutation testing (TOKENGATE_MUTATION=1, set by vitest.mutation.config.ts), where each test
 * runs once per mutant it covers and the full count would not finish in the time CI gives it.
 * Fixed seeds stay fixed, so a mutant's verdict does not vary between runs.
 */
export function runs(full: number): number {
  return process.env.TOKENGATE_MUTATION === "1" ? Math.max(500, Math.ceil(full / 10)) : full;
}

/**
 * How large a test's data is: `full` normally, `sample` under mutation testing, for the few
 * tests whose cost grows with their data rather than with generated cases (a table of clients,
 * a batch for a child process). Name both in the test's title.
 */
export function sized(full: number, sample: number): number {
  return process.env.TOKENGATE_MUTATION === "1" ? sample : full;
}
