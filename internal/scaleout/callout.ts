/**
 * nats-server's auth callout, served by every gateway (a queue group: any one answers). nats-server
 * sends each connecting agent's CONNECT (user = cluster id, pass = join credential) as a signed
 * authorization request; the answer is a user JWT, signed with the account key the gateways share,
 * that places the agent in the agents' account allowed to
 *   subscribe: ward.agent.<cluster>.>    publish: ward.gw.<cluster>.>
 * and nothing else (no `>`, no `_INBOX.>`: agents never make requests), with its user name set to
 * `agent:<cluster>` so monitoring, kicks and disconnect events name the cluster from a source the
 * agent cannot choose. Permissions are fixed at connect: a rotated credential is enforced by kicking
 * (see system.ts), and a stolen old one is refused here.
 *
 * Input is hostile: requests are size-capped, their signature and shape checked, ids validated before
 * they reach a subject, and at most `maxInFlight` checks run at once (more are refused at once, so a
 * connection storm cannot queue unbounded work on the store).
 */
import { decode, encodeAuthorizationResponse, encodeUser } from "@nats-io/jwt";
import { fromPublic, type KeyPair } from "@nats-io/nkeys";
import type { Bus, BusMsg, BusSubscription } from "../bus/index.ts";
import { subjects } from "../bus/index.ts";
import { silentLogger, type Logger } from "../log/index.ts";
import { isValidClusterId } from "../validate/index.ts";

/** Where nats-server sends authorization requests (in the callout account). */
export const AUTH_CALLOUT_SUBJECT = "$SYS.REQ.USER.AUTH";
export const AUTH_CALLOUT_QUEUE = "ward-auth-callout";
/** A request is a JWT of a few KiB (connect options, client info); more is not one. */
const MAX_REQUEST_BYTES = 32 * 1024;
/** Agents use a handful of subscriptions; the JWT caps them. */
const AGENT_MAX_SUBSCRIPTIONS = 32;

export interface AuthCalloutOptions {
  bus: Bus;
  /** The callout's account key (seed): signs responses and agent user JWTs; its public key is the config's `issuer`. */
  issuer: KeyPair;
  /** The account agents are placed in (the config's `account`; default WARD). */
  account?: string;
  /** Checks a cluster's join credential. */
  authenticate(cluster: string, credential: string): Promise<boolean>;
  logger?: Logger;
  maxInFlight?: number;
}

interface AuthRequest {
  userNkey: string;
  serverId: string;
  user: unknown;
  pass: unknown;
  host: string | undefined;
}

export class AuthCallout {
  #o: Required<Omit<AuthCalloutOptions, "logger">>;
  #log: Logger;
  #sub: BusSubscription | undefined;
  #inFlight = 0;
  readonly stats = { allowed: 0, refused: 0, malformed: 0, busy: 0 };

  constructor(opts: AuthCalloutOptions) {
    this.#o = { account: "WARD", maxInFlight: 64, ...opts };
    this.#log = opts.logger ?? silentLogger;
  }

  start(): void {
    this.#sub = this.#o.bus.subscribe(AUTH_CALLOUT_SUBJECT, { queue: AUTH_CALLOUT_QUEUE, callback: (err, msg) => !err && void this.#handle(msg) });
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
  }

  async #handle(msg: BusMsg): Promise<void> {
    if (!msg.reply) return;
    const req = parseRequest(msg.data);
    if (!req) {
      // Not answerable (no user key to address an answer to): nats-server times the client out.
      this.stats.malformed++;
      this.#log.warn("auth callout: malformed authorization request ignored", { bytes: msg.data.length });
      return;
    }
    if (this.#inFlight >= this.#o.maxInFlight) {
      this.stats.busy++;
      return this.#respond(msg.reply, req, { error: "Ward gateways are busy checking other agents: retry" });
    }
    this.#inFlight++;
    try {
      const cluster = typeof req.user === "string" && isValidClusterId(req.user) ? req.user : undefined;
      const ok = cluster !== undefined && typeof req.pass === "string" && req.pass.length > 0 && req.pass.length <= 1024 && (await this.#o.authenticate(cluster, req.pass));
      if (!ok || !cluster) {
        this.stats.refused++;
        this.#log.warn("agent authentication failed", { cluster: cluster ?? "(invalid cluster id)", from: req.host });
        return this.#respond(msg.reply, req, { error: "Ward refused the agent: unknown cluster or wrong join credential" });
      }
      const perms = subjects.agentPermissions(cluster);
      const jwt = await encodeUser(`agent:${cluster}`, fromPublic(req.userNkey), this.#o.issuer, {
        pub: { allow: perms.publish, deny: [] },
        sub: { allow: perms.subscribe, deny: [] },
        subs: AGENT_MAX_SUBSCRIPTIONS,
        tags: [`ward-cluster:${cluster}`],
      }, { aud: this.#o.account });
      this.stats.allowed++;
      return this.#respond(msg.reply, req, { jwt });
    } catch (err) {
      this.#log.warn("auth callout failed", { err: err as Error });
      return this.#respond(msg.reply, req, { error: "Ward could not check the agent's credential now: retry" });
    } finally {
      this.#inFlight--;
    }
  }

  async #respond(reply: string, req: AuthRequest, data: { jwt: string } | { error: string }): Promise<void> {
    try {
      const token = await encodeAuthorizationResponse(fromPublic(req.userNkey), fromPublic(req.serverId), this.#o.issuer, data, {});
      this.#o.bus.publish(reply, new TextEncoder().encode(token));
    } catch (err) {
      this.#log.warn("auth callout: could not answer", { err: err as Error });
    }
  }
}

/**
 * Decodes and checks an authorization request: a JWT signed by the nats-server it names, for the
 * callout audience, with a user key to answer for. Null when it is not one (never throws).
 */
export function parseRequest(data: Uint8Array): AuthRequest | null {
  if (data.length > MAX_REQUEST_BYTES) return null;
  let claims: { iss?: unknown; aud?: unknown; nats?: Record<string, unknown> };
  try {
    // decode verifies the signature against the issuer the token names.
    claims = decode(new TextDecoder().decode(data)) as typeof claims;
  } catch {
    return null;
  }
  const n = claims.nats;
  if (!n || n.type !== "authorization_request" || claims.aud !== "nats-authorization-request") return null;
  const server = n.server_id as Record<string, unknown> | undefined;
  const userNkey = n.user_nkey;
  if (typeof server?.id !== "string" || server.id !== claims.iss || !/^N[A-Z2-7]{55}$/.test(server.id)) return null;
  if (typeof userNkey !== "string" || !/^U[A-Z2-7]{55}$/.test(userNkey)) return null;
  const co = (n.connect_opts ?? {}) as Record<string, unknown>;
  const ci = (n.client_info ?? {}) as Record<string, unknown>;
  return { userNkey, serverId: server.id, user: co.user, pass: co.pass, host: typeof ci.host === "string" ? ci.host.slice(0, 64) : undefined };
}
