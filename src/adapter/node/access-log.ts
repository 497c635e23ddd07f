/**
 * Access-log lines: one per request, JSON or human-readable, never carrying a token or the
 * secret.
 * @module
 */
import { parseLink, splitTarget } from "../../core/link.js";

/** How log lines are written. */
export type LogFormat = "json" | "pretty";

/** One finished request. */
export interface AccessRecord {
  method: string;
  /** The raw request target; redacted here. */
  target: string;
  status: number;
  /** Why the gate chose the status, when it did (403/404/405/410/5xx). */
  reason: string | undefined;
  /** Body bytes sent. */
  bytes: number;
  ms: number;
}

/** The process id, so lines from `WORKERS` > 1 tell their process apart; 0 where there is none. */
const PID = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;

/**
 * The request path as the log may hold it: never a usable token, whatever the target's form.
 * The authority of an absolute-form target, the query and any fragment are left out. A path
 * that parses as a link has its token segment replaced by `…`; anywhere else (its
 * `client_video` segment and file part, or a whole path that is not a link: `//videos/…`, `%2f`
 * separators, …) every run of 22 or more token characters is replaced, since any 22 of them
 * could be a token (so a `client_video` of 22 or more such characters is not logged either).
 *
 * @example
 * ```ts
 * redactTarget("/videos/2675_abc/v_dyZ60YkifNIDjqZTVFDg/1861919999/720/seg-1.ts?part=4");
 * // "/videos/2675_abc/…/1861919999/720/seg-1.ts"
 * ```
 */
export function redactTarget(target: string): string {
  const { path } = splitTarget(target);
  const parsed = parseLink(path);
  if (!parsed.ok) return redactRuns(path);
  const link = parsed.link;
  // The id segment as a whole: a token may span its "_" (base64url has "_").
  const ids = redactRuns(`${link.clientId}_${link.videoId}`);
  const logged = `/${link.kind}/${ids}/…/${link.expires}/${redactRuns(link.file)}`;
  // The token may stand elsewhere too, e.g. as a client id a client wrote there.
  return logged.split(link.token).join("…");
}

/** Token characters (base64url). */
const TOKEN_CHAR = /^[A-Za-z0-9_-]$/;

/**
 * `text` with every run of 22 or more token characters replaced by `…`. A percent escape of a
 * token character (`%5F` for `_`) counts as that character and an escaped `%` inside a run is
 * skipped, so neither hides a token from this.
 */
function redactRuns(text: string): string {
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

/**
 * Formats an access-log line.
 *
 * @example
 * ```ts
 * accessLine("json", { method: "GET", target: "/healthz", status: 200, reason: undefined, bytes: 2, ms: 0.4 });
 * ```
 */
export function accessLine(format: LogFormat, record: AccessRecord, now = Date.now()): string {
  const path = redactTarget(record.target);
  const time = isoTime(now);
  const ms = Math.round(record.ms * 10) / 10;
  if (format === "pretty") {
    const reason = record.reason ? ` (${record.reason})` : "";
    return `${time} ${record.method} ${path} ${record.status}${reason} ${record.bytes} B ${ms} ms`;
  }
  // Built by hand rather than JSON.stringify({...}): one line per request adds up. Only the
  // method and path come from the client, so only they need JSON escaping.
  const reason = record.reason ? `,"reason":"${record.reason}"` : "";
  return (
    `{"time":"${time}","pid":${PID},"method":${JSON.stringify(record.method)},` +
    `"path":${JSON.stringify(path)},"status":${record.status}${reason},` +
    `"bytes":${record.bytes},"ms":${ms}}`
  );
}

let lastSecond = -1;
let secondIso = "";
/**
 * ISO time of `ms`. `toISOString()` costs about a microsecond here and the millisecond changes
 * with nearly every request under load, so the text up to the second is made once a second and
 * the milliseconds are written onto it.
 */
function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    secondIso = new Date(second * 1000).toISOString().slice(0, -4); // "YYYY-MM-DDTHH:MM:SS."
  }
  const milli = ms - second * 1000;
  return `${secondIso}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
}

/**
 * A start-up or error message as a log line in the same format as the access log.
 *
 * @example
 * ```ts
 * messageLine("pretty", "error", "ORIGIN_URL: is not set");
 * ```
 */
export function messageLine(format: LogFormat, level: "info" | "error", message: string): string {
  if (format === "pretty") return `${new Date().toISOString()} ${level}: ${message}`;
  return JSON.stringify({ time: new Date().toISOString(), pid: PID, level, message });
}
