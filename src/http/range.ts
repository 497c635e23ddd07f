/**
 * The one `Range` the gate's caches answer from a kept object, on every runtime that keeps one.
 * @module
 */

/**
 * A `Range` header as the caches read it: one `bytes=` range (RFC 9110 §14.1.2), its first and
 * last byte as written (a suffix range has no first); undefined for one they ignore and answer
 * with the whole object (§14.2): another unit, several ranges, no number, a last before the first.
 *
 * @example
 * ```ts
 * singleRange("bytes=0-99"); // { first: 0, last: 99 }
 * singleRange("bytes=-500"); // { first: undefined, last: 500 }
 * singleRange("items=0-1"); // undefined
 * ```
 */
export function singleRange(
  header: string | null | undefined,
): { first: number | undefined; last: number | undefined } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec((header ?? "").trim());
  if (match === null || (match[1] === "" && match[2] === "")) return undefined;
  const first = match[1] === "" ? undefined : Number(match[1]);
  const last = match[2] === "" ? undefined : Number(match[2]);
  if (first !== undefined && last !== undefined && last < first) return undefined;
  return { first, last };
}
