/**
 * The audit's cost on the request path: small GET at concurrency 64, requests/s through a gateway
 * with the audit on (the default) and one with `--audit off`, in one run. The gateways run one at a
 * time against the kube-env (two agents would both reconcile its RBAC): the bench's own Ward (audit
 * on) first, then fresh ones, alternating in an ABBA order so drift of a shared machine falls on
 * both sides alike; each gateway is warmed up (4 s of the same load, 12 s for the run's first) before it is measured. Beside
 * requests/s, the gateway's CPU per request (steadier on two shared cores). With the audit on, the
 * queue's counters (written, dropped) show that every request was recorded and none dropped.
 */
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import type { Ward } from "../../test/helpers/ward.ts";
import type { Target } from "./client.ts";
import { log, quick } from "./config.ts";
import { cpuMs } from "./measure.ts";
import { startBenchWard, wardSide } from "./sides.ts";
import { smallGetC64 } from "./workloads.ts";

export interface AuditBench {
  onRps: number;
  offRps: number;
  ratio: number;
  goal: number;
  met: boolean;
  /** The gateway's CPU (user + system) per request, µs. */
  onCpuUs: number;
  offCpuUs: number;
  runs: { audit: "on" | "off"; rps: number; gatewayCpuUs: number }[];
  queue: { queued: number; dropped: number; written: number; failed: number } | undefined;
}

export const AUDIT_GOAL = 0.97;

async function queueStats(w: Ward): Promise<AuditBench["queue"]> {
  const r = await w.api(w.adminToken, "GET", "/api/v1/audit?limit=1");
  return r.json.queue;
}

/**
 * Runs the rows. `current` is the bench's Ward (audit on) and its target; it is stopped, and the
 * Ward left running (to be stopped by the caller) is returned with the figures.
 */
export async function auditBench(k: KubeEnv, dir: string, current: { ward: Ward; target: Target }): Promise<{ result: AuditBench; ward: Ward }> {
  const order: ("on" | "off")[] = quick ? ["on", "off", "off", "on"] : ["on", "off", "off", "on", "on", "off"];
  const runs: AuditBench["runs"] = [];
  let { ward, target } = current;
  let mode: "on" | "off" = "on";
  let queue: AuditBench["queue"];
  let warm = false;
  for (const want of order) {
    if (want !== mode) {
      await ward.stop();
      log(`audit: starting a gateway with --audit ${want} …`);
      ward = await startBenchWard(k, dir, ["--audit", want]);
      target = (await wardSide(ward)).target;
      mode = want;
      warm = false;
    }
    // The first turn of the run also warms the API server and the rest of the machine up: longer.
    if (!warm) await smallGetC64(target, runs.length === 0 ? 12 : 4);
    warm = true;
    const pid = ward.gateway.child.pid;
    const cpu0 = cpuMs(pid);
    const r = await smallGetC64(target);
    const gatewayCpuUs = ((cpuMs(pid) - cpu0) / r.count) * 1000;
    runs.push({ audit: want, rps: r.rps, gatewayCpuUs });
    log(`audit ${want}: ${r.rps.toFixed(0)} req/s, gateway ${gatewayCpuUs.toFixed(0)} µs CPU/request`);
    if (want === "on") {
      // The last of the queue's batches is written within a flush interval.
      await new Promise((res) => setTimeout(res, 500));
      queue = await queueStats(ward);
    }
  }
  const mean = (m: "on" | "off", f: (x: AuditBench["runs"][number]) => number) => {
    const xs = runs.filter((x) => x.audit === m).map(f);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const onRps = mean("on", (x) => x.rps);
  const offRps = mean("off", (x) => x.rps);
  const ratio = onRps / offRps;
  const onCpuUs = mean("on", (x) => x.gatewayCpuUs);
  const offCpuUs = mean("off", (x) => x.gatewayCpuUs);
  return { result: { onRps, offRps, ratio, goal: AUDIT_GOAL, met: ratio >= AUDIT_GOAL, onCpuUs, offCpuUs, runs, queue }, ward };
}

export function auditRow(a: AuditBench): string {
  const q = a.queue ? `  (queue: written ${a.queue.written}, dropped ${a.queue.dropped})` : "";
  return `small GET c=64 req/s audit on ${a.onRps.toFixed(0)}  audit off ${a.offRps.toFixed(0)}  ratio ${a.ratio.toFixed(2)}  (goal ≥ ${a.goal}: ${a.met ? "met" : "not met"})` +
    `  gateway CPU/request on ${a.onCpuUs.toFixed(0)} µs off ${a.offCpuUs.toFixed(0)} µs${q}`;
}
