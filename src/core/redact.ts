/**
 * Request targets as a log may hold them: never a usable token, whatever the target's form.
 * Shared by the Node server's access log and the nginx module's. Pure: no runtime APIs.
 * @module
 */
import { buildLinkPath, splitTarget, type Link } from "./link.js";

/**
 * The request path as the log may hold it: never a usable token, whatever the target's form.
 * The authority of an absolute-form target, the query and any fragment are left out. Every run
 * of 22 or more token characters is replaced by `…`, since any 22 of them could be a token: a
 * link's token segment, a token copied into its `client_video` segment (so one of 22 or more
 * such characters is not logged either) or file part, and one in a path that is not a link
 * (`//videos/…`, `%2f` separators, …). One rule for every path, so none needs parsing first.
 *
 * @example
 * ```ts
 * redactTarget("/videos/2675_abc/v_dyZ60YkifNIDjqZTVFDg/1861919999/720/seg-1.ts?part=4");
 * // "/videos/2675_abc/…/1861919999/720/seg-1.ts"
 * ```
 */
export function redactTarget(target: string): string {
  return redactRuns(splitTarget(target).path);
}

/**
 * A parsed link's path as the log may hold it (see {@link redactTarget}), for a caller that
 * has parsed it already.
 *
 * @example
 * ```ts
 * redactLink(parseLink(path).link); // "/videos/2675_abc/…/1861919999/720/seg-1.ts"
 * ```
 */
export function redactLink(link: Link): string {
  return redactRuns(buildLinkPath(link));
}

/** Token characters (base64url). */
const TOKEN_CHAR = /^[A-Za-z0-9_-]$/;

/**
 * `text` with every run of 22 or more token characters replaced by `…`. A percent escape of a
 * token character (`%5F` for `_`) counts as that character and an escaped `%` inside a run is
 * skipped, so neither hides a token from this.
 */
function redactRuns(text: string): string {
  // Without escapes, a run is a run of the characters themselves: one native replace.
  if (!text.includes("%")) return text.replace(/[A-Za-z0-9_-]{22,}/g, "…");
  let out = "";
  let runStart = 0;
  let count = 0;
  let i = 0;
  const close = (end: number) => {
    out += count >= 22 ? "…" : text.slice(runStart, end);
    count = 0;
  };
  while (i < text.length) {
    let width = 1;
    let char = text[i]!;
    if (char === "%" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      char = String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      width = 3;
    }
    if (char === "%" && count > 0) {
      // An escaped "%" inside a run is skipped: a reader drops it to rebuild the token.
      i += width;
      continue;
    }
    if (TOKEN_CHAR.test(char)) {
      if (count === 0) runStart = i;
      count++;
    } else {
      if (count > 0) close(i);
      out += text.slice(i, i + width);
    }
    i += width;
  }
  if (count > 0) close(text.length);
  return out;
}
