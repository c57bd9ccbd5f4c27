/** How the rows print figures: times, rates, ratios, and the columns each comparison (peer, floor) adds to a row. */
import { MiB } from "./config.ts";

export const fmtMs = (v: number) => `${v.toFixed(3)} ms`;
export const fmtSecs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const fmtRate = (v: number) => `${(v / MiB).toFixed(1)} MiB/s`;
export const ratio = (w: number, d: number) => (d ? w / d : 0);
/** A comparison's columns in a latency row: its value, what it adds over direct, and Ward against it. */
export const peerLat = (label: string, short: string, v: number | undefined, d: number, w: number) =>
  v === undefined ? "" : `  | ${label} ${fmtMs(v)}  added ${fmtMs(v - d)}  ward/${short} ${ratio(w, v).toFixed(2)}`;
/** The same in a throughput row: its time, its rate, its ratio to direct, and Ward against it. */
export const peerThroughput = (label: string, short: string, x: { ms: number; bytesPerSec: number } | undefined, d: { bytesPerSec: number }, w: { bytesPerSec: number }, time: (ms: number) => string) =>
  x === undefined ? "" : `  | ${label} ${time(x.ms)} ${fmtRate(x.bytesPerSec)}  ratio ${ratio(x.bytesPerSec, d.bytesPerSec).toFixed(2)}  ward/${short} ${ratio(w.bytesPerSec, x.bytesPerSec).toFixed(2)}`;
/** The same in a rate row: its value, its ratio to direct, and Ward against it. */
export const peerRate = (label: string, short: string, v: number | undefined, d: number, w: number) =>
  v === undefined ? "" : `  | ${label} ${v.toFixed(0)}  ratio ${ratio(v, d).toFixed(2)}  ward/${short} ${ratio(w, v).toFixed(2)}`;
