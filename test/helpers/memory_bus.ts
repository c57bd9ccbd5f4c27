/**
 * An in-memory `Bus` test double: subjects with `*`/`>` wildcards, queue groups, max_payload,
 * asynchronous in-order delivery, and knobs to kill a client or drop chosen messages.
 * For unit tests and benchmarks only; the real transports are tested in test/tunnel.
 */
import type { Bus, BusMsg, BusSubscription, BusSubscriptionOptions, BusPublishOptions } from "../../internal/bus/index.ts";

interface Sub {
  client: MemoryBusClient;
  subject: string[];
  queue: string | undefined;
  callback: BusSubscriptionOptions["callback"];
  max: number;
  received: number;
  closed: boolean;
}

function matches(pattern: string[], subject: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== "*" && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

export class MemoryBus {
  readonly maxPayload: number;
  /** Return true to drop a message (after subject checks): to simulate loss. */
  dropIf: ((subject: string, data: Uint8Array) => boolean) | null = null;
  #subs: Sub[] = [];
  #rr = 0;

  constructor(opts: { maxPayload?: number } = {}) {
    this.maxPayload = opts.maxPayload ?? 1024 * 1024;
  }

  connect(): MemoryBusClient {
    return new MemoryBusClient(this);
  }

  /** @internal */
  addSub(s: Sub): void {
    this.#subs.push(s);
  }

  /** @internal */
  removeSub(s: Sub): void {
    s.closed = true;
    this.#subs = this.#subs.filter((x) => x !== s);
  }

  /** @internal */
  route(from: MemoryBusClient, subject: string, data: Uint8Array, reply: string | undefined): void {
    if (this.dropIf?.(subject, data)) return;
    const toks = subject.split(".");
    const groups = new Map<string, Sub[]>();
    for (const s of this.#subs) {
      if (s.closed || s.client.dead || !matches(s.subject, toks)) continue;
      if (s.queue === undefined) this.#deliver(s, subject, data, reply);
      else {
        const g = groups.get(s.queue) ?? [];
        g.push(s);
        groups.set(s.queue, g);
      }
    }
    for (const g of groups.values()) this.#deliver(g[this.#rr++ % g.length]!, subject, data, reply);
    void from;
  }

  #deliver(s: Sub, subject: string, data: Uint8Array, reply: string | undefined): void {
    s.client.enqueue(() => {
      if (s.closed || s.client.dead) return;
      s.received++;
      if (s.received >= s.max) this.removeSub(s);
      const msg: BusMsg = reply === undefined ? { subject, data } : { subject, data, reply };
      s.callback(null, msg);
    }, data.length);
  }
}

export class MemoryBusClient implements Bus {
  readonly info: { max_payload: number };
  dead = false;
  /** Bytes delivered to this client and not yet handed to its callbacks. */
  pendingBytes = 0;
  #hub: MemoryBus;
  #queue: Array<[() => void, number]> = [];
  #scheduled = false;
  #closed = false;
  #resolveClosed!: (v: void | Error) => void;
  #closedP = new Promise<void | Error>((r) => (this.#resolveClosed = r));

  constructor(hub: MemoryBus) {
    this.#hub = hub;
    this.info = { max_payload: hub.maxPayload };
  }

  /** Simulates a dead peer: nothing more goes in or out, and nobody is told. */
  kill(): void {
    this.dead = true;
    this.#queue = [];
    this.pendingBytes = 0;
  }

  publish(subject: string, payload: Uint8Array = new Uint8Array(0), options?: BusPublishOptions): void {
    if (this.#closed) throw new Error("Connection closed");
    if (payload.length > this.#hub.maxPayload) throw new Error(`Payload of ${payload.length} bytes exceeds max_payload ${this.#hub.maxPayload}`);
    if (/[\s]/.test(subject) || subject.split(".").some((t) => t === "" || t === "*" || t === ">")) throw new Error(`Invalid publish subject ${subject}`);
    if (this.dead) return;
    this.#hub.route(this, subject, payload, options?.reply);
  }

  subscribe(subject: string, opts: BusSubscriptionOptions): BusSubscription {
    if (this.#closed) throw new Error("Connection closed");
    const s: Sub = { client: this, subject: subject.split("."), queue: opts.queue, callback: opts.callback, max: opts.max ?? Infinity, received: 0, closed: false };
    this.#hub.addSub(s);
    return { unsubscribe: () => this.#hub.removeSub(s) };
  }

  async request(): Promise<BusMsg> {
    throw new Error("request() is not implemented by the in-memory bus");
  }

  async flush(): Promise<void> {
    await new Promise((r) => setImmediate(r));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#resolveClosed();
  }

  closed(): Promise<void | Error> {
    return this.#closedP;
  }

  /** @internal */
  enqueue(fn: () => void, bytes: number): void {
    this.#queue.push([fn, bytes]);
    this.pendingBytes += bytes;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  #drain = (): void => {
    this.#scheduled = false;
    const q = this.#queue;
    this.#queue = [];
    for (const [fn, bytes] of q) {
      this.pendingBytes -= bytes;
      fn();
    }
  };
}
