/**
 * What a process costs, read from Linux's /proc: its CPU time and its resident memory, for
 * tests that bound what a gate spends on one request (nginx's worker, the Node server, workerd).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Clock ticks per second, as /proc/<pid>/stat counts CPU time. */
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU time (user and system, every thread) the process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** A line of /proc/<pid>/status in bytes (VmRSS, VmHWM…). */
function statusBytes(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${name}:\\s*(\\d+) kB`, "m").exec(status);
  if (match === null) throw new Error(`no ${name} for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Resident memory now, in bytes. */
export function rssBytes(pid: number): number {
  return statusBytes(pid, "VmRSS");
}

/** The most resident memory since start (or since {@link resetPeak}), in bytes. */
export function peakBytes(pid: number): number {
  return statusBytes(pid, "VmHWM");
}

/**
 * Sets the process's peak resident memory back to what it holds now (writing 5 to
 * /proc/<pid>/clear_refs); false when this user may not (then only sampling sees peaks).
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** The ids of the processes whose parent is `parent`, with their command names. */
export function childProcesses(parent: number): { pid: number; name: string }[] {
  const found: { pid: number; name: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (Number(statFields(Number(entry))[1]) === parent) found.push({ pid: Number(entry), name });
    } catch {
      // Gone while read.
    }
  }
  return found;
}

/** What one process spent while `work` ran. */
export interface Spent<T> {
  result: T;
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds the process used. */
  cpu: number;
  /** How far its resident memory rose above what it held when `work` began, in bytes. */
  grew: number;
  /** Set when the watchdog killed the process: why. */
  killed?: string;
}

/**
 * Runs `work` and measures what process `pid` spends meanwhile: CPU time, and the rise of its
 * resident memory (its kernel-kept peak when that can be reset, else samples every few ms).
 * Past `limits` (a runaway, as the old nginx module was: 150 s and 24 GB for one playlist),
 * the process is killed with SIGKILL so the machine survives the test; `killed` then says why.
 */
export async function measure<T>(
  pid: number,
  work: () => Promise<T>,
  limits: { cpu: number; bytes: number },
): Promise<Spent<T>> {
  const exact = resetPeak(pid);
  const before = rssBytes(pid);
  const cpuBefore = cpuSeconds(pid);
  let sampled = before;
  let killed: string | undefined;
  const timer = setInterval(() => {
    try {
      sampled = Math.max(sampled, rssBytes(pid));
      const cpu = cpuSeconds(pid) - cpuBefore;
      const grew = sampled - before;
      if (killed === undefined && (cpu > limits.cpu || grew > limits.bytes)) {
        killed = `${cpu.toFixed(2)} s of CPU, ${(grew / 2 ** 20).toFixed(0)} MiB more memory`;
        process.kill(pid, "SIGKILL");
      }
    } catch {
      // The process is gone.
    }
  }, 5);
  const started = performance.now();
  let result: T;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  let cpu = Infinity;
  let peak = sampled;
  if (killed === undefined) {
    cpu = cpuSeconds(pid) - cpuBefore;
    peak = Math.max(sampled, exact ? peakBytes(pid) : rssBytes(pid));
  }
  return { result, seconds, cpu, grew: peak - before, killed };
}
