/**
 * scripts/load's command line: how long, how many of each workload, the pacing of the streams, and
 * whether the flatness verdict decides the exit code. Every count and the duration are capped, so a
 * typo cannot start ten thousand exec sessions or a run of a day.
 */
export interface LoadOptions {
  seconds: number;
  /** Concurrent small GETs (each a loop: one GET, then the next). */
  small: number;
  /** Concurrent watches (HTTP/2, re-opened when the server ends them). */
  watches: number;
  /** Concurrent exec sessions (WebSocket, `cat`: bytes out, the same bytes back). */
  exec: number;
  /** Concurrent `kubectl port-forward`s moving bytes through the pod's echo server. */
  pf: number;
  scaleOut: boolean;
  /** A watch asks the API server to end it after T to 2T seconds (client-go's informers pick 5–10 min). */
  watchTimeoutS: number;
  /** One object in the watched namespaces changes this often (so watches carry events). */
  churnMs: number;
  /** An exec session lasts S to 2S seconds, then closes its stdin, gets `cat`'s exit and opens again. */
  execSessionS: number;
  /** Each exec session sends 4 KiB and waits for it back, every this many ms. */
  execIntervalMs: number;
  /** Each port-forward moves this many KiB/s (sent and echoed back), over connections of 1 MiB. */
  pfKiBps: number;
  /** Seconds between the progress lines (and the RSS/fd samples). */
  sampleS: number;
  /** RSS drift over the plateau's second half that still counts as flat. */
  rssDrift: number;
  /** Off: the flatness verdict is printed but does not fail the run (short runs). */
  flatCheck: boolean;
}

const CAPS = { seconds: 50 * 60, small: 512, watches: 4000, exec: 200, pf: 50 };

export const USAGE = `Usage: node scripts/load.ts [--seconds N | --minutes N] [--small 64] [--watches 500] [--exec 20] [--pf 5]
       [--scale-out] [--watch-timeout 60] [--churn-ms 250] [--exec-seconds 20] [--exec-interval-ms 100]
       [--pf-kib 512] [--sample-seconds 10] [--rss-drift 0.05] [--no-flat-check]
Runs small GETs, watches, exec sessions and port-forwards through Ward (one gateway and agent on the
real kube-env; --scale-out: two gateways on PostgreSQL and a 3-node nats-server cluster) for the
given time (default 60 s, at most ${CAPS.seconds / 60} min: minted tokens live an hour), prints a progress line every
--sample-seconds and a summary, last line JSON. Exit 1 on any error or when RSS or fds were not flat.`;

export class UsageError extends Error {}

export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  const o: LoadOptions = {
    seconds: 60, small: 64, watches: 500, exec: 20, pf: 5, scaleOut: false,
    watchTimeoutS: 60, churnMs: 250, execSessionS: 20, execIntervalMs: 100, pfKiBps: 512,
    sampleS: 10, rssDrift: 0.05, flatCheck: true,
  };
  const numeric: Record<string, (v: number) => void> = {
    "--seconds": (v) => (o.seconds = v), "--minutes": (v) => (o.seconds = v * 60),
    "--small": (v) => (o.small = v), "--watches": (v) => (o.watches = v), "--exec": (v) => (o.exec = v), "--pf": (v) => (o.pf = v),
    "--watch-timeout": (v) => (o.watchTimeoutS = v), "--churn-ms": (v) => (o.churnMs = v),
    "--exec-seconds": (v) => (o.execSessionS = v), "--exec-interval-ms": (v) => (o.execIntervalMs = v),
    "--pf-kib": (v) => (o.pfKiBps = v), "--sample-seconds": (v) => (o.sampleS = v), "--rss-drift": (v) => (o.rssDrift = v),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--scale-out") o.scaleOut = true;
    else if (a === "--no-flat-check") o.flatCheck = false;
    else if (a in numeric) {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new UsageError(`${a} takes a non-negative number, not ${JSON.stringify(argv[i])}`);
      numeric[a]!(v);
    } else throw new UsageError(`Unknown argument ${JSON.stringify(a)}`);
  }
  for (const [k, cap] of Object.entries(CAPS) as [keyof typeof CAPS, number][]) {
    if (o[k] > cap) throw new UsageError(`--${k} ${o[k]} is past the cap of ${cap}`);
  }
  if (o.seconds < 5) throw new UsageError("--seconds must be at least 5");
  if (o.watchTimeoutS < 1 || o.churnMs < 10 || o.execSessionS < 1 || o.execIntervalMs < 1 || o.pfKiBps < 1 || o.sampleS < 1) {
    throw new UsageError("--watch-timeout, --exec-seconds, --pf-kib and --sample-seconds must be at least 1, --churn-ms at least 10");
  }
  for (const k of ["small", "watches", "exec", "pf"] as const) o[k] = Math.floor(o[k]);
  return o;
}
