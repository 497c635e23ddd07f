/**
 * Access-log lines: one per request, JSON or human-readable, never carrying a token or the
 * secret.
 * @module
 */
import { redactTarget } from "../../core/redact.js";

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
  /** The origin's status, when it was asked: an origin's 404 is not the gate's. */
  upstreamStatus?: number;
  /** Body bytes sent. */
  bytes: number;
  ms: number;
}

/** The process id, so lines from `WORKERS` > 1 tell their process apart; 0 where there is none. */
const PID = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;

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
    const upstream =
      record.upstreamStatus === undefined ? "" : ` (origin ${record.upstreamStatus})`;
    return `${time} ${record.method} ${path} ${record.status}${reason}${upstream} ${record.bytes} B ${ms} ms`;
  }
  // Built by hand rather than JSON.stringify({...}): one line per request adds up. Only the
  // method and path come from the client, so only they need JSON escaping.
  const reason = record.reason ? `,"reason":"${record.reason}"` : "";
  // A string, as in nginx's JSON line, so one query reads both.
  const upstream =
    record.upstreamStatus === undefined ? "" : `,"upstream_status":"${record.upstreamStatus}"`;
  return (
    `{"time":"${time}","pid":${PID},"method":${JSON.stringify(record.method)},` +
    `"path":${JSON.stringify(path)},"status":${record.status}${reason}${upstream},` +
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
export function messageLine(
  format: LogFormat,
  level: "info" | "warn" | "error",
  message: string,
): string {
  if (format === "pretty") return `${new Date().toISOString()} ${level}: ${message}`;
  return JSON.stringify({ time: new Date().toISOString(), pid: PID, level, message });
}
