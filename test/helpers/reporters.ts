/**
 * The reporters every vitest config of ours uses: failures and the summary only (vitest's
 * `minimal`), a run that skipped a test fails (`no-skips.ts`), and, when
 * `TOKENGATE_JSON_REPORT` names a file, vitest's JSON report there (`.ci/run` counts and lists
 * from it without replacing these on the command line).
 */
export function reporters(): (string | [string, Record<string, unknown>])[] {
  const json = process.env.TOKENGATE_JSON_REPORT?.trim();
  const list: (string | [string, Record<string, unknown>])[] = [
    "minimal",
    "./test/helpers/no-skips.ts",
  ];
  if (json) list.push(["json", { outputFile: json }]);
  return list;
}
