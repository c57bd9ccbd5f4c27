/**
 * The gateway's side of grant reconciliation: answers agents' hellos with the cluster's desired
 * grants, pushes changes, records per-grant status, and tracks which clusters have an agent
 * (a cluster is offline after three missed hellos or an explicit bye).
 */
import type { Bus, BusSubscription } from "../bus/index.ts";
import { isValidClusterId } from "../bus/index.ts";
import { silentLogger, type Logger } from "../log/index.ts";
import { accessSubjects, type DesiredStateMsg, type StatusReportMsg } from "./protocol.ts";
import type { AccessService } from "./service.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface AccessSyncOptions {
  logger?: Logger;
  now?: () => number;
  /** How often offline clusters are detected; default 1 s. */
  sweepMs?: number;
}

/** Cluster → time after which it counts as offline. */
export class ClusterPresence {
  #until = new Map<string, number>();
  isOnline(cluster: string): boolean {
    return this.#until.has(cluster);
  }
  /** Returns true when the cluster just came online. */
  seen(cluster: string, until: number): boolean {
    const fresh = !this.#until.has(cluster);
    this.#until.set(cluster, until);
    return fresh;
  }
  /** Returns true when the cluster was online. */
  gone(cluster: string): boolean {
    return this.#until.delete(cluster);
  }
  expired(now: number): string[] {
    return [...this.#until].filter(([, t]) => now > t).map(([c]) => c);
  }
}

export class AccessSync {
  readonly presence: ClusterPresence;
  #bus: Bus;
  #access: AccessService;
  #log: Logger;
  #now: () => number;
  #subs: BusSubscription[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #onChange = (cluster: string) => void this.pushDesired(cluster);
  /** Serialises the work per cluster so status and presence updates apply in arrival order. */
  #queues = new Map<string, Promise<void>>();

  constructor(bus: Bus, access: AccessService, presence: ClusterPresence, opts: AccessSyncOptions = {}) {
    this.#bus = bus;
    this.#access = access;
    this.presence = presence;
    this.#log = opts.logger ?? silentLogger;
    this.#now = opts.now ?? Date.now;
    this.#subs.push(
      bus.subscribe(accessSubjects.allHello, { callback: (err, msg) => !err && this.#enqueue(msg.subject, (c) => this.#onHello(c, msg.data)) }),
      bus.subscribe(accessSubjects.allStatus, { callback: (err, msg) => !err && this.#enqueue(msg.subject, (c) => this.#onStatus(c, msg.data)) }),
      bus.subscribe(accessSubjects.allBye, { callback: (err, msg) => !err && this.#enqueue(msg.subject, (c) => this.#offline(c)) }),
    );
    access.events.on("grantsChanged", this.#onChange);
    this.#timer = setInterval(() => {
      for (const c of this.presence.expired(this.#now())) this.#enqueue(`ward.gw.${c}.x`, (cl) => this.#offline(cl));
    }, opts.sweepMs ?? 1000);
    this.#timer.unref();
  }

  #enqueue(subject: string, fn: (cluster: string) => Promise<void>): void {
    const cluster = subject.split(".")[2] ?? "";
    if (!isValidClusterId(cluster)) return;
    const prev = this.#queues.get(cluster) ?? Promise.resolve();
    const next = prev.then(() => fn(cluster)).catch((err) => this.#log.warn("access sync failed", { cluster, err }));
    this.#queues.set(cluster, next);
    void next.then(() => {
      if (this.#queues.get(cluster) === next) this.#queues.delete(cluster);
    });
  }

  async #onHello(cluster: string, data: Uint8Array): Promise<void> {
    let intervalMs = 30_000;
    try {
      const o = JSON.parse(dec.decode(data)) as { intervalMs?: unknown };
      if (typeof o.intervalMs === "number" && o.intervalMs >= 100 && o.intervalMs <= 600_000) intervalMs = o.intervalMs;
    } catch {
      return;
    }
    if (!(await this.#access.getCluster(cluster))) return;
    const fresh = this.presence.seen(cluster, this.#now() + 3 * intervalMs + 1000);
    await this.#access.markSeen(cluster);
    if (fresh) {
      this.#log.info("agent online", { cluster });
      await this.#access.setClusterOnline(cluster, true);
    }
    await this.pushDesired(cluster);
  }

  async #onStatus(cluster: string, data: Uint8Array): Promise<void> {
    let msg: StatusReportMsg;
    try {
      msg = JSON.parse(dec.decode(data)) as StatusReportMsg;
    } catch {
      return;
    }
    if (!Array.isArray(msg.results)) return;
    const results = msg.results
      .filter((r) => r && typeof r.id === "string" && (r.status === "applied" || r.status === "failed"))
      .slice(0, 10_000)
      .map((r) => ({ id: r.id, status: r.status, error: typeof r.error === "string" ? r.error : null }));
    await this.#access.setGrantStatus(cluster, results);
  }

  async #offline(cluster: string): Promise<void> {
    if (!this.presence.gone(cluster)) return;
    this.#log.info("agent offline", { cluster });
    await this.#access.setClusterOnline(cluster, false);
  }

  /** Sends the cluster's live grants to its agents (no-op while it is offline). */
  async pushDesired(cluster: string): Promise<void> {
    if (!this.presence.isOnline(cluster)) return;
    const msg: DesiredStateMsg = { v: 1, grants: await this.#access.desiredGrants(cluster) };
    this.#bus.publish(accessSubjects.desired(cluster), enc.encode(JSON.stringify(msg)));
  }

  close(): void {
    clearInterval(this.#timer);
    for (const s of this.#subs) s.unsubscribe();
    this.#access.events.off("grantsChanged", this.#onChange);
  }
}
