// CPU time of a benchmarked server from /proc (Linux), for the benches' CPU-per-request figures.
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time (user + system, ms) of a process and all its descendants so far, from /proc (Linux;
 * NaN elsewhere): an nginx master with its workers, a Node gate with its cluster. On a 2-core
 * machine where wrk, the origin and the gate share the cores, requests per second swing with the
 * neighbours; the gate's CPU time per request much less.
 */
export function treeCpuMs(rootPid) {
  try {
    const stats = new Map();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const fields = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ");
        // After the name: state, ppid, …; utime and stime are the 14th and 15th fields.
        stats.set(Number(entry), {
          ppid: Number(fields[1]),
          ticks: Number(fields[11]) + Number(fields[12]),
        });
      } catch {
        // The process ended between the listing and the read.
      }
    }
    const inTree = (pid) => {
      for (let at = pid, depth = 0; at > 1 && depth < 8; at = stats.get(at)?.ppid ?? 0, depth++) {
        if (at === rootPid) return true;
      }
      return false;
    };
    let ticks = 0;
    for (const [pid, stat] of stats) if (inTree(pid)) ticks += stat.ticks;
    return ticks * 10;
  } catch {
    return NaN;
  }
}
