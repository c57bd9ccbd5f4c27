/**
 * The in-process fast path: a `Bus` wired straight into the server's router. No WebSocket and no
 * protocol encoding; the same subject validation and permission checks as a network client; the
 * same errors and message shape as `@nats-io/nats-core`, so code above cannot tell them apart.
 * Deliveries are queued and dispatched from a microtask, never inside `publish`.
 */
import { createInbox, errors } from "@nats-io/nats-core";
import type { Bus, BusMsg, BusPublishOptions, BusSubscription, BusSubscriptionOptions } from "../bus/index.ts";
import { InProcessMsg, InProcessSubscription } from "./in_process_msg.ts";
import { encodeUtf8, fromWire, toWire } from "./bytes.ts";
import { CLOSED, ERR, NatsConnectionClosedError, pubViolationText, replyViolationText, subViolationText, type ClosedReason } from "./errors.ts";
import { CompiledPermissions, ResponseGrants, type Permissions } from "./permissions.ts";
import { classifySubject, isValidQueueName } from "./subject.ts";
import { noRespondersHeader } from "./wire.ts";
import type { Router, RoutedClient, ServerSub } from "./router.ts";
import type { ResolvedOptions } from "./options.ts";
import type { ServerStats } from "./transport.ts";

export interface InProcessHost {
  readonly opts: ResolvedOptions;
  readonly router: Router;
  readonly stats: ServerStats;
  readonly serverInfo: InProcessInfo;
  removeInProcess(c: InProcessConnection): void;
}

export interface InProcessInfo {
  server_id: string;
  server_name: string;
  version: string;
  proto: number;
  headers: boolean;
  max_payload: number;
  client_id: number;
}

export interface InProcessOptions {
  identity: string;
  /** Allow-lists; omitted = may publish and subscribe anywhere. */
  permissions?: Permissions;
}

const WHITESPACE = /[\s]/;
const EMPTY = new Uint8Array(0);

interface PendingRequest {
  subject: string;
  resolve: (m: BusMsg) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A delivery waiting for the dispatch microtask. */
interface Delivery {
  sub: InProcessSubscription;
  subject: string;
  reply: string | undefined;
  hdrLen: number;
  data: Uint8Array;
}

export class InProcessConnection implements Bus, RoutedClient {
  readonly cid: number;
  readonly echo = true;
  readonly keepsData = true;
  readonly identity: string;
  readonly info: InProcessInfo;
  readonly #host: InProcessHost;
  readonly #perms: CompiledPermissions | null;
  readonly #grants: ResponseGrants | null;
  readonly #subs = new Map<string, InProcessSubscription>();
  #nextSid = 1;
  #queue: Delivery[] = [];
  #queuedBytes = 0;
  #dispatchScheduled = false;
  #closed = false;
  #closedResolve!: (v: void | Error) => void;
  readonly #closedPromise: Promise<void | Error>;
  // Request/reply multiplexing, like nats-core: one wildcard inbox subscription.
  #muxPrefix = "";
  #muxSub: InProcessSubscription | null = null;
  #requests = new Map<string, PendingRequest>();
  #nextToken = 1;

  constructor(host: InProcessHost, cid: number, opts: InProcessOptions) {
    this.#host = host;
    this.cid = cid;
    this.identity = opts.identity;
    this.#perms = opts.permissions ? new CompiledPermissions(opts.permissions) : null;
    this.#grants = this.#perms ? new ResponseGrants(host.opts.responsePermission) : null;
    this.info = { ...host.serverInfo, client_id: cid };
    this.#closedPromise = new Promise((resolve) => (this.#closedResolve = resolve));
  }

  // ---- Bus ----

  publish(subject: string, payload: Uint8Array | string = EMPTY, options?: BusPublishOptions): void {
    this.#check(subject, true);
    const reply = options?.reply || undefined;
    if (reply !== undefined) this.#check(reply, true);
    const data = typeof payload === "string" ? encodeUtf8(payload) : payload;
    if (data.length > this.#host.opts.maxPayload) throw errors.InvalidArgumentError.format("payload", "max_payload size exceeded");
    this.#publishRaw(toWire(subject), reply === undefined ? undefined : toWire(reply), -1, data, options?.transfer !== true);
  }

  subscribe(subject: string, opts: BusSubscriptionOptions): BusSubscription {
    this.#check(subject, false);
    if (typeof opts?.callback !== "function") {
      throw errors.InvalidArgumentError.format("callback", "is required for in-process subscriptions");
    }
    const wsub = toWire(subject);
    const queue = opts.queue ? toWire(opts.queue) : undefined;
    const sub = new InProcessSubscription(this, String(this.#nextSid++), wsub, queue, opts.callback);
    if (opts.max !== undefined && opts.max > 0) {
      sub.max = opts.max;
      sub.localMax = opts.max;
    }
    this.#subs.set(sub.sid, sub);
    if (classifySubject(wsub) === 0 || (queue !== undefined && !isValidQueueName(queue))) {
      this.#serverError(new errors.ProtocolError(ERR.invalidSubject));
      return sub;
    }
    if (this.#perms !== null && !this.#perms.canSubscribe(wsub)) {
      const text = subViolationText(wsub, queue);
      this.#host.opts.logger.warn("NATS subscription violation", { identity: this.identity, subject: wsub, queue });
      const pve = errors.PermissionViolationError.parse(text)!;
      queueMicrotask(() => this.#failSub(sub, pve));
      return sub;
    }
    this.#host.router.index.insert(sub);
    sub.indexed = true;
    this.#host.stats.subscriptions++;
    return sub;
  }

  request(subject: string, payload: Uint8Array | string = EMPTY, opts: { timeout: number } = { timeout: 1000 }): Promise<BusMsg> {
    try {
      this.#check(subject, true);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeout = opts.timeout || 1000;
    if (timeout < 1) return Promise.reject(errors.InvalidArgumentError.format("timeout", "must be greater than 0"));
    this.#initMux();
    const token = (this.#nextToken++).toString(36);
    return new Promise<BusMsg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(token);
        reject(new errors.TimeoutError());
      }, timeout);
      this.#requests.set(token, { subject, resolve, reject, timer });
      try {
        this.publish(subject, payload, { reply: fromWire(this.#muxPrefix) + token });
      } catch (err) {
        clearTimeout(timer);
        this.#requests.delete(token);
        reject(err as Error);
      }
    });
  }

  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(new errors.ClosedConnectionError());
    return Promise.resolve();
  }

  /** Lets queued deliveries run, then closes (like nats-core's drain). */
  async drain(): Promise<void> {
    if (this.#closed) throw new errors.ClosedConnectionError();
    for (const s of this.#subs.values()) this.#unindex(s);
    await new Promise<void>((r) => setTimeout(r, 0));
    this.#dispatch();
    await this.close();
  }

  close(): Promise<void> {
    this.#shutdown(undefined);
    return this.#closedPromise.then(() => undefined);
  }

  closed(): Promise<void | Error> {
    return this.#closedPromise;
  }

  isClosed(): boolean {
    return this.#closed;
  }

  // ---- RoutedClient ----

  deliver(sub: ServerSub, subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array): boolean {
    if (this.#closed) return false;
    const s = sub as InProcessSubscription;
    // A small message cut from a big network read would pin that whole read in memory while
    // queued or held by the application: copy it.
    if (data.buffer.byteLength > 4 * data.byteLength + 4096) data = data.slice();
    this.#queue.push({ sub: s, subject, reply, hdrLen, data });
    this.#queuedBytes += data.length + subject.length;
    const host = this.#host;
    host.stats.outMsgs++;
    host.stats.outBytes += data.length;
    if (reply !== undefined && this.#grants !== null) this.#grants.grant(reply, host.opts.now());
    if (this.#queuedBytes > host.opts.maxPending) {
      host.stats.slowConsumers++;
      host.opts.logger.warn(`Slow Consumer Detected: MaxPending of ${host.opts.maxPending} Exceeded`, { identity: this.identity });
      this.#shutdown(new NatsConnectionClosedError(CLOSED.slowConsumer));
      return false;
    }
    if (!this.#dispatchScheduled) {
      this.#dispatchScheduled = true;
      queueMicrotask(this.#dispatch);
    }
    return false;
  }

  expire(sub: ServerSub): void {
    this.#unindex(sub as InProcessSubscription);
  }

  subscriptions(): Iterable<ServerSub> {
    return this.#subs.values();
  }

  /** Server shutdown or another server-side close. */
  serverClose(reason: ClosedReason): void {
    this.#shutdown(new NatsConnectionClosedError(reason));
  }

  // ---- internals ----

  unsubscribeSub(sub: InProcessSubscription, max?: number): void {
    if (this.#closed || sub.closed) return;
    if (max !== undefined && max > 0) {
      sub.localMax = max;
      if (sub.received < max) {
        if (sub.delivered < max) sub.max = max;
        else this.#unindex(sub);
        return;
      }
    }
    this.#closeSub(sub);
  }

  #check(subject: string, _pub: boolean): void {
    if (this.#closed) throw new errors.ClosedConnectionError();
    if (typeof subject !== "string" || subject.length === 0 || WHITESPACE.test(subject)) {
      throw new errors.InvalidSubjectError(String(subject));
    }
  }

  #publishRaw(subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array, volatile = true): void {
    const host = this.#host;
    host.stats.inMsgs++;
    host.stats.inBytes += data.length;
    if (classifySubject(subject) !== 1 || (reply !== undefined && classifySubject(reply) !== 1)) {
      this.#serverError(new errors.ProtocolError(ERR.invalidPublishSubject));
      return;
    }
    if (this.#perms !== null) {
      let text: string | undefined;
      if (!this.#perms.canPublish(subject) && !this.#grants!.consume(subject, host.opts.now())) text = pubViolationText(subject);
      else if (reply !== undefined && !this.#perms.canSubscribe(reply)) text = replyViolationText(reply);
      if (text !== undefined) {
        host.opts.logger.warn("NATS publish violation", { identity: this.identity, subject, reply });
        const pve = errors.PermissionViolationError.parse(text)!;
        queueMicrotask(() => this.#publishViolation(pve));
        return;
      }
    }
    const n = host.router.route(this, subject, reply, hdrLen, data, volatile);
    if (n === 0 && reply !== undefined) {
      const sub = host.router.replySub(this, reply);
      if (sub !== undefined) {
        const hdr = noRespondersHeader(subject);
        this.deliver(sub, reply, undefined, hdr.length, hdr);
      }
    }
  }

  #dispatch = (): void => {
    this.#dispatchScheduled = false;
    const q = this.#queue;
    if (q.length === 0) return;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (let i = 0; i < q.length; i++) {
      if (this.#closed) return;
      const d = q[i]!;
      const sub = d.sub;
      if (sub.closed) continue;
      sub.received++;
      const msg = new InProcessMsg(this, Number(sub.sid), fromWire(d.subject), d.reply === undefined ? "" : fromWire(d.reply), d.hdrLen, d.data);
      try {
        sub.callback(null, msg);
      } catch (err) {
        this.#host.opts.logger.error("NATS subscription callback threw", { identity: this.identity, subject: msg.subject, error: err as Error });
      }
      if (sub.localMax !== undefined && sub.received >= sub.localMax) this.#closeSub(sub);
    }
  };

  #initMux(): void {
    if (this.#muxSub !== null) return;
    this.#muxPrefix = toWire(`${createInbox()}.`);
    this.#muxSub = this.subscribe(fromWire(this.#muxPrefix) + "*", {
      callback: (err, msg) => {
        if (err !== null) {
          const reqs = [...this.#requests.values()];
          this.#requests.clear();
          for (const r of reqs) {
            clearTimeout(r.timer);
            r.reject(new errors.RequestError(err.message, { cause: err }));
          }
          this.#muxSub = null;
          return;
        }
        const token = msg.subject.slice(fromWire(this.#muxPrefix).length);
        const r = this.#requests.get(token);
        if (r === undefined) return;
        this.#requests.delete(token);
        clearTimeout(r.timer);
        const m = msg as InProcessMsg;
        if (m.data.length === 0 && m.headers?.code === 503) {
          const nr = new errors.NoRespondersError(r.subject);
          r.reject(new errors.RequestError(nr.message, { cause: nr }));
        } else {
          r.resolve(msg);
        }
      },
    }) as InProcessSubscription;
  }

  #publishViolation(pve: InstanceType<typeof errors.PermissionViolationError>): void {
    for (const [token, r] of this.#requests) {
      if (toWire(r.subject) !== pve.subject) continue;
      this.#requests.delete(token);
      clearTimeout(r.timer);
      r.reject(new errors.RequestError(pve.message, { cause: pve }));
      return;
    }
  }

  #failSub(sub: InProcessSubscription, err: Error): void {
    if (sub.closed) return;
    try {
      sub.callback(err, {} as BusMsg);
    } catch {
      // the callback's own problem
    }
    this.#closeSub(sub);
  }

  /** Protocol errors a network client would get as `-ERR` (asynchronous, not thrown). */
  #serverError(err: Error): void {
    this.#host.opts.logger.warn("NATS in-process client error", { identity: this.identity, error: err });
  }

  #unindex(sub: InProcessSubscription): void {
    if (!sub.indexed) return;
    sub.indexed = false;
    this.#host.router.index.remove(sub);
    this.#host.stats.subscriptions--;
  }

  #closeSub(sub: InProcessSubscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.#unindex(sub);
    this.#subs.delete(sub.sid);
    if (sub === this.#muxSub) this.#muxSub = null;
  }

  #shutdown(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#subs.values()) {
      s.closed = true;
      this.#unindex(s);
    }
    this.#subs.clear();
    this.#queue = [];
    this.#queuedBytes = 0;
    const reqs = [...this.#requests.values()];
    this.#requests.clear();
    for (const r of reqs) {
      clearTimeout(r.timer);
      r.reject(new errors.RequestError("connection closed"));
    }
    this.#host.removeInProcess(this);
    this.#closedResolve(err);
  }
}
