/**
 * `ward agent`: dials the gateway's NATS endpoint with the cluster's join credential (reconnecting
 * with exponential backoff + jitter), says hello (presence), and reconciles the grants it is sent
 * into RBAC on every change, every resync interval (repairs hand edits) and at each grant's expiry.
 */
import { randomBytes } from "node:crypto";
import { agentConnectionName, accessSubjects, type AgentHello, type DesiredGrant, type DesiredStateMsg, type GrantStatusUpdate, type StatusReportMsg } from "../bus/index.ts";
import { assertClusterId } from "../validate/index.ts";
import { silentLogger, type Logger } from "../log/index.ts";
import type { BusConnection } from "../nats/index.ts";
import { nextExpiry, planBindings, reconcileRbac, refusedInAgentNamespace, type RbacApi } from "./rbac.ts";

export interface AgentOptions {
  /**
   * ws(s)://…/nats or http(s)://… (the /nats path is added): the gateway's embedded endpoint, or in
   * scale-out the nats-server cluster's websocket listeners. Several, comma-separated, are tried in
   * random order on each (re)connect (so agents spread over the nodes).
   */
  gateway: string;
  cluster: string;
  credential: string;
  rbac: RbacApi;
  userPrefix?: string;
  /** Hello (presence) interval; default 10 s. */
  helloMs?: number;
  /** Full reconcile interval (repairs hand edits); default 30 s. */
  resyncMs?: number;
  logger?: Logger;
  /**
   * First reconnect delay; doubles up to maxBackoffMs (default 2 s), with ±50 % jitter. The cap is
   * low on purpose: after an outage of any length the agent is back within ~3 s of the gateway
   * being ready again, and a refused try costs the gateway no more than one TLS handshake.
   */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
  /** TLS toward the gateway: a private CA, or no verification (only when asked). */
  gatewayTls?: { ca?: string | Buffer; insecureSkipVerify?: boolean };
  /**
   * Serves tunnel streams on each gateway session (the kubectl proxy path) as tunnel instance
   * `instanceId` (also the end of the connection's name, so the gateways learn at once when that
   * connection ends); returns a stopper.
   */
  serveStreams?: (nc: BusConnection, instanceId: string) => Promise<() => Promise<void>>;
  /**
   * On each (re)connect, streams are served only once the gateway's desired state has been
   * reconciled (so bindings of grants deleted while the agent was away are gone first), or after
   * this long without one; default 10 s.
   */
  firstReconcileTimeoutMs?: number;
  /**
   * The namespace the agent runs in (its join credential and service account live there): grants
   * above `view` in it are refused (reported failed), never bound.
   */
  agentNamespace?: string | undefined;
  /** Injected for tests; defaults to the nats module's connectBus. */
  connect?: (urls: string[], opts: { user: string; pass: string; name: string }) => Promise<BusConnection>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The NATS WebSocket URLs of a comma-separated `--gateway` list. */
export function natsUrls(gateways: string): string[] {
  const list = gateways.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new Error("No gateway URL given");
  return list.map(natsUrl);
}

export function natsUrl(gateway: string): string {
  const u = new URL(gateway);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  else if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new Error(`Unsupported gateway URL ${gateway}: use http(s):// or ws(s)://`);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/nats";
  return u.toString();
}

/** Exponential backoff with ±50 % jitter. */
export function backoffMs(attempt: number, min: number, max: number, random = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.5 + random()));
}

export class Agent {
  readonly id = "a" + randomBytes(6).toString("hex");
  #o: Required<Omit<AgentOptions, "connect" | "serveStreams" | "gatewayTls" | "agentNamespace">> & Pick<AgentOptions, "connect" | "serveStreams" | "gatewayTls" | "agentNamespace">;
  #log: Logger;
  #nc: BusConnection | undefined;
  #stopped = false;
  /** Stops serving kubectl streams on the current connection (its presence says "down"). */
  #stopStreams: (() => Promise<void>) | undefined;
  #desired: DesiredGrant[] | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  #connected = false;

  constructor(opts: AgentOptions) {
    assertClusterId(opts.cluster);
    this.#o = {
      userPrefix: "ward:", helloMs: 10_000, resyncMs: 30_000, logger: silentLogger, minBackoffMs: 500, maxBackoffMs: 2000, now: Date.now, firstReconcileTimeoutMs: 10_000,
      ...opts,
    };
    this.#log = this.#o.logger;
  }

  /** Whether a gateway session is up: subscribed, serving streams and announced (readiness). */
  get connected(): boolean {
    return this.#connected;
  }

  /** Runs until `stop()`. */
  async run(): Promise<void> {
    const urls = natsUrls(this.#o.gateway);
    const url = urls.join(",");
    const connect = this.#o.connect ?? (async (u, o) => (await import("../nats/index.ts")).connectBusAny(u, { ...o, timeout: 10_000, ...(this.#o.gatewayTls ? { tls: this.#o.gatewayTls } : {}) }));
    let attempt = 0;
    while (!this.#stopped) {
      let nc: BusConnection;
      let instance: string;
      try {
        // A fresh tunnel instance per connection: its end tells the gateways this instance is gone.
        instance = "s" + randomBytes(6).toString("hex");
        nc = await connect(urls, { user: this.#o.cluster, pass: this.#o.credential, name: agentConnectionName(this.#o.cluster, instance) });
      } catch (err) {
        const wait = backoffMs(attempt++, this.#o.minBackoffMs, this.#o.maxBackoffMs);
        this.#log.warn("cannot connect to the gateway; retrying", { url, err: (err as Error).message, retryInMs: wait });
        await this.#sleep(wait);
        continue;
      }
      attempt = 0;
      this.#nc = nc;
      this.#log.info("connected to the gateway", { url, cluster: this.#o.cluster });
      try {
        await this.#session(nc, instance);
      } catch (err) {
        this.#log.warn("gateway session failed", { err });
      }
      this.#nc = undefined;
      if (!this.#stopped) {
        const wait = backoffMs(attempt++, this.#o.minBackoffMs, this.#o.maxBackoffMs);
        this.#log.warn("disconnected from the gateway; reconnecting", { retryInMs: wait });
        await this.#sleep(wait);
      }
    }
  }

  async #session(nc: BusConnection, instance: string): Promise<void> {
    const c = this.#o.cluster;
    let firstReconciled!: () => void;
    const reconciled = new Promise<void>((r) => (firstReconciled = r));
    nc.subscribe(accessSubjects.desired(c), {
      callback: (err, msg) => {
        if (err) return;
        try {
          const m = JSON.parse(dec.decode(msg.data)) as DesiredStateMsg;
          if (!Array.isArray(m.grants)) return;
          this.#desired = m.grants;
          this.reconcile();
          void this.#idle().then(firstReconciled);
        } catch (e) {
          this.#log.warn("bad desired-state message", { err: e });
        }
      },
    });
    await nc.flush();
    const hello = () => {
      const h: AgentHello = { v: 1, agent: this.id, intervalMs: this.#o.helloMs };
      try {
        nc.publish(accessSubjects.hello(c), enc.encode(JSON.stringify(h)));
      } catch {
        // closing
      }
    };
    // The gateway answers the hello with the desired state. Until it is reconciled, RBAC may still
    // hold bindings of grants deleted while this agent was away: kubectl traffic waits for it.
    hello();
    const helloTimer = setInterval(hello, this.#o.helloMs);
    let waitTimer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      reconciled.then(() => "reconciled" as const),
      new Promise<"timeout">((r) => (waitTimer = setTimeout(() => r("timeout"), this.#o.firstReconcileTimeoutMs))),
      nc.closed().then(() => "closed" as const),
    ]);
    clearTimeout(waitTimer);
    if (first === "closed") {
      clearInterval(helloTimer);
      return;
    }
    if (first === "timeout") this.#log.warn("no desired state from the gateway yet: serving kubectl traffic anyway", { waitedMs: this.#o.firstReconcileTimeoutMs });
    const stopStreams = this.#o.serveStreams ? await this.#o.serveStreams(nc, instance) : undefined;
    this.#stopStreams = stopStreams;
    const resyncTimer = setInterval(() => this.reconcile(), this.#o.resyncMs);
    this.#connected = true;
    try {
      await nc.closed();
    } finally {
      this.#connected = false;
      clearInterval(helloTimer);
      clearInterval(resyncTimer);
      this.#stopStreams = undefined;
      await stopStreams?.().catch(() => {});
    }
  }

  /** Resolves once no reconcile is running or queued. */
  async #idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Schedules a reconcile of the last desired state (coalesced; never before one arrived). */
  reconcile(): void {
    if (this.#desired === undefined) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#reconcileOnce().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.reconcile();
      }
    });
  }

  async #reconcileOnce(): Promise<void> {
    const desired = this.#desired!;
    const now = this.#o.now();
    let report: StatusReportMsg;
    try {
      const allowed: DesiredGrant[] = [];
      const refused: GrantStatusUpdate[] = [];
      for (const g of desired) {
        const error = refusedInAgentNamespace(g, this.#o.agentNamespace);
        if (error) refused.push({ id: g.id, status: "failed", error });
        else allowed.push(g);
      }
      const { results, changes } = await reconcileRbac(this.#o.rbac, planBindings(allowed, this.#o.userPrefix, now));
      for (const ch of changes) this.#log.info("rbac", { change: ch });
      results.push(...refused);
      for (const r of results) if (r.status === "failed") this.#log.warn("grant failed", { grant: r.id, error: r.error });
      report = { v: 1, agent: this.id, results };
    } catch (err) {
      const { apiErrorMessage } = await import("./rbac.ts");
      const error = apiErrorMessage(err);
      this.#log.warn("rbac reconcile failed", { error });
      report = { v: 1, agent: this.id, results: desired.map((g) => ({ id: g.id, status: "failed", error })) };
    }
    try {
      this.#nc?.publish(accessSubjects.status(this.#o.cluster), enc.encode(JSON.stringify(report)));
    } catch {
      // disconnected: the next hello brings a fresh desired state
    }
    clearTimeout(this.#expiryTimer);
    const next = nextExpiry(desired, now);
    if (next !== undefined) {
      this.#expiryTimer = setTimeout(() => this.reconcile(), Math.min(2 ** 31 - 1, next - this.#o.now() + 50));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#timers.push(t);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /**
   * Stops serving kubectl streams, which tells the gateways this agent is gone (its presence says
   * "down": the cluster is offline at once when it was the last one), and disconnects.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#expiryTimer);
    this.#wake?.();
    const nc = this.#nc;
    if (nc) {
      const stopStreams = this.#stopStreams;
      this.#stopStreams = undefined;
      await stopStreams?.().catch(() => {});
      await nc.close();
    }
    await this.#running;
  }
}
