/**
 * The gateway's side of grant reconciliation: answers agents' hellos with the cluster's desired
 * grants, pushes changes, and records per-grant status. Whether a cluster is online comes from one
 * source, the tunnel's presence (agent heartbeats), which the proxy uses too.
 *
 * Agents are untrusted input here: a connection may publish hellos and status reports as fast as it
 * likes. Work is coalesced per cluster — at most one store operation chain runs per cluster, a
 * flood of hellos becomes one desired-state push, only the latest status report (each is a full
 * snapshot of the agent's last reconcile) is kept — so one cluster's agent cannot queue unbounded
 * work or delay another cluster or the API.
 */
import type { Bus, BusSubscription } from "../bus/index.ts";
import { isValidClusterId } from "../validate/index.ts";
import { silentLogger, type Logger } from "../log/index.ts";
import { accessSubjects, type DesiredStateMsg, type StatusReportMsg } from "../bus/index.ts";
import type { AccessService } from "./service.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The gateways' queue group for agents' hellos and status reports. */
export const SYNC_QUEUE = "ward-gateway";
/** A hello is a few dozen bytes: anything larger is not one. */
const MAX_HELLO_BYTES = 1024;
/** Grant results kept from one status report. */
const MAX_STATUS_RESULTS = 10_000;

/** Where presence comes from (the tunnel gateway). */
export interface PresenceSource {
  on(event: "online" | "offline", listener: (cluster: string) => void): unknown;
  off(event: "online" | "offline", listener: (cluster: string) => void): unknown;
}

export interface AccessSyncOptions {
  logger?: Logger;
  now?: () => number;
  /** `last_seen_at` is written at most this often per cluster; default 10 s. */
  seenWriteMs?: number;
}

/** Work waiting for one cluster; flags and the latest report, never a queue. */
interface ClusterWork {
  running: boolean;
  online: boolean | undefined;
  push: boolean;
  seen: boolean;
  status: Uint8Array | undefined;
}

export class AccessSync {
  #bus: Bus;
  #access: AccessService;
  #presence: PresenceSource;
  #log: Logger;
  #now: () => number;
  #seenWriteMs: number;
  #subs: BusSubscription[] = [];
  #work = new Map<string, ClusterWork>();
  #seenAt = new Map<string, number>();
  #closed = false;
  /** Messages dropped before any work (not a hello, oversized, unknown cluster). */
  dropped = 0;
  /** Reconcile passes agents reported since the start (for metrics): every grant applied, or some failed. */
  readonly outcomes = { applied: 0, failed: 0 };
  #onChange = (cluster: string) => this.#kick(cluster, (w) => (w.push = true));
  #onOnline = (cluster: string) => this.#kick(cluster, (w) => (w.online = true));
  #onOffline = (cluster: string) => this.#kick(cluster, (w) => (w.online = false));

  constructor(bus: Bus, access: AccessService, presence: PresenceSource, opts: AccessSyncOptions = {}) {
    this.#bus = bus;
    this.#access = access;
    this.#presence = presence;
    this.#log = opts.logger ?? silentLogger;
    this.#now = opts.now ?? Date.now;
    this.#seenWriteMs = opts.seenWriteMs ?? 10_000;
    this.#subs.push(
      // One gateway of a deployment answers each hello and records each report (a queue group).
      bus.subscribe(accessSubjects.allHello, { queue: SYNC_QUEUE, callback: (err, msg) => !err && this.#onHello(msg.subject, msg.data) }),
      bus.subscribe(accessSubjects.allStatus, { queue: SYNC_QUEUE, callback: (err, msg) => !err && this.#onStatus(msg.subject, msg.data) }),
    );
    access.events.on("grantsChanged", this.#onChange);
    presence.on("online", this.#onOnline);
    presence.on("offline", this.#onOffline);
  }

  #onHello(subject: string, data: Uint8Array): void {
    const cluster = clusterOf(subject);
    if (!cluster || data.length > MAX_HELLO_BYTES) return void this.dropped++;
    this.#kick(cluster, (w) => ((w.push = true), (w.seen = true)));
  }

  #onStatus(subject: string, data: Uint8Array): void {
    const cluster = clusterOf(subject);
    if (!cluster) return void this.dropped++;
    this.#kick(cluster, (w) => (w.status = data));
  }

  /** Records work for a cluster and starts its worker unless one runs (it picks the work up). */
  #kick(cluster: string, mark: (w: ClusterWork) => void): void {
    if (this.#closed) return;
    let w = this.#work.get(cluster);
    if (!w) this.#work.set(cluster, (w = { running: false, online: undefined, push: false, seen: false, status: undefined }));
    mark(w);
    if (!w.running) {
      w.running = true;
      void this.#drain(cluster, w);
    }
  }

  async #drain(cluster: string, w: ClusterWork): Promise<void> {
    // Let the rest of this turn's messages coalesce into this run.
    await new Promise((r) => setImmediate(r));
    while (!this.#closed && (w.online !== undefined || w.push || w.seen || w.status)) {
      const { online, push, seen, status } = w;
      w.online = undefined;
      w.push = w.seen = false;
      w.status = undefined;
      try {
        // Only clusters the store knows (cached): a hello for a deleted cluster does no work.
        if (!(await this.#access.clusterExists(cluster))) continue;
        if (online !== undefined) {
          this.#log.info(online ? "agent online" : "agent offline", { cluster });
          await this.#access.setClusterOnline(cluster, online);
        }
        if (status) await this.#recordStatus(cluster, status);
        if (seen) await this.#markSeen(cluster);
        if (push) await this.pushDesired(cluster);
      } catch (err) {
        this.#log.warn("access sync failed", { cluster, err });
      }
    }
    w.running = false;
    if (this.#work.get(cluster) === w) this.#work.delete(cluster);
  }

  async #markSeen(cluster: string): Promise<void> {
    const now = this.#now();
    if (now - (this.#seenAt.get(cluster) ?? -Infinity) < this.#seenWriteMs) return;
    this.#seenAt.set(cluster, now);
    await this.#access.markSeen(cluster);
  }

  async #recordStatus(cluster: string, data: Uint8Array): Promise<void> {
    let msg: StatusReportMsg;
    try {
      msg = JSON.parse(dec.decode(data)) as StatusReportMsg;
    } catch {
      return void this.dropped++;
    }
    if (!msg || !Array.isArray(msg.results)) return void this.dropped++;
    const results = msg.results
      .slice(0, MAX_STATUS_RESULTS)
      .filter((r) => r && typeof r.id === "string" && (r.status === "applied" || r.status === "failed"))
      .map((r) => ({ id: r.id, status: r.status, error: typeof r.error === "string" ? r.error : null }));
    this.outcomes[results.some((r) => r.status === "failed") ? "failed" : "applied"]++;
    await this.#access.setGrantStatus(cluster, results);
  }

  /**
   * Sends the cluster's live grants to its agents. Not gated on presence: an agent says hello and
   * reconciles before it serves kubectl traffic (and so before it counts as online).
   */
  async pushDesired(cluster: string): Promise<void> {
    const msg: DesiredStateMsg = { v: 1, grants: await this.#access.desiredGrants(cluster) };
    this.#bus.publish(accessSubjects.desired(cluster), enc.encode(JSON.stringify(msg)));
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#subs) s.unsubscribe();
    this.#access.events.off("grantsChanged", this.#onChange);
    this.#presence.off("online", this.#onOnline);
    this.#presence.off("offline", this.#onOffline);
  }
}

/** The cluster id of `ward.gw.<cluster>.…`, or undefined when it is not a valid one. */
function clusterOf(subject: string): string | undefined {
  const cluster = subject.split(".", 3)[2] ?? "";
  return isValidClusterId(cluster) ? cluster : undefined;
}
