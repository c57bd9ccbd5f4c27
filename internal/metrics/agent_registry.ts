/**
 * The agent's Prometheus registry: its own gauges and counter, read from the running agent at scrape
 * time, plus prom-client's default process metrics (CPU, memory, event-loop lag, handles, GC).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";

/** What the agent reports; read on every scrape. */
export interface AgentMetricsSource {
  /** Whether the agent has a live session with the gateway. */
  connected(): boolean;
  /** Tunnel streams being forwarded to the API server right now. */
  openStreams(): number;
  /** Tunnel streams accepted since the start (monotonic). */
  streamsTotal(): number;
}

export interface AgentRegistryOptions {
  /** prom-client's default process metrics; default true. */
  defaultMetrics?: boolean;
}

export function agentRegistry(source: AgentMetricsSource, opts: AgentRegistryOptions = {}): Registry {
  const registry = new Registry();
  new Gauge({
    name: "ward_agent_connected",
    help: "1 while the agent has a live session with the Ward gateway, 0 otherwise.",
    registers: [registry],
    collect() {
      this.set(source.connected() ? 1 : 0);
    },
  });
  new Gauge({
    name: "ward_agent_open_streams",
    help: "Tunnel streams (kubectl requests, watches, logs, exec, port-forward) the agent is forwarding to the API server now.",
    registers: [registry],
    collect() {
      this.set(source.openStreams());
    },
  });
  let reported = 0;
  new Counter({
    name: "ward_agent_streams_total",
    help: "Tunnel streams the agent has accepted and forwarded to the API server since it started.",
    registers: [registry],
    collect() {
      const total = source.streamsTotal();
      if (total > reported) this.inc(total - reported);
      reported = Math.max(reported, total);
    },
  });
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}
