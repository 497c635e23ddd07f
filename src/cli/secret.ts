/**
 * `tokengate secret`: prints a new random secret, so a first run needs no other tool.
 * @module
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { HELP_FLAG, parsedArgs } from "./args.js";
import { HELP } from "./help.js";

/** Runs `tokengate secret`; returns the exit code. */
export function secret(args: string[], out: (line: string) => void): number {
  const { values } = parsedArgs(() =>
    parseArgs({ args, strict: true, allowPositionals: false, options: { help: HELP_FLAG } }),
  );
  if (values.help) return (out(HELP.secret), 0);
  // 32 bytes, as hex: no space or comma (they separate secrets), nothing a shell or a file mangles.
  out(randomBytes(32).toString("hex"));
  return 0;
}
