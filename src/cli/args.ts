/**
 * What every `tokengate` command shares: usage errors, flag parsing, reading the secret.
 * @module
 */
import { readFileSync } from "node:fs";
import { parseSecrets } from "../core/settings.js";
import type { Command, SettingSpec } from "../core/settings-table.js";

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

/**
 * The secret to sign with: the first of SECRET's (or the file's) list, as the gate reads it
 * (key rotation: the newest first). Undefined when none is given.
 *
 * @throws UsageError naming the setting when the list is not one (never showing a secret).
 */
export function signingSecretFrom(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const text = secretFrom(file, env);
  if (text === undefined) return undefined;
  try {
    return parseSecrets(file === undefined ? "SECRET" : "--secret-file", text)[0];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** CLIENT_SECRETS from its file when one is named, else from the environment. */
export function clientSecretsFrom(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (file === undefined || file === "") return env.CLIENT_SECRETS;
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `--client-secrets-file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}

/** parseArgs' options for a command's flags in the settings table. */
export function flagOptions(
  specs: readonly SettingSpec[],
  command: Command,
): Record<string, { type: "string" }> {
  const options: Record<string, { type: "string" }> = {};
  for (const spec of specs) {
    if (spec.flag !== undefined && spec.commands.includes(command)) {
      options[spec.flag] = { type: "string" };
    }
  }
  return options;
}

/**
 * The environment a command runs with: each setting's flag, when given, over its variable. A
 * file flag (or its `fileEnv` variable) gives the value through `readFile`.
 */
export function envWithFlags(
  specs: readonly SettingSpec[],
  command: Command,
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
  readFile: (spec: SettingSpec, path: string) => string | undefined,
): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = {};
  for (const spec of specs) {
    if (spec.env === undefined || !spec.commands.includes(command)) continue;
    const flag = spec.flag === undefined ? undefined : values[spec.flag];
    const path = typeof flag === "string" ? flag : undefined;
    if (spec.file === true) {
      const filePath = path ?? (spec.fileEnv === undefined ? undefined : env[spec.fileEnv]);
      merged[spec.env] = filePath !== undefined ? readFile(spec, filePath) : env[spec.env];
    } else {
      merged[spec.env] = path ?? env[spec.env];
    }
  }
  return merged;
}
