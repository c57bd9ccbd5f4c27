/**
 * A simulated agent: one real NATS connection to the gateway speaking the agent protocol with the
 * product's own code — `connectBus` (WebSocket to `<gateway>/nats`, user = cluster id, pass = join
 * token, the gateway's CA) and a `TunnelAgent` serving the cluster's stream subjects and sending
 * presence heartbeats — plus the access exchange of internal/agent/agent.ts: subscribe to the
 * desired state, say hello (on connect and every hello interval), report every grant it is sent as
 * applied, and serve streams once the first desired state arrived. No RBAC and no API server: the
 * gateway cannot tell it from `ward agent`.
 */
import { randomBytes } from "node:crypto";
import { accessSubjects, agentConnectionName, type AgentHello, type DesiredStateMsg, type StatusReportMsg } from "../../internal/bus/index.ts";
import { connectBus, type BusConnection } from "../../internal/nats/index.ts";
import { TunnelAgent } from "../../internal/tunnel/index.ts";

/** `ward agent`'s default hello interval. */
const HELLO_MS = 10_000;
/** How long `ward agent` waits for the first desired state before serving streams anyway. */
const FIRST_DESIRED_MS = 10_000;

export interface SimAgentOptions {
  /** wss://host:port/nats */
  natsUrl: string;
  cluster: string;
  joinToken: string;
  ca: Buffer;
}

export interface SimAgent {
  cluster: string;
  bus: BusConnection;
  /** Says goodbye (presence "down") and disconnects, as `ward agent` does on SIGTERM. */
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function startSimAgent(o: SimAgentOptions): Promise<SimAgent> {
  const id = "a" + randomBytes(6).toString("hex");
  const bus = await connectBus(o.natsUrl, {
    user: o.cluster, pass: o.joinToken, name: agentConnectionName(o.cluster, id), maxReconnectAttempts: 0, timeout: 20_000, tls: { ca: o.ca }, extra: { reconnect: false },
  });
  let firstDesired!: () => void;
  const desired = new Promise<void>((r) => (firstDesired = r));
  bus.subscribe(accessSubjects.desired(o.cluster), {
    callback: (err, msg) => {
      if (err) return;
      const m = JSON.parse(dec.decode(msg.data)) as DesiredStateMsg;
      const report: StatusReportMsg = { v: 1, agent: id, results: m.grants.map((g) => ({ id: g.id, status: "applied" })) };
      publish(accessSubjects.status(o.cluster), report);
      firstDesired();
    },
  });
  await bus.flush();
  const hello = () => publish(accessSubjects.hello(o.cluster), { v: 1, agent: id, intervalMs: HELLO_MS } satisfies AgentHello);
  hello();
  const helloTimer = setInterval(hello, HELLO_MS);
  helloTimer.unref();
  let waitTimer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([desired, new Promise((r) => (waitTimer = setTimeout(r, FIRST_DESIRED_MS)))]);
  clearTimeout(waitTimer);
  // One id for the connection and the tunnel instance, as `ward agent` does: a closed connection
  // tells the gateway at once which instance is gone.
  const tunnel = new TunnelAgent(bus, { cluster: o.cluster, instanceId: id });
  // No stream reaches a simulated agent in this benchmark; one that did gets a clear answer.
  await tunnel.serve((s) => {
    s.respond({ status: 503, headers: ["Content-Type", "text/plain"] });
    s.end("A simulated agent (bench-scale) serves no requests");
  });
  return {
    cluster: o.cluster,
    bus,
    async close() {
      clearInterval(helloTimer);
      await tunnel.close();
      await bus.close();
    },
  };

  function publish(subject: string, msg: unknown): void {
    try {
      bus.publish(subject, enc.encode(JSON.stringify(msg)));
    } catch {
      // closed: the agent is going away
    }
  }
}
