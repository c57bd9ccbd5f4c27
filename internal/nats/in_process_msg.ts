/**
 * What the in-process client hands out: messages shaped like nats-core's `Msg`, and
 * subscriptions that are at once the application's handle and the router's entry.
 */
import { MsgHdrsImpl, type MsgHdrs } from "@nats-io/nats-core";
import type { BusCallback, BusMsg, BusSubscription } from "../bus/index.ts";
import { decodeUtf8, fromWire } from "./bytes.ts";
import type { RoutedClient, ServerSub } from "./router.ts";

const EMPTY = new Uint8Array(0);

interface Publisher {
  publish(subject: string, payload?: Uint8Array): void;
}

export interface SubscriptionOwner extends RoutedClient {
  unsubscribeSub(sub: InProcessSubscription, max?: number): void;
}

/** A message as the in-process client hands it out (shaped like nats-core's Msg). */
export class InProcessMsg implements BusMsg {
  readonly subject: string;
  readonly reply: string;
  readonly sid: number;
  readonly #raw: Uint8Array;
  readonly #hdrLen: number;
  readonly #bus: Publisher;
  #headers: MsgHdrs | undefined = undefined;

  constructor(bus: Publisher, sid: number, subject: string, reply: string, hdrLen: number, raw: Uint8Array) {
    this.#bus = bus;
    this.sid = sid;
    this.subject = subject;
    this.reply = reply;
    this.#hdrLen = hdrLen;
    this.#raw = raw;
  }

  get data(): Uint8Array {
    return this.#hdrLen >= 0 ? this.#raw.subarray(this.#hdrLen) : this.#raw;
  }

  get headers(): MsgHdrs | undefined {
    if (this.#hdrLen >= 0 && this.#headers === undefined) this.#headers = MsgHdrsImpl.decode(this.#raw.subarray(0, this.#hdrLen));
    return this.#headers;
  }

  respond(data: Uint8Array = EMPTY): boolean {
    if (!this.reply) return false;
    this.#bus.publish(this.reply, data);
    return true;
  }

  string(): string {
    return decodeUtf8(this.data);
  }

  json<T = unknown>(): T {
    return JSON.parse(this.string()) as T;
  }
}

export class InProcessSubscription implements BusSubscription, ServerSub {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly sid: string;
  readonly client: SubscriptionOwner;
  readonly callback: BusCallback;
  /** Server-side delivery limit (0 = none). */
  max = 0;
  delivered = 0;
  /** Client-side: messages handed to the callback. */
  received = 0;
  /** Client-side limit, as nats-core keeps it. */
  localMax: number | undefined;
  closed = false;
  indexed = false;

  constructor(client: SubscriptionOwner, sid: string, subject: string, queue: string | undefined, callback: BusCallback) {
    this.client = client;
    this.sid = sid;
    this.subject = subject;
    this.queue = queue;
    this.callback = callback;
  }

  unsubscribe(max?: number): void {
    this.client.unsubscribeSub(this, max);
  }

  getSubject(): string {
    return fromWire(this.subject);
  }

  getReceived(): number {
    return this.received;
  }

  isClosed(): boolean {
    return this.closed;
  }
}
