#!/usr/bin/env node
/**
 * `tokengate`: serve the gate on Node, sign links, check links.
 * Exit codes: 0 ok, 1 the link would be refused, 2 usage or configuration error.
 * @module
 */
import { SettingError } from "../core/settings.js";
import { UsageError } from "./args.js";
import { check } from "./check.js";
import { nginxConfig } from "./nginx-config.js";
import { HELP } from "./help.js";
import { secret } from "./secret.js";
import { flagsOf, nearestFlag } from "./suggest.js";
import { serve, worker, WORKER_COMMAND } from "./serve.js";
import { sign } from "./sign.js";

/** The help text of each command, by its name on the command line. */
const HELP_OF: Record<string, string> = {
  serve: HELP.serve,
  sign: HELP.sign,
  check: HELP.check,
  "nginx-config": HELP.nginxConfig,
  secret: HELP.secret,
};

/** What to type instead, added to a usage error's one line: the nearest flag, the help. */
function hint(command: string | undefined, error: Error): string {
  const help = command === undefined ? undefined : HELP_OF[command];
  if (help === undefined) return "";
  const unknown = /^Unknown option '(--[^']+)'/.exec(error.message);
  if (unknown) {
    const nearest = nearestFlag(unknown[1]!, flagsOf(help));
    return `${nearest ? `; did you mean ${nearest}?` : ""}; see tokengate ${command} --help`;
  }
  // The shared settings name SECRET for every runtime; on the command line it is a file.
  if (
    error instanceof SettingError &&
    error.setting === "SECRET" &&
    /: not set\b/.test(error.message)
  ) {
    return ": pass --secret-file PATH (or set SECRET)";
  }
  return "";
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (line) =>
    process.stdout.write(line.endsWith("\n") ? line : line + "\n"),
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "serve":
        return await serve(rest, env);
      case WORKER_COMMAND:
        return await worker();
      case "sign":
        return await sign(rest, env, out);
      case "check":
        return await check(rest, env, out);
      case "secret":
        return secret(rest, out);
      case "nginx-config":
        return await nginxConfig(rest, env, (text) => process.stdout.write(text));
      case undefined:
      case "-h":
      case "--help":
      case "help":
        out(HELP.main);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"; try tokengate --help`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof SettingError ||
      error instanceof RangeError ||
      error instanceof TypeError
    ) {
      process.stderr.write(`tokengate: ${error.message}${hint(command, error)}\n`);
      return 2;
    }
    process.stderr.write(`tokengate: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
if (process.argv[2] === "serve" || process.argv[2] === WORKER_COMMAND) {
  // The servers have closed; a keep-alive timer or a worker's IPC channel must not hold a
  // stopped gate open.
  process.exit();
}
