/**
 * Access-log lines: one per request, JSON or human-readable, never carrying a token or the
 * secret.
 * @module
 */
import type { LogFormat } from "./config.js";

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

const TOKEN_SEGMENT = /^(\/[^/?#]*\/[^/?#]*\/)[^/?#]+(\/)/;

/**
 * The request path with its token segment replaced by `…` and the query left out, so logs
 * never hold a usable link.
 *
 * @example
 * ```ts
 * redactPath("/videos/2675_abc/TOKEN/1861919999/720/seg-1.ts?part=4");
 * // "/videos/2675_abc/…/1861919999/720/seg-1.ts"
 * ```
 */
export function redactPath(target: string): string {
  let end = target.length;
  const question = target.indexOf("?");
  if (question >= 0) end = question;
  const path = target.slice(0, end);
  return path.replace(TOKEN_SEGMENT, "$1…$2");
}

/**
 * Formats an access-log line.
 *
 * @example
 * ```ts
 * accessLine("json", { method: "GET", target: "/healthz", status: 200, reason: undefined, bytes: 2, ms: 0.4 });
 * ```
 */
export function accessLine(format: LogFormat, record: AccessRecord, time = new Date()): string {
  const path = redactPath(record.target);
  const ms = Math.round(record.ms * 10) / 10;
  if (format === "pretty") {
    const reason = record.reason ? ` (${record.reason})` : "";
    return `${time.toISOString()} ${record.method} ${path} ${record.status}${reason} ${record.bytes} B ${ms} ms`;
  }
  return JSON.stringify({
    time: time.toISOString(),
    pid: PID,
    method: record.method,
    path,
    status: record.status,
    ...(record.reason ? { reason: record.reason } : {}),
    bytes: record.bytes,
    ms,
  });
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
