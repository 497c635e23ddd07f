/**
 * What every `tokengate` command shares: usage errors, flag parsing, reading the secret.
 * @module
 */
import { readFileSync } from "node:fs";

/** A usage or configuration problem: one line to stderr, exit code 2. */
export class UsageError extends Error {}

export const HELP_FLAG = { type: "boolean", short: "h" } as const;

/**
 * Runs node:util's parseArgs, turning its errors (unknown flag, missing value) into usage
 * errors of one line (some of its messages take three).
 */
export function parsedArgs<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, " "));
  }
}

export function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `--secret-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") throw new UsageError(`--secret-file: ${path} is empty`);
  return secret;
}

export function secretFrom(file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (file !== undefined) return readSecretFile(file);
  return env.SECRET || undefined;
}
