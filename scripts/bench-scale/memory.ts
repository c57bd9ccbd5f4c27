/** Memory as the rows report it: a process's resident set once it has been left alone for a while. */
import { peakRss } from "../bench-proxy/measure.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The resident set (VmRSS, KiB) of each process after `settleMs` of quiet: the median of five
 * samples 200 ms apart, so a collection caught mid-way does not decide the figure. The benchmark
 * cannot force a collection in the gateway or agent; the pause lets their idle-time GC run.
 */
export async function settledRss(pids: Record<string, number | undefined>, settleMs: number): Promise<Record<string, number>> {
  await sleep(settleMs);
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < 5; i++) {
    for (const [name, pid] of Object.entries(pids)) (samples[name] ??= []).push(peakRss(pid).rssKiB);
    await sleep(200);
  }
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(samples)) out[name] = s.sort((a, b) => a - b)[2]!;
  return out;
}

/** KiB per item of a before/after pair, rounded to 0.01. */
export const perItemKiB = (beforeKiB: number, afterKiB: number, items: number) => (items ? +((afterKiB - beforeKiB) / items).toFixed(2) : 0);
