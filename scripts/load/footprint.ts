/**
 * RSS and open file descriptors of Ward's processes over the run, and whether they were flat.
 * RSS: Node's heap and glibc's arenas grow over the first minute or so of load and then hold, so
 * the verdict looks at the plateau only — the samples after the run's first half (at least 30 s in)
 * — and compares the median of its second half with the median of its first: a process that keeps
 * what it served drifts up, one that does not stays within the allowed drift. File descriptors move
 * with the connections and streams in flight, so their verdict is taken once the load has stopped
 * and the clients closed their connections: back to the level they had before the load began.
 */
import { openFds, peakRss } from "../bench-proxy/measure.ts";
import { sleep } from "./stats.ts";

export interface ProcSample { t: number; rssMiB: number; fds: number }

export interface RssVerdict {
  /** Seconds into the load where the plateau starts. */
  plateauFromS: number;
  firstHalfMiB: number;
  secondHalfMiB: number;
  drift: number;
  /** Least-squares slope over the plateau. */
  miBPerMinute: number;
  flat: boolean;
  /** Too few samples on the plateau to judge (a short run): `flat` is true then, and means nothing. */
  tooShort: boolean;
}

export interface FdVerdict { before: number; peak: number; after: number; returned: boolean }

/** Descriptors over the level before the load that still count as "the same level" (a keep-alive socket or two to the API server). */
export const FD_SLACK = 4;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
};
const round = (v: number, d = 1) => +v.toFixed(d);

export function sampleProcess(pid: number, t: number): ProcSample {
  return { t: round(t), rssMiB: round(peakRss(pid).rssKiB / 1024), fds: openFds(pid) };
}

export function rssVerdict(samples: ProcSample[], allowedDrift: number): RssVerdict {
  const last = samples.at(-1)?.t ?? 0;
  const from = Math.max(30, last / 2);
  const plateau = samples.filter((s) => s.t >= from);
  const tooShort = plateau.length < 4;
  const half = Math.floor(plateau.length / 2);
  const a = median(plateau.slice(0, half).map((s) => s.rssMiB));
  const b = median(plateau.slice(half).map((s) => s.rssMiB));
  const drift = tooShort || !a ? 0 : b / a - 1;
  let slope = 0;
  if (plateau.length >= 2) {
    const mt = plateau.reduce((x, s) => x + s.t, 0) / plateau.length;
    const mr = plateau.reduce((x, s) => x + s.rssMiB, 0) / plateau.length;
    const num = plateau.reduce((x, s) => x + (s.t - mt) * (s.rssMiB - mr), 0);
    const den = plateau.reduce((x, s) => x + (s.t - mt) ** 2, 0);
    slope = den ? (num / den) * 60 : 0;
  }
  return { plateauFromS: round(from), firstHalfMiB: round(a), secondHalfMiB: round(b), drift: round(drift, 3), miBPerMinute: round(slope, 2), flat: tooShort || drift <= allowedDrift, tooShort };
}

/**
 * Waits (up to `ms`) for every process's descriptors to come back within FD_SLACK of `before`;
 * returns what each has then.
 */
export async function settleFds(pids: Record<string, number>, before: Record<string, number>, ms: number): Promise<Record<string, number>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, openFds(pid)]));
    if (Object.keys(pids).every((n) => now[n]! <= before[n]! + FD_SLACK) || Date.now() > deadline) return now;
    await sleep(500);
  }
}
