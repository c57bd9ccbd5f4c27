/**
 * The gateway's transport, one of two behind one shape:
 * - embedded (default): the gateway's own NATS endpoint (`/nats` on its HTTPS port), agents
 *   checked by the join-credential authenticator and confined per connection; the gateway itself on
 *   the in-process client;
 * - scale-out: a nats-server cluster over NATS TCP. The gateway serves the auth callout (agents
 *   confined by nats-server through the user JWTs it issues), and with system credentials kicks the
 *   agents of a rotated credential and hears their disconnects.
 */
import { readFileSync } from "node:fs";
import type { AccessService } from "../access/index.ts";
import type { Bus } from "../bus/index.ts";
import { subjects } from "../bus/index.ts";
import type { Logger } from "../log/index.ts";
import { connectBusTcp, NatsServer, type Authenticator, type BusConnection } from "../nats/index.ts";
import { isValidClusterId } from "../validate/index.ts";

/** How a gateway joins a nats-server cluster (see internal/scaleout and the README's Scale-out). */
export interface NatsClusterOptions {
  /** nats://host:port of the cluster's servers (NATS TCP). */
  servers: string[];
  /** nkey seed file (`SU…`) of the gateways' user in the agents' account. */
  credentialsFile: string;
  /** nkey seed file (`SA…`) of the auth callout's issuer account key. */
  calloutKeyFile: string;
  /** nkey seed file (`SU…`) of the gateways' system-account user: kicks rotated agents, hears disconnects. */
  systemCredentialsFile?: string | undefined;
  /** The agents' account (default WARD). */
  account?: string | undefined;
  /** PEM CA for nats-server's TLS. */
  caFile?: string | undefined;
}

export interface GatewayTransport {
  /** The embedded endpoint (undefined in scale-out). */
  readonly nats: NatsServer | undefined;
  /** What the gateway's areas talk over. */
  readonly bus: Bus;
  /** After the bus reconnected (scale-out: messages may have been missed meanwhile). */
  onReconnect(cb: () => void): void;
  /** Disconnects every agent connection of a cluster (its credential was rotated); resolves to how many. */
  disconnectAgents(cluster: string): Promise<number>;
  close(): Promise<void>;
}

interface TransportDeps {
  access: AccessService;
  logger: Logger;
  /** An authenticated agent connection ended: identity `agent:<cluster>`, its connection name. */
  onAgentClosed(identity: string, name: string | undefined): void;
}

export function embeddedNats({ access, logger: log, onAgentClosed }: TransportDeps): GatewayTransport {
  const authenticator: Authenticator = async (co) => {
    const cluster = co.user;
    if (typeof cluster !== "string" || typeof co.pass !== "string" || !isValidClusterId(cluster)) return null;
    if (!(await access.authenticateAgent(cluster, co.pass))) {
      log.warn("agent authentication failed", { cluster });
      return null;
    }
    return { identity: `agent:${cluster}`, permissions: subjects.agentPermissions(cluster) };
  };
  const nats = new NatsServer({ authenticator, logger: log.child({ area: "nats" }), onClientClosed: onAgentClosed });
  return {
    nats,
    bus: nats.connectInProcess({ identity: "gateway" }),
    onReconnect() {},
    disconnectAgents: async (cluster) => nats.disconnectIdentity(`agent:${cluster}`),
    close: () => nats.close(),
  };
}

export async function joinNatsCluster(o: NatsClusterOptions, { access, logger, onAgentClosed }: TransportDeps): Promise<GatewayTransport> {
  const log = logger.child({ area: "nats" });
  const { AuthCallout, NatsSystem, readSeedFile } = await import("../scaleout/index.ts");
  const warn = (msg: string) => log.warn(msg);
  const user = readSeedFile(o.credentialsFile, "user", "--nats-credentials", warn);
  const issuer = readSeedFile(o.calloutKeyFile, "account", "--nats-callout-key", warn);
  const system = o.systemCredentialsFile ? readSeedFile(o.systemCredentialsFile, "user", "--nats-system-credentials", warn) : undefined;
  const account = o.account ?? "WARD";
  const tls = o.caFile ? { ca: readFileSync(o.caFile) } : undefined;
  const connect = async (seed: Uint8Array, role: string): Promise<BusConnection> => {
    try {
      return await connectBusTcp(o.servers, { nkeySeed: seed, name: `ward-gateway-${role}`, ...(tls ? { tls } : {}) });
    } catch (e) {
      throw new Error(`Cannot connect to the NATS cluster at ${o.servers.join(",")} as the gateways' ${role} user: ${(e as Error).message}`, { cause: e });
    }
  };
  const nc = await connect(user.getSeed(), "account");
  let sys: InstanceType<typeof NatsSystem> | undefined;
  try {
    sys = system ? new NatsSystem(await connect(system.getSeed(), "system"), { account, logger: log }) : undefined;
  } catch (e) {
    await nc.close();
    throw e;
  }
  log.info("connected to the NATS cluster", { server: nc.getServer(), account, system: !!sys });
  if (!sys) log.warn("no --nats-system-credentials: a rotated agent credential cannot disconnect agents already connected, and a vanished agent is noticed only by its missed heartbeats");
  const callout = new AuthCallout({ bus: nc, issuer, account, authenticate: (c, p) => access.authenticateAgent(c, p), logger: log });
  callout.start();
  sys?.onDisconnect(({ user: u, name }) => onAgentClosed(u, name));
  await nc.flush();

  const reconnectListeners: (() => void)[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") log.warn("disconnected from the NATS cluster; reconnecting", { server: s.server });
      else if (s.type === "reconnect") {
        log.info("reconnected to the NATS cluster", { server: s.server });
        for (const cb of reconnectListeners) cb();
      }
    }
  })().catch(() => {});
  return {
    nats: undefined,
    bus: nc,
    onReconnect: (cb) => void reconnectListeners.push(cb),
    async disconnectAgents(cluster) {
      if (!sys) throw new Error("the gateway has no --nats-system-credentials to kick connections with");
      return sys.kick(`agent:${cluster}`);
    },
    async close() {
      callout.stop();
      await sys?.close();
      await nc.drain().catch(() => nc.close());
    },
  };
}
