/**
 * Message routing: match a published subject against every subscription, deliver to each plain
 * subscriber and to one random member of each queue group, honour `echo` and auto-unsubscribe.
 * Shared by network connections and in-process clients.
 */
import { SubjectIndex, type Indexed } from "./subject_index.ts";
import { subjectMatches } from "./subject.ts";

export interface ServerSub extends Indexed {
  readonly sid: string;
  readonly client: RoutedClient;
  /** Auto-unsubscribe after this many deliveries (0 = never). */
  max: number;
  delivered: number;
}

/** What the router needs from a connection, network or in-process. */
export interface RoutedClient {
  readonly cid: number;
  readonly echo: boolean;
  /**
   * True when deliveries outlive the publish call (the in-process client queues them): such a
   * client must not be handed a buffer its publisher may still change.
   */
  readonly keepsData: boolean;
  /**
   * Returns true when this client's output is congested (the publisher should slow down).
   * `stable`: nobody changes `data` any more, so the client may keep a reference instead of a copy.
   */
  deliver(sub: ServerSub, subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array, stable: boolean): boolean;
  /** Drop a subscription that reached its max. */
  expire(sub: ServerSub): void;
  /** This client's own subscriptions, for no-responders replies. */
  subscriptions(): Iterable<ServerSub>;
}

export class Router {
  readonly index = new SubjectIndex<ServerSub>();
  /** Set by `route` when a receiver reported congestion (read it right after the call). */
  congested = false;

  /**
   * Delivers a message; returns how many subscriptions got it. `volatile` says `data` belongs
   * to a caller that may reuse it once this returns (copied once for clients that keep it).
   */
  route(from: RoutedClient, subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array, volatile: boolean): number {
    const m = this.index.match(subject);
    const plain = m.plain;
    const groups = m.groups;
    this.congested = false;
    if (plain.length === 0 && groups.length === 0) return 0;
    let stable: Uint8Array | null = volatile ? null : data;
    let n = 0;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i]!;
      const c = sub.client;
      if (c === from && !from.echo) continue;
      if (c.keepsData && stable === null) stable = data.slice();
      this.#deliver(sub, subject, reply, hdrLen, c.keepsData ? stable! : data, c.keepsData || !volatile);
      n++;
    }
    for (let g = 0; g < groups.length; g++) {
      const members = groups[g]!;
      const len = members.length;
      const start = len === 1 ? 0 : Math.floor(Math.random() * len);
      for (let k = 0; k < len; k++) {
        const sub = members[(start + k) % len]!;
        const c = sub.client;
        if (c === from && !from.echo) continue;
        if (c.keepsData && stable === null) stable = data.slice();
        this.#deliver(sub, subject, reply, hdrLen, c.keepsData ? stable! : data, c.keepsData || !volatile);
        n++;
        break;
      }
    }
    return n;
  }

  #deliver(sub: ServerSub, subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array, stable: boolean): void {
    if (sub.client.deliver(sub, subject, reply, hdrLen, data, stable)) this.congested = true;
    if (++sub.delivered === sub.max) sub.client.expire(sub);
  }

  /** The publisher's own subscription that a reply subject would reach (for no-responders). */
  replySub(from: RoutedClient, reply: string): ServerSub | undefined {
    for (const sub of from.subscriptions()) if (subjectMatches(sub.subject, reply)) return sub;
    return undefined;
  }
}
