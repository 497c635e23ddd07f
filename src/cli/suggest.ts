/**
 * Usage errors that say what to type instead: the nearest known flag to a mistyped one, read
 * from the command's own help text so the two cannot disagree.
 * @module
 */

/** The long flags a help text lists (`--secret-file PATH   …` → `--secret-file`). */
export function flagsOf(help: string): string[] {
  const flags: string[] = [];
  for (const line of help.split("\n")) {
    const match = /^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/.exec(line);
    if (match && !flags.includes(match[1]!)) flags.push(match[1]!);
  }
  return flags;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known flag nearest to `typed`: one it begins (`--secret` → `--secret-file`), else the
 * closest by edit distance when the typo is small next to the flag (a third of its letters).
 */
export function nearestFlag(typed: string, known: readonly string[]): string | undefined {
  const name = typed.replace(/=.*$/, "");
  const extended = known.filter((flag) => flag.startsWith(name) && name.length >= 4);
  if (extended.length === 1) return extended[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const flag of known) {
    const d = distance(name, flag);
    if (d < bestDistance) [best, bestDistance] = [flag, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3))
    ? best
    : undefined;
}
