/**
 * One network client (WebSocket or TCP) as the server sees it: reads client operations through
 * the parser, authenticates, checks permissions, routes messages, and writes its deliveries in
 * per-tick batches with slow-consumer protection.
 */
import { ClientParser, type ClientOpSink } from "./parser.ts";
import { CLOSED, ERR, NatsProtocolError, pubViolationText, replyViolationText, subViolationText, type ClosedReason } from "./errors.ts";
import { CompiledPermissions, ResponseGrants } from "./permissions.ts";
import { classifySubject, isValidQueueName } from "./subject.ts";
import { Outbound } from "./outbound.ts";
import { CRLF, errLine, msgLength, noRespondersHeader, OK, PING, PONG, writeMsg, writeMsgLine } from "./wire.ts";
import type { Router, RoutedClient, ServerSub } from "./router.ts";
import type { ConnectOptions, ResolvedOptions } from "./options.ts";
import { closeWithGrace, type ServerStats, type Transport } from "./transport.ts";

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly opts: ResolvedOptions;
  readonly router: Router;
  readonly stats: ServerStats;
  scheduleFlush(c: NetConnection): void;
  removeClient(c: NetConnection): void;
  infoFor(cid: number, clientIp: string): Uint8Array;
}

const AUTH_OFF = 0; // no authenticator configured
const AUTH_WAITING = 1; // authenticator configured, no CONNECT yet
const AUTH_RUNNING = 2; // authenticator called, not answered
const AUTH_DONE = 3;
/** How long a publisher feeding a congested consumer is not read from. */
const STALL_MS = 5;

/** Payloads from this size up are queued by reference when their publisher handed them over. */
const BY_REFERENCE_MIN = 16 * 1024;

export class NetConnection implements ClientOpSink, RoutedClient {
  readonly cid: number;
  readonly keepsData = false;
  echo = true;
  headers = false;
  noResponders = false;
  verbose = true;
  identity: string | undefined = undefined;
  name: string | undefined = undefined;
  closed = false;
  /** Set by the host while a flush is scheduled. */
  flushScheduled = false;

  readonly #host: ConnectionHost;
  readonly #transport: Transport;
  readonly #parser: ClientParser;
  readonly #out = new Outbound();
  readonly #subs = new Map<string, ServerSub>();
  #auth: number;
  #perms: CompiledPermissions | null = null;
  #grants: ResponseGrants | null = null;
  /** Bytes received while the authenticator runs, parsed once it has answered. */
  #held: Uint8Array[] = [];
  /** Bytes received before authentication (capped by preAuthMaxBytes). */
  #preAuthBytes = 0;
  /** Identities disconnected while this connection's authenticator ran (it may answer one of them). */
  #revokedDuringAuth: Set<string> | null = null;
  #authTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #wireBuffered = 0;
  #pingsOut = 0;
  #active = false;
  #connectSeen = false;
  #stalled = false;
  #subLimitLogged = false;

  constructor(host: ConnectionHost, transport: Transport, cid: number) {
    this.#host = host;
    this.#transport = transport;
    this.cid = cid;
    const o = host.opts;
    this.#auth = o.authenticator ? AUTH_WAITING : AUTH_OFF;
    // Until it authenticates, a client cannot announce a payload larger than it may send.
    const maxPayload = this.#auth === AUTH_WAITING ? Math.min(o.maxPayload, o.preAuthMaxBytes) : o.maxPayload;
    this.#parser = new ClientParser(this, { maxControlLine: o.maxControlLine, maxPayload });
  }

  /** Greets the client; call once the transport is open. */
  start(): void {
    this.#out.write(this.#host.infoFor(this.cid, this.#transport.remoteAddress));
    this.flush();
    if (this.#auth === AUTH_OFF) this.#transport.authenticated?.();
    if (this.#auth === AUTH_WAITING) {
      this.#authTimer = setTimeout(() => {
        if (this.#auth !== AUTH_DONE) this.#fail(ERR.authTimeout, CLOSED.authTimeout);
      }, this.#host.opts.authTimeoutMs);
      unref(this.#authTimer);
    }
  }

  /** Bytes from the transport. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    this.#active = true;
    this.#host.stats.inBytes += chunk.length;
    if (this.#auth === AUTH_WAITING || this.#auth === AUTH_RUNNING) {
      if (!this.#countPreAuth(chunk.length)) return;
      // Reading is paused, but a transport may still deliver what it had already read.
      if (this.#auth === AUTH_RUNNING) return void this.#held.push(chunk);
    }
    this.#parse(chunk);
  }

  /** Feeds the parser; keeps what it did not consume (it holds after a CONNECT that authenticates). */
  #parse(chunk: Uint8Array): void {
    const used = this.#parser.push(chunk);
    if (used < chunk.length && !this.closed) this.#held.push(chunk.subarray(used));
  }

  /** Adds to the bytes received before authentication; false (and closed) once over the cap. */
  #countPreAuth(n: number): boolean {
    this.#preAuthBytes += n;
    const max = this.#host.opts.preAuthMaxBytes;
    if (this.#preAuthBytes <= max) return true;
    this.#host.opts.logger.info(`NATS client sent more than preAuthMaxBytes (${max}) before authenticating: closed (raise preAuthMaxBytes if its CONNECT is that large)`, {
      cid: this.cid,
      remote: this.#transport.remoteAddress,
    });
    this.#fail(ERR.authViolation, CLOSED.authViolation);
    return false;
  }

  /** The transport is gone (peer closed, network error). */
  transportClosed(): void {
    this.#teardown();
  }

  // ---- client operations (ClientOpSink) ----

  connect(json: string): void {
    let o: ConnectOptions;
    try {
      o = JSON.parse(json) as ConnectOptions;
    } catch {
      return this.#fail(undefined, CLOSED.protocolViolation);
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) return this.#fail(undefined, CLOSED.protocolViolation);
    if (o.protocol !== undefined && (typeof o.protocol !== "number" || o.protocol < 0 || o.protocol > 1)) {
      return this.#fail(ERR.badProtocol, CLOSED.badProtocol);
    }
    if (o.no_responders === true && o.headers !== true) return this.#fail(ERR.noRespondersNeedsHeaders, CLOSED.protocolViolation);
    this.verbose = o.verbose !== false;
    this.echo = o.echo !== false;
    this.headers = o.headers === true;
    this.noResponders = o.no_responders === true;
    if (typeof o.name === "string") this.name = o.name.slice(0, 256);
    const first = !this.#connectSeen;
    this.#connectSeen = true;
    // Credentials count only on the first CONNECT; later ones just update the flags.
    if (this.#auth !== AUTH_WAITING || !first) return this.#ok();
    this.#authenticate(o);
  }

  #authenticate(o: ConnectOptions): void {
    this.#auth = AUTH_RUNNING;
    // What follows the CONNECT waits, as raw bytes, until the authenticator answers.
    this.#parser.hold();
    this.#transport.pause();
    const log = this.#host.opts.logger;
    let result: ReturnType<NonNullable<ResolvedOptions["authenticator"]>>;
    try {
      result = this.#host.opts.authenticator!(o);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (res) => {
        if (this.closed) return;
        if (res === null || res === undefined) {
          log.info("NATS authentication failed", { cid: this.cid, user: typeof o.user === "string" ? o.user : undefined });
          return this.#fail(ERR.authViolation, CLOSED.authViolation);
        }
        try {
          this.#perms = new CompiledPermissions(res.permissions);
        } catch (err) {
          log.error("NATS authenticator returned invalid permissions", { cid: this.cid, identity: res.identity, error: err as Error });
          return this.#fail(ERR.authViolation, CLOSED.authViolation);
        }
        if (this.#revokedDuringAuth?.has(res.identity)) {
          log.info("NATS authentication answered for an identity disconnected meanwhile", { cid: this.cid, identity: res.identity });
          return this.#fail(ERR.authViolation, CLOSED.revoked);
        }
        this.#grants = new ResponseGrants(this.#host.opts.responsePermission);
        this.identity = res.identity;
        this.#authenticated();
      },
      (err: unknown) => {
        if (this.closed) return;
        log.error("NATS authenticator failed", { cid: this.cid, error: err as Error });
        this.#fail(ERR.authViolation, CLOSED.authViolation);
      },
    );
  }

  /** Auth succeeded: the normal limits from now on, then what the client sent meanwhile. */
  #authenticated(): void {
    this.#auth = AUTH_DONE;
    clearTimeout(this.#authTimer);
    this.#revokedDuringAuth = null;
    this.#parser.limitPayload(this.#host.opts.maxPayload);
    this.#transport.authenticated?.();
    this.#ok();
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) {
      if (this.closed) return;
      this.#parse(chunk);
    }
    if (!this.#stalled) this.#transport.resume();
  }

  /**
   * Closes this connection if it authenticated as `identity` (true), telling the client
   * `Authorization Violation` first, as nats-server does when it kicks a client. While its
   * authenticator runs, the identity is remembered so an answer naming it is refused.
   */
  revoke(identity: string, reason: ClosedReason): boolean {
    if (this.closed) return false;
    if (this.#auth === AUTH_RUNNING) {
      (this.#revokedDuringAuth ??= new Set()).add(identity);
      return false;
    }
    if (this.identity !== identity) return false;
    this.#fail(ERR.authViolation, reason);
    return true;
  }

  pub(subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array): void {
    if (this.#auth === AUTH_WAITING) return this.#fail(ERR.authViolation, CLOSED.authViolation);
    const host = this.#host;
    host.stats.inMsgs++;
    if (classifySubject(subject) !== 1 || (reply !== undefined && classifySubject(reply) !== 1)) {
      return this.#sendErr(ERR.invalidPublishSubject);
    }
    const perms = this.#perms;
    if (perms !== null) {
      if (!perms.canPublish(subject) && !this.#grants!.consume(subject, host.opts.now())) {
        host.opts.logger.warn("NATS publish violation", { cid: this.cid, identity: this.identity, subject });
        return this.#sendErr(pubViolationText(subject));
      }
      // A reply subject the publisher could not listen on would make the responder publish
      // there with the responder's rights: refuse it (stricter than nats-server).
      if (reply !== undefined && !perms.canSubscribe(reply)) {
        host.opts.logger.warn("NATS reply subject violation", { cid: this.cid, identity: this.identity, subject, reply });
        return this.#sendErr(replyViolationText(reply));
      }
    }
    // Like nats-server: +OK once the message is accepted, before it is delivered.
    if (this.verbose) this.#send(OK);
    const router = host.router;
    const n = router.route(this, subject, reply, hdrLen, data, false);
    // A receiver is falling behind: stop reading from this publisher for a moment (nats-server
    // stalls fast producers the same way) so a merely slower consumer can catch up.
    if (router.congested) this.#stall();
    if (n === 0 && reply !== undefined && this.noResponders) this.#replyNoResponders(subject, reply);
  }

  #stall(): void {
    if (this.#stalled || this.closed) return;
    this.#stalled = true;
    this.#transport.pause();
    const t = setTimeout(() => {
      this.#stalled = false;
      if (!this.closed && this.#auth !== AUTH_RUNNING) this.#transport.resume();
    }, STALL_MS);
    unref(t);
  }

  #replyNoResponders(subject: string, reply: string): void {
    const sub = this.#host.router.replySub(this, reply);
    if (sub === undefined) return;
    const hdr = noRespondersHeader(subject);
    this.deliver(sub, reply, undefined, hdr.length, hdr);
  }

  sub(subject: string, queue: string | undefined, sid: string): void {
    if (this.#auth === AUTH_WAITING) return this.#fail(ERR.authViolation, CLOSED.authViolation);
    if (classifySubject(subject) === 0 || (queue !== undefined && !isValidQueueName(queue))) {
      return this.#sendErr(ERR.invalidSubject);
    }
    if (this.#perms !== null && !this.#perms.canSubscribe(subject)) {
      this.#host.opts.logger.warn("NATS subscription violation", { cid: this.cid, identity: this.identity, subject, queue });
      return this.#sendErr(subViolationText(subject, queue));
    }
    if (!this.#subs.has(sid)) {
      if (this.#subs.size >= this.#host.opts.maxSubscriptions) return this.#refuseSub(subject);
      const s: ServerSub = { subject, queue, sid, client: this, max: 0, delivered: 0 };
      this.#subs.set(sid, s);
      this.#host.router.index.insert(s);
      this.#host.stats.subscriptions++;
    }
    this.#ok();
  }

  /** Past maxSubscriptions: the SUB is refused, the connection stays (logged once per connection). */
  #refuseSub(subject: string): void {
    if (!this.#subLimitLogged) {
      this.#subLimitLogged = true;
      const max = this.#host.opts.maxSubscriptions;
      this.#host.opts.logger.warn(`NATS client reached maxSubscriptions (${max}): further SUBs refused`, { cid: this.cid, identity: this.identity, subject });
    }
    this.#sendErr(ERR.maxSubscriptions);
  }

  unsub(sid: string, max: number | undefined): void {
    if (this.#auth === AUTH_WAITING) return this.#fail(ERR.authViolation, CLOSED.authViolation);
    const s = this.#subs.get(sid);
    if (s !== undefined) {
      if (max !== undefined && max > 0 && s.delivered < max) s.max = max;
      else this.expire(s);
    }
    this.#ok();
  }

  ping(): void {
    if (this.#auth === AUTH_WAITING) return this.#fail(ERR.authViolation, CLOSED.authViolation);
    this.#send(PONG);
  }

  pong(): void {
    this.#pingsOut = 0;
  }

  error(err: NatsProtocolError): void {
    this.#host.opts.logger.info("NATS protocol error", { cid: this.cid, error: err.message });
    this.#fail(err.wireText, err.closedReason);
  }

  // ---- routing (RoutedClient) ----

  deliver(sub: ServerSub, subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array, stable = false): boolean {
    if (this.closed) return false;
    if (hdrLen >= 0 && !this.headers) {
      data = data.subarray(hdrLen);
      hdrLen = -1;
    }
    const n = msgLength(subject, sub.sid, reply, hdrLen, data.length);
    const host = this.#host;
    const max = host.opts.maxPending;
    let congested = false;
    if (this.#out.queued + this.#wireBuffered + n > max - (max >> 2)) {
      // Over 75 %: look at the live socket figure (the sampled one may be stale).
      this.#wireBuffered = this.#transport.bufferedAmount;
      const pending = this.#out.queued + this.#wireBuffered + n;
      if (pending > max) {
        this.#slowConsumer();
        return false;
      }
      congested = pending > max - (max >> 2);
    }
    const out = this.#out;
    if (stable && data.length >= BY_REFERENCE_MIN) {
      // A large payload nobody changes any more goes to the socket as it is: no copy.
      out.commit(writeMsgLine(out.room(n - data.length - 2), out.end, subject, sub.sid, reply, hdrLen, data.length));
      out.append(data);
      out.write(CRLF);
    } else {
      const buf = out.room(n);
      out.commit(writeMsg(buf, out.end, subject, sub.sid, reply, hdrLen, data));
    }
    host.stats.outMsgs++;
    host.stats.outBytes += n;
    if (!this.flushScheduled) host.scheduleFlush(this);
    if (reply !== undefined && this.#grants !== null) this.#grants.grant(reply, host.opts.now());
    return congested;
  }

  expire(sub: ServerSub): void {
    if (this.#subs.get(sub.sid) !== sub) return;
    this.#subs.delete(sub.sid);
    this.#host.router.index.remove(sub);
    this.#host.stats.subscriptions--;
  }

  subscriptions(): Iterable<ServerSub> {
    return this.#subs.values();
  }

  // ---- output ----

  /** Hands pending output to the transport (called by the host once per tick). */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.#out.queued === 0) return;
    const t = this.#transport;
    // One socket write for the whole batch, however many chunks it has (large payloads are chunks of their own).
    if (t.sendv !== undefined) {
      const chunks: Uint8Array[] = [];
      this.#out.drain((chunk) => chunks.push(chunk));
      t.sendv(chunks);
    } else {
      t.cork?.();
      this.#out.drain((chunk) => t.send(chunk));
      t.uncork?.();
    }
    this.#wireBuffered = t.bufferedAmount;
    if (this.#wireBuffered > this.#host.opts.maxPending) this.#slowConsumer();
  }

  /** Called by the host every ping interval. */
  pingTick(): void {
    if (this.closed) return;
    if (this.#pingsOut + 1 > this.#host.opts.maxPingsOut) return this.#fail(ERR.staleConnection, CLOSED.staleConnection);
    if (this.#active) {
      this.#active = false;
      return;
    }
    this.#pingsOut++;
    this.#send(PING);
  }

  /** Server-initiated close (shutdown). */
  close(reason: ClosedReason): void {
    if (this.closed) return;
    this.flush();
    closeWithGrace(this.#transport, reason, this.#host.opts.closeGraceMs);
    this.#teardown();
  }

  #send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.#out.write(bytes);
    if (!this.flushScheduled) this.#host.scheduleFlush(this);
  }

  #ok(): void {
    if (this.verbose) this.#send(OK);
  }

  #sendErr(text: string): void {
    this.#send(errLine(text));
  }

  /** Tells the client why (when `errText` is given), then closes. */
  #fail(errText: string | undefined, reason: ClosedReason): void {
    if (this.closed) return;
    this.#parser.stop();
    if (errText !== undefined) this.#out.write(errLine(errText));
    this.flush();
    closeWithGrace(this.#transport, reason, this.#host.opts.closeGraceMs);
    this.#teardown();
  }

  #slowConsumer(): void {
    if (this.closed) return;
    const host = this.#host;
    host.stats.slowConsumers++;
    host.opts.logger.warn(`Slow Consumer Detected: MaxPending of ${host.opts.maxPending} Exceeded`, { cid: this.cid, identity: this.identity });
    this.#parser.stop();
    this.#out.discard();
    this.#transport.destroy();
    this.#teardown();
  }

  #teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.#parser.stop();
    this.#out.discard();
    this.#held = [];
    this.#revokedDuringAuth = null;
    clearTimeout(this.#authTimer);
    const index = this.#host.router.index;
    for (const s of this.#subs.values()) index.remove(s);
    this.#host.stats.subscriptions -= this.#subs.size;
    this.#subs.clear();
    this.#host.removeClient(this);
    if (this.identity !== undefined) {
      try {
        this.#host.opts.onClientClosed?.(this.identity, this.name);
      } catch (err) {
        this.#host.opts.logger.warn("onClientClosed failed", { cid: this.cid, err: err as Error });
      }
    }
  }
}

function unref(t: unknown): void {
  (t as { unref?: () => void }).unref?.();
}
