/**
 * The gateways' view from nats-server's system account:
 * - `kick(user)`: closes every connection authenticated as `user` on every server of the cluster
 *   (CONNZ to all servers, then KICK by connection id on each). For an agent whose join credential
 *   was rotated or whose cluster lost access: nats-server fixed its permissions at connect, so the
 *   connection itself must go.
 * - `onDisconnect`: the agents' account's disconnect events (presence knows at once that an agent's
 *   connection ended, instead of after missed heartbeats).
 */
import type { BusConnection } from "../nats/index.ts";
import type { BusSubscription } from "../bus/index.ts";
import { silentLogger, type Logger } from "../log/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
/** How long a CONNZ ping gathers answers from the cluster's servers. */
const CONNZ_WAIT_MS = 500;
/** Disconnect events carry client info; anything larger is not one. */
const MAX_EVENT_BYTES = 64 * 1024;

export interface DisconnectInfo {
  /** The authenticated user name (set by the callout: `agent:<cluster>`). */
  user: string;
  /** The client's own connection name (client-chosen). */
  name: string;
}

export class NatsSystem {
  #nc: BusConnection;
  #log: Logger;
  #account: string;
  #subs: BusSubscription[] = [];

  constructor(nc: BusConnection, opts: { account?: string; logger?: Logger } = {}) {
    this.#nc = nc;
    this.#account = opts.account ?? "WARD";
    this.#log = opts.logger ?? silentLogger;
  }

  /** Kicks every connection of `user` in the agents' account, on every server; resolves to how many. */
  async kick(user: string): Promise<number> {
    const inbox = `_INBOX.ward.kick.${crypto.randomUUID().replaceAll("-", "")}`;
    const found: { server: string; cid: number }[] = [];
    const sub = this.#nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err || msg.data.length > 4 * 1024 * 1024) return;
        try {
          const r = JSON.parse(dec.decode(msg.data)) as { server?: { id?: string }; data?: { connections?: { cid?: number; authorized_user?: string; account?: string }[] } };
          const server = r.server?.id;
          if (typeof server !== "string" || !/^N[A-Z2-7]{55}$/.test(server)) return;
          for (const c of r.data?.connections ?? []) {
            if (typeof c.cid === "number" && c.authorized_user === user && c.account === this.#account) found.push({ server, cid: c.cid });
          }
        } catch {
          // not a CONNZ answer
        }
      },
    });
    try {
      this.#nc.publish("$SYS.REQ.SERVER.PING.CONNZ", enc.encode(JSON.stringify({ user, acc: this.#account, auth: true, limit: 10_000 })), { reply: inbox });
      await new Promise((r) => setTimeout(r, CONNZ_WAIT_MS));
    } finally {
      sub.unsubscribe();
    }
    let kicked = 0;
    await Promise.all(found.map(async ({ server, cid }) => {
      try {
        const r = await this.#nc.request(`$SYS.REQ.SERVER.${server}.KICK`, enc.encode(JSON.stringify({ cid })), { timeout: 2000 });
        const body = JSON.parse(dec.decode(r.data)) as { error?: { description?: string } };
        if (body.error) this.#log.warn("nats-server refused a kick", { server, cid, error: body.error.description });
        else kicked++;
      } catch (err) {
        this.#log.warn("kick failed", { server, cid, err: err as Error });
      }
    }));
    return kicked;
  }

  /** Calls `cb` for each connection of the agents' account that ends, anywhere in the cluster. */
  onDisconnect(cb: (info: DisconnectInfo) => void): void {
    this.#subs.push(this.#nc.subscribe(`$SYS.ACCOUNT.${this.#account}.DISCONNECT`, {
      callback: (err, msg) => {
        if (err || msg.data.length > MAX_EVENT_BYTES) return;
        try {
          const ev = JSON.parse(dec.decode(msg.data)) as { client?: { user?: unknown; name?: unknown } };
          const user = ev.client?.user;
          const name = ev.client?.name;
          if (typeof user === "string" && typeof name === "string") cb({ user, name });
        } catch {
          // not an event
        }
      },
    }));
  }

  async close(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
    await this.#nc.close().catch(() => {});
  }
}
