/**
 * Keeps the gateways of a deployment coherent (scale-out): what one gateway changes, the others
 * hear over the bus on `ward.ctl.access` and apply — cache entries dropped (members, clusters,
 * grants, token ids, settings), revocations acted on (live streams closed), the access feature
 * switched off, grant status changes shown live, token mints counted against the member's rate
 * limit. The proxy path keeps reading only memory; nothing is re-read from the store per request.
 *
 * Only gateways can publish here (agents may publish only under `ward.gw.<cluster>.>`), but messages
 * are still checked field by field and size-capped. A gap (the bus reconnected) may have lost
 * messages: `resync()` then drops every cached entry.
 */
import type { Bus, BusSubscription } from "../bus/index.ts";
import { silentLogger, type Logger } from "../log/index.ts";
import { isValidClusterId } from "../validate/index.ts";
import type { Invalidation } from "./_access_state.ts";
import type { AccessService } from "./service.ts";
import type { RevocationEvent } from "./types.ts";

export const RELAY_SUBJECT = "ward.ctl.access";
const MAX_MESSAGE_BYTES = 16 * 1024;
const REASONS: readonly RevocationEvent["reason"][] = ["grant-deleted", "grant-expired", "token-revoked", "revoke-all", "member-disabled"];

type Change =
  | { t: "inv"; inv: Invalidation }
  | { t: "revoked"; ev: RevocationEvent }
  | { t: "disabled" }
  | { t: "status"; cluster: string }
  | { t: "grants"; cluster: string }
  | { t: "minted"; member: string };

interface Envelope {
  v: 1;
  from: string;
  c: Change;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class AccessRelay {
  readonly #bus: Bus;
  readonly #access: AccessService;
  readonly #id: string;
  readonly #log: Logger;
  #sub: BusSubscription | undefined;
  /** Set while a change from another gateway is applied: the events it re-emits are not relayed back. */
  #applying = false;
  readonly stats = { sent: 0, applied: 0, dropped: 0 };
  readonly #listeners: [keyof import("./types.ts").AccessEvents, (...a: never[]) => void][];

  constructor(bus: Bus, access: AccessService, opts: { id: string; logger?: Logger }) {
    this.#bus = bus;
    this.#access = access;
    this.#id = opts.id;
    this.#log = opts.logger ?? silentLogger;
    this.#listeners = [
      ["invalidated", (inv: Invalidation) => this.#send({ t: "inv", inv })],
      ["revoked", (ev: RevocationEvent) => this.#send({ t: "revoked", ev })],
      ["disabled", () => this.#send({ t: "disabled" })],
      ["statusChanged", (cluster: string) => this.#send({ t: "status", cluster })],
      ["grantsChanged", (cluster: string) => this.#send({ t: "grants", cluster })],
      ["tokenMinted", (ev: { memberId: string }) => this.#send({ t: "minted", member: ev.memberId })],
    ];
    for (const [name, fn] of this.#listeners) access.events.on(name, fn as never);
    this.#sub = bus.subscribe(RELAY_SUBJECT, { callback: (err, msg) => !err && this.#receive(msg.data) });
  }

  /** After a gap in the bus (reconnected): changes may have been missed, so nothing cached is trusted. */
  resync(): void {
    this.#access.dropAllCached();
  }

  close(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    for (const [name, fn] of this.#listeners) this.#access.events.off(name, fn as never);
  }

  #send(c: Change): void {
    if (this.#applying || !this.#sub) return;
    const env: Envelope = { v: 1, from: this.#id, c };
    try {
      this.#bus.publish(RELAY_SUBJECT, enc.encode(JSON.stringify(env)));
      this.stats.sent++;
    } catch (err) {
      // The bus is closing or reconnecting; the other gateways resync when they see the gap.
      this.#log.warn("could not relay an access change to the other gateways", { change: c.t, err: err as Error });
    }
  }

  #receive(data: Uint8Array): void {
    let env: unknown;
    try {
      env = data.length <= MAX_MESSAGE_BYTES ? JSON.parse(dec.decode(data)) : undefined;
    } catch {
      env = undefined;
    }
    const e = env as Partial<Envelope> | undefined;
    if (!e || e.v !== 1 || typeof e.from !== "string") return void this.stats.dropped++;
    if (e.from === this.#id) return; // our own, already applied
    const c = parseChange(e.c);
    if (!c) {
      this.stats.dropped++;
      this.#log.warn("malformed access change from another gateway dropped", { from: e.from.slice(0, 64) });
      return;
    }
    this.#applying = true;
    try {
      this.#apply(c);
      this.stats.applied++;
    } finally {
      this.#applying = false;
    }
  }

  #apply(c: Change): void {
    const a = this.#access;
    switch (c.t) {
      case "inv":
        return a.dropCached(c.inv);
      case "revoked":
        return void a.events.emit("revoked", c.ev);
      case "disabled":
        a.dropCached({ kind: "settings" });
        return void a.events.emit("disabled");
      case "status":
      case "grants":
        // Live views refresh; the agents were sent the new grants by the gateway that changed them.
        return void a.events.emit("statusChanged", c.cluster);
      case "minted":
        return a.countRemoteMint(c.member);
    }
  }
}

const isCluster = (v: unknown): v is string => typeof v === "string" && isValidClusterId(v);
const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 128;
const optId = (v: unknown) => v === undefined || isId(v);

/** Checks a change field by field; null when anything is off. */
function parseChange(v: unknown): Change | null {
  if (typeof v !== "object" || v === null) return null;
  const c = v as Record<string, unknown>;
  switch (c.t) {
    case "inv": {
      const inv = parseInvalidation(c.inv);
      return inv ? { t: "inv", inv } : null;
    }
    case "revoked": {
      const ev = c.ev as Record<string, unknown> | undefined;
      if (!ev || !isCluster(ev.clusterId) || !REASONS.includes(ev.reason as RevocationEvent["reason"])) return null;
      if (!optId(ev.memberId) || !optId(ev.tokenId) || !optId(ev.grantId)) return null;
      const out: RevocationEvent = { clusterId: ev.clusterId as string, reason: ev.reason as RevocationEvent["reason"] };
      if (ev.memberId !== undefined) out.memberId = ev.memberId as string;
      if (ev.tokenId !== undefined) out.tokenId = ev.tokenId as string;
      if (ev.grantId !== undefined) out.grantId = ev.grantId as string;
      return { t: "revoked", ev: out };
    }
    case "disabled":
      return { t: "disabled" };
    case "status":
    case "grants":
      return isCluster(c.cluster) ? { t: c.t, cluster: c.cluster as string } : null;
    case "minted":
      return isId(c.member) ? { t: "minted", member: c.member } : null;
    default:
      return null;
  }
}

function parseInvalidation(v: unknown): Invalidation | null {
  if (typeof v !== "object" || v === null) return null;
  const i = v as Record<string, unknown>;
  switch (i.kind) {
    case "member":
      return isId(i.id) ? { kind: "member", id: i.id } : null;
    case "cluster":
      return isCluster(i.id) ? { kind: "cluster", id: i.id as string } : null;
    case "grants":
      if (!isCluster(i.cluster) || !optId(i.member)) return null;
      return i.member === undefined ? { kind: "grants", cluster: i.cluster as string } : { kind: "grants", cluster: i.cluster as string, member: i.member as string };
    case "tokens":
      if (i.id !== undefined) return isId(i.id) ? { kind: "tokens", id: i.id } : null;
      if (!isCluster(i.cluster) || !optId(i.member)) return null;
      return i.member === undefined ? { kind: "tokens", cluster: i.cluster as string } : { kind: "tokens", cluster: i.cluster as string, member: i.member as string };
    case "settings":
      return { kind: "settings" };
    default:
      return null;
  }
}
