/**
 * Presence: agents announce themselves on `ward.gw.<cluster>.presence` every heartbeat interval
 * (and at once when a gateway probes `ward.agent.<cluster>.probe`, and with state "down" when they
 * stop). Gateways track which agent instances are alive; a cluster is online while at least one is.
 * An agent missing `MISSED_BEATS` heartbeats is gone.
 */
import { isSubjectToken } from "../validate/index.ts";

export const MISSED_BEATS = 3;
const MIN_INTERVAL = 10;
const MAX_INTERVAL = 60_000;

export interface Heartbeat {
  agent: string;
  state: "up" | "down";
  intervalMs: number;
  streams: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeHeartbeat(hb: Heartbeat): Uint8Array {
  return enc.encode(JSON.stringify({ v: 1, ...hb }));
}

/** Parses and validates a heartbeat; null if it is not one (never throws). */
export function decodeHeartbeat(data: Uint8Array): Heartbeat | null {
  if (data.length > 1024) return null;
  let o: unknown;
  try {
    o = JSON.parse(dec.decode(data));
  } catch {
    return null;
  }
  if (typeof o !== "object" || o === null) return null;
  const r = o as Record<string, unknown>;
  if (typeof r.agent !== "string" || !isSubjectToken(r.agent)) return null;
  if (r.state !== "up" && r.state !== "down") return null;
  if (typeof r.intervalMs !== "number" || !Number.isFinite(r.intervalMs)) return null;
  const streams = typeof r.streams === "number" && Number.isFinite(r.streams) ? r.streams : 0;
  return { agent: r.agent, state: r.state, intervalMs: Math.min(MAX_INTERVAL, Math.max(MIN_INTERVAL, r.intervalMs)), streams };
}

export interface PresenceEvents {
  /** A cluster got its first live agent. */
  online(cluster: string): void;
  /** A cluster lost its last live agent. */
  offline(cluster: string): void;
  /** One agent instance is gone (its sessions' streams should be reset). */
  agentGone(cluster: string, agent: string): void;
}

/** The gateway's view of which agents are alive. Pure apart from the callbacks; time is passed in. */
export class PresenceTracker {
  /** cluster -> agent -> expiry (clock ms) */
  #clusters = new Map<string, Map<string, number>>();
  #events: PresenceEvents;

  constructor(events: PresenceEvents) {
    this.#events = events;
  }

  isOnline(cluster: string): boolean {
    return (this.#clusters.get(cluster)?.size ?? 0) > 0;
  }

  agents(cluster: string): string[] {
    return [...(this.#clusters.get(cluster)?.keys() ?? [])];
  }

  isAgentAlive(cluster: string, agent: string): boolean {
    return this.#clusters.get(cluster)?.has(agent) ?? false;
  }

  clusters(): string[] {
    return [...this.#clusters.keys()];
  }

  heartbeat(cluster: string, hb: Heartbeat, now: number): void {
    let agents = this.#clusters.get(cluster);
    if (hb.state === "down") {
      if (agents?.delete(hb.agent)) this.#gone(cluster, hb.agent, agents);
      return;
    }
    const fresh = !agents;
    if (!agents) this.#clusters.set(cluster, (agents = new Map()));
    agents.set(hb.agent, now + hb.intervalMs * MISSED_BEATS + MIN_INTERVAL);
    if (fresh) this.#events.online(cluster);
  }

  sweep(now: number): void {
    for (const [cluster, agents] of [...this.#clusters]) {
      for (const [agent, expiry] of [...agents]) {
        if (now > expiry) {
          agents.delete(agent);
          this.#gone(cluster, agent, agents);
        }
      }
    }
  }

  #gone(cluster: string, agent: string, agents: Map<string, number>): void {
    this.#events.agentGone(cluster, agent);
    if (agents.size === 0 && this.#clusters.get(cluster) === agents) {
      this.#clusters.delete(cluster);
      this.#events.offline(cluster);
    }
  }
}
