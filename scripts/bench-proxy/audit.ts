/**
 * The audit's cost on the request path: small GET at concurrency 64, requests/s through a gateway
 * with the audit on (the default) and one with `--audit off`, in one run. The gateways run one at a
 * time against the kube-env (two agents would both reconcile its RBAC): the bench's own Ward (audit
 * on) first, then fresh ones in the order on/off, off, on — ABBA over the run, so drift of a shared
 * machine falls on both sides alike. With the audit on, the queue's counters (written, dropped)
 * show that every request was recorded and none dropped.
 */
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import type { Ward } from "../../test/helpers/ward.ts";
import type { Target } from "./client.ts";
import { log, quick } from "./config.ts";
import { startBenchWard, wardSide } from "./sides.ts";
import { smallGetC64 } from "./workloads.ts";

export interface AuditBench {
  onRps: number;
  offRps: number;
  ratio: number;
  goal: number;
  met: boolean;
  runs: { audit: "on" | "off"; rps: number }[];
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
  const order: ("on" | "off")[] = quick ? ["on", "off"] : ["on", "off", "off", "on"];
  const runs: AuditBench["runs"] = [];
  let { ward, target } = current;
  let mode: "on" | "off" = "on";
  let queue: AuditBench["queue"];
  for (const want of order) {
    if (want !== mode) {
      await ward.stop();
      log(`audit: starting a gateway with --audit ${want} …`);
      ward = await startBenchWard(k, dir, ["--audit", want]);
      target = (await wardSide(ward)).target;
      mode = want;
    }
    const r = await smallGetC64(target);
    runs.push({ audit: want, rps: r.rps });
    log(`audit ${want}: ${r.rps.toFixed(0)} req/s`);
    if (want === "on") {
      // The last of the queue's batches is written within a flush interval.
      await new Promise((res) => setTimeout(res, 500));
      queue = await queueStats(ward);
    }
  }
  const mean = (m: "on" | "off") => {
    const xs = runs.filter((x) => x.audit === m).map((x) => x.rps);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const onRps = mean("on");
  const offRps = mean("off");
  const ratio = onRps / offRps;
  return { result: { onRps, offRps, ratio, goal: AUDIT_GOAL, met: ratio >= AUDIT_GOAL, runs, queue }, ward };
}

export function auditRow(a: AuditBench): string {
  const q = a.queue ? `  (queue: written ${a.queue.written}, dropped ${a.queue.dropped})` : "";
  return `small GET c=64 req/s audit on ${a.onRps.toFixed(0)}  audit off ${a.offRps.toFixed(0)}  ratio ${a.ratio.toFixed(3)}  (goal ≥ ${a.goal}: ${a.met ? "met" : "not met"})${q}`;
}
