/** CPU and memory of the processes on each side, from /proc: per-process CPU time, the machine's busy time, peak RSS (and its reset between phases), open descriptors. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** CPU time (user + system) a process used so far, in ms. */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** Peak and current RSS, and the current RSS's anonymous and file-backed (mapped files: the executable) parts. */
export function peakRss(pid: number | undefined): { hwmKiB: number; rssKiB: number; anonKiB: number; fileKiB: number } {
  if (!pid) return { hwmKiB: 0, rssKiB: 0, anonKiB: 0, fileKiB: 0 };
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const get = (k: string) => Number(s.match(new RegExp(`${k}:\\s+(\\d+) kB`))?.[1] ?? 0);
    return { hwmKiB: get("VmHWM"), rssKiB: get("VmRSS"), anonKiB: get("RssAnon"), fileKiB: get("RssFile") };
  } catch {
    return { hwmKiB: 0, rssKiB: 0, anonKiB: 0, fileKiB: 0 };
  }
}

/** How many file descriptors a process has open (/proc/PID/fd); 0 once it is gone. */
export function openFds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (Linux: clear_refs 5). */
export function resetPeakRss(pid: number | undefined): void {
  if (!pid) return;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // Not permitted here: the peaks then run from the start.
  }
}

/** The processes whose CPU and memory the benchmark reports (set once they run). */
export const pids: Record<string, number | undefined> = {};
/** Those whose peak RSS is reported: Ward's, the peer's and the Node floor's. */
export const PROXY_PROCESSES = ["gateway", "agent", "rdServer", "rdAgent", "floorFront", "floorBack"] as const;

/** Busy CPU time of the whole machine so far (every core: user, nice, system, irq, softirq, steal), in ms. */
export function machineBusyMs(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / 100;
}

/** Starts measuring CPU: the returned function gives the ms used since, by the machine and by each running process in `pids`. */
export function cpuMeter(): () => Record<string, number> {
  const running = () => Object.entries(pids).filter((e): e is [string, number] => e[1] !== undefined);
  const before = new Map([["machine", machineBusyMs()], ...running().map(([n, pid]) => [n, cpuMs(pid)] as [string, number])]);
  return () => {
    const used: Record<string, number> = { machine: machineBusyMs() - before.get("machine")! };
    for (const [n, pid] of running()) used[n] = cpuMs(pid) - (before.get(n) ?? 0);
    return used;
  };
}
