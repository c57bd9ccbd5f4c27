/**
 * One tunnelled HTTP exchange or upgraded connection, as a Node Duplex on either end.
 *
 * Gateway end: the writable side is the request body (or, after a 101, the client's bytes); the
 * readable side is the response body (or the upstream's bytes). `head` resolves with the response head.
 * Agent end: the readable side is the request body; call `respond()` then write the response body.
 *
 * Like a socket, a reset makes the stream emit 'error' (a StreamResetError): attach an error
 * listener, or use `pipeline()`. Destroying the stream before both sides ended resets the peer.
 */
import { Duplex } from "node:stream";
import type { Frame, RawHeaders, StreamKind } from "./frame.ts";
import { ReceiveWindow, SendCredit } from "./flow.ts";
import { ResetCode, StreamResetError } from "./errors.ts";

export interface RequestHead {
  method: string;
  path: string;
  headers: RawHeaders;
  kind: StreamKind;
}

export interface ResponseHead {
  status: number;
  headers: RawHeaders;
}

/** What a stream needs from the session that carries it. */
export interface StreamHost {
  /** Queues a frame for the peer (sent in order, batched into messages). */
  send(frame: Frame): void;
  /** Largest data frame body that fits a message. */
  readonly maxData: number;
  /** Called once when the stream is gone, cleanly (`err` null) or not. */
  closed(stream: TunnelStream, err: Error | null): void;
  /**
   * Agent end, optional: a stream holds a frame (its accept, or a response head) hoping to send it
   * with the next one; the host calls `flushDeferred()` shortly after if nothing followed by then.
   * A host without it gets such frames at once.
   */
  defer?(stream: TunnelStream): void;
}

export interface FlowStats {
  /** Our receive window (what the peer may have in flight to us). */
  window: number;
  /** Sent and not yet acknowledged. Never above the peer's window. */
  inFlight: number;
  /** Write bytes accepted from the producer but not yet sent for lack of credit (at most one chunk). */
  held: number;
  /** Received and not yet consumed: our queue plus the Readable's buffer. Never above `window`. */
  buffered: number;
  sent: number;
  received: number;
}

type Frameless<T> = T extends Frame ? Omit<T, "stream" | "seq"> : never;

export class TunnelStream extends Duplex {
  readonly id: number;
  readonly side: "gateway" | "agent";
  readonly request: RequestHead;
  /** Resolves with the response head (gateway end); rejects if the stream is reset first. */
  readonly head: Promise<ResponseHead>;
  /** Last time (clock ms) a frame moved on this stream (or, see `activityByCaller`, the caller saw activity). */
  lastActivity = 0;
  /**
   * Set by `countActivityByCaller()`: frames no longer count for the idle timeout, only `touch()`
   * does — for a protocol whose keepalives would otherwise keep an idle session open for ever.
   */
  activityByCaller = false;
  #touched = false;

  #host: StreamHost;
  #sendSeq: number;
  #recvSeq: number;
  #send: SendCredit;
  #recv: ReceiveWindow;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #pushed = 0;
  #wanting = false;
  #creditScheduled = false;
  #remoteEnded = false;
  #pushedEnd = false;
  #remoteReset = false;
  #headSent = false;
  #headReceived = false;
  #acceptDeferred = false;
  #heldHead: ResponseHead | null = null;
  #held: { chunks: Uint8Array[]; cb: (err?: Error | null) => void } | null = null;
  #heldBytes = 0;
  #resolveHead!: (h: ResponseHead) => void;
  #rejectHead!: (e: Error) => void;
  #abort: AbortController | null = null;

  constructor(init: {
    id: number;
    side: "gateway" | "agent";
    request: RequestHead;
    host: StreamHost;
    /** Our receive window. */
    window: number;
    /** The peer's initial grant (0 until the agent accepts, on the gateway end). */
    peerWindow: number;
    sendSeq: number;
    recvSeq: number;
    now: number;
  }) {
    const hwm = Math.max(1024, Math.min(64 * 1024, Math.floor(init.window / 4)));
    super({ allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm, decodeStrings: true });
    this.id = init.id;
    this.side = init.side;
    this.request = init.request;
    this.#recv = new ReceiveWindow(init.window);
    this.#host = init.host;
    this.#send = new SendCredit(init.peerWindow);
    this.lastActivity = init.now;
    this.#sendSeq = init.sendSeq;
    this.#recvSeq = init.recvSeq;
    this.head = new Promise<ResponseHead>((res, rej) => {
      this.#resolveHead = res;
      this.#rejectHead = rej;
    });
    this.head.catch(() => {});
  }

  get kind(): StreamKind {
    return this.request.kind;
  }

  /** Aborted when the stream is reset or destroyed before both sides ended (pass it to the upstream request). */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    if (this.destroyed && !this.#cleanlyDone()) this.#abort.abort(this.errored ?? new StreamResetError(ResetCode.cancel, "Stream cancelled", { remote: false }));
    return this.#abort.signal;
  }

  flowStats(): FlowStats {
    return {
      window: this.#recv.window,
      inFlight: this.#send.inFlight,
      held: this.#heldBytes,
      buffered: this.#queued + this.readableLength,
      sent: this.#send.sent,
      received: this.#recv.received,
    };
  }

  /**
   * Agent end: send the response head. Call it before writing the body; 101 switches to raw bytes.
   * `hold`: the body follows at once (a plain response, not a watch), so the head waits for its
   * first bytes or its end and leaves in the same message — the gateway can then answer in one
   * write — or goes alone when the host's short deferral ends first.
   */
  respond(head: ResponseHead, opts?: { hold?: boolean }): void {
    if (this.side !== "agent") throw new Error("respond() is for the agent end; the gateway end reads `head`");
    if (this.#headSent) throw new Error(`Response head already sent for stream ${this.id}`);
    if (this.destroyed) return;
    this.#headSent = true;
    if (opts?.hold && this.#host.defer) {
      this.#heldHead = head;
      this.#host.defer(this);
      return;
    }
    this.#emit({ type: "head", status: head.status, headers: head.headers });
  }

  /**
   * @internal Agent end: grants the initial window; this frame (seq 0) is the gateway's signal that
   * the agent accepted. `defer` (the whole request already arrived, so the gateway needs no credit):
   * the grant rides with the stream's first answer frame — one message fewer per exchange — or goes
   * out on its own when the host's short deferral ends first.
   */
  accept(defer = false): void {
    if (defer && this.#host.defer) {
      this.#acceptDeferred = true;
      this.#host.defer(this);
      return;
    }
    this.#emit({ type: "window", credit: this.#recv.window });
  }

  /** @internal Sends a deferred accept and a held response head now (no-op when they already went out). */
  flushDeferred(): void {
    if (this.destroyed) return;
    this.#flushHeld();
  }

  /** Whatever this stream holds back goes out first, in order: the accept, then the response head. */
  #flushHeld(): void {
    if (this.#acceptDeferred) {
      this.#acceptDeferred = false;
      this.#send1({ type: "window", credit: this.#recv.window });
    }
    const head = this.#heldHead;
    if (head !== null) {
      this.#heldHead = null;
      this.#send1({ type: "head", status: head.status, headers: head.headers });
    }
  }

  /**
   * Gateway end: whether response body bytes (or its end) already arrived and wait to be read, so
   * a caller can send the response head together with them instead of on its own.
   */
  /** On the gateway side: whether the response head has arrived. */
  get headReceived(): boolean {
    return this.#headReceived;
  }

  get bodyPending(): boolean {
    return this.#queued > 0 || this.readableLength > 0 || (this.#remoteEnded && !this.readableEnded);
  }

  /**
   * Gateway end: when the whole response body and its end already arrived and none of it was read
   * yet, takes it out at once (the readable side then ends as if read) so a caller can answer in
   * one write; otherwise null and the stream is unchanged.
   */
  takeCompleteBody(): Uint8Array[] | null {
    if (!this.#remoteEnded || this.#pushed > 0 || this.readableLength > 0 || this.#pushedEnd || this.destroyed) return null;
    const body = this.#queue;
    this.#queue = [];
    this.#pushed += this.#queued;
    this.#queued = 0;
    this.#pushedEnd = true;
    this.push(null);
    this.read(0); // ends the readable side now: nothing is buffered
    return body;
  }

  /**
   * From now on only `touch()` counts as activity for the idle timeout, not every frame: the
   * caller knows which bytes are real traffic (e.g. WebSocket data frames, not its pings).
   */
  countActivityByCaller(): void {
    this.activityByCaller = true;
  }

  /** Notes real activity (with `countActivityByCaller`); the session's next sweep records it. */
  touch(): void {
    this.#touched = true;
  }

  /** @internal Whether `touch()` was called since the last call. */
  takeTouched(): boolean {
    const t = this.#touched;
    this.#touched = false;
    return t;
  }

  /** @internal Moves the stream to the session that carries it once the agent accepted; `peerWindow` is its grant. */
  attach(host: StreamHost, peerWindow: number, now: number): void {
    this.#host = host;
    const early = this.#send.sent; // body sent in the open message, under OPEN_CREDIT
    this.#send = new SendCredit(peerWindow);
    this.#send.take(early);
    this.lastActivity = now;
    this.#recvSeq = 1;
    this.#pump();
  }

  /** @internal Handles a frame from the peer for this stream. */
  handleFrame(f: Frame, now: number): void {
    if (this.destroyed) return;
    if (f.type === "reset") {
      // A reset is final whatever its place in the sequence.
      this.#remoteReset = true;
      this.destroy(new StreamResetError(f.code, f.reason, { remote: true }));
      return;
    }
    if (f.seq !== this.#recvSeq) {
      this.resetLocal(ResetCode.protocol, `Sequence gap on stream ${this.id}: expected frame ${this.#recvSeq}, got ${f.seq}; a message between gateway and agent was lost`);
      return;
    }
    this.#recvSeq = (this.#recvSeq + 1) >>> 0;
    if (!this.activityByCaller) this.lastActivity = now;
    switch (f.type) {
      case "data":
        return this.#onData(f.data);
      case "window":
        return this.#onWindow(f.credit);
      case "head":
        return this.#onHead(f.status, f.headers);
      case "end":
        return this.#onEnd();
      default:
        this.resetLocal(ResetCode.protocol, `Unexpected ${f.type} frame on stream ${this.id}`);
    }
  }

  /** Resets the stream: tells the peer (code + reason) and fails the local side with the same error. */
  resetLocal(code: number, reason: string): void {
    if (this.destroyed) return;
    this.destroy(new StreamResetError(code, reason, { remote: false }));
  }

  /** @internal The peer is gone: fail locally without trying to tell it. */
  peerGone(code: number, reason: string): void {
    if (this.destroyed) return;
    this.#remoteReset = true;
    this.destroy(new StreamResetError(code, reason, { remote: true }));
  }

  #emit(f: Frameless<Frame>): void {
    if (this.#acceptDeferred || this.#heldHead !== null) this.#flushHeld();
    this.#send1(f);
  }

  #send1(f: Frameless<Frame>): void {
    const seq = this.#sendSeq;
    this.#sendSeq = (seq + 1) >>> 0;
    this.#host.send({ ...f, stream: this.id, seq } as Frame);
  }

  #onHead(status: number, headers: RawHeaders): void {
    if (this.side !== "gateway" || this.#headReceived) {
      this.resetLocal(ResetCode.protocol, `Unexpected response head on stream ${this.id}`);
      return;
    }
    this.#headReceived = true;
    this.#resolveHead({ status, headers });
  }

  #onData(data: Uint8Array): void {
    if (this.#remoteEnded || (this.side === "gateway" && !this.#headReceived)) {
      this.resetLocal(ResetCode.protocol, `Data on stream ${this.id} ${this.#remoteEnded ? "after its end" : "before the response head"}`);
      return;
    }
    if (!this.#recv.accept(data.length)) {
      this.resetLocal(ResetCode.protocol, `The peer overran the flow-control window of stream ${this.id} (${this.#recv.window} bytes)`);
      return;
    }
    if (data.length === 0) return;
    this.#queue.push(data);
    this.#queued += data.length;
    this.#drain();
  }

  #onEnd(): void {
    if (this.#remoteEnded) return;
    if (this.side === "gateway" && !this.#headReceived) {
      this.resetLocal(ResetCode.protocol, `Stream ${this.id} ended before its response head`);
      return;
    }
    this.#remoteEnded = true;
    this.#drain();
  }

  #onWindow(credit: number): void {
    if (!this.#send?.give(credit)) {
      this.resetLocal(ResetCode.protocol, `The peer returned more credit than was in flight on stream ${this.id}`);
      return;
    }
    this.#pump();
  }

  #drain(): void {
    while (this.#wanting && this.#queue.length > 0 && !this.destroyed) {
      const c = this.#queue.shift()!;
      this.#queued -= c.length;
      this.#pushed += c.length;
      if (!this.push(c)) this.#wanting = false;
    }
    if (this.#remoteEnded && this.#queue.length === 0 && !this.#pushedEnd && !this.destroyed) {
      this.#pushedEnd = true;
      this.push(null);
    }
    this.#scheduleCredit();
  }

  /** Runs after the current read() has taken its bytes out of the buffer (Node calls _read before that). */
  #scheduleCredit(): void {
    if (this.#creditScheduled) return;
    this.#creditScheduled = true;
    queueMicrotask(this.#returnCredit);
  }

  #returnCredit = (): void => {
    this.#creditScheduled = false;
    if (this.#remoteEnded || this.destroyed) return;
    const credit = this.#recv.creditFor(this.#pushed - this.readableLength);
    if (credit > 0) this.#emit({ type: "window", credit });
  };

  override _read(): void {
    this.#wanting = true;
    this.#drain();
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#queueWrite([chunk], cb);
  }

  override _writev(chunks: Array<{ chunk: Uint8Array }>, cb: (err?: Error | null) => void): void {
    this.#queueWrite(chunks.map((c) => c.chunk), cb);
  }

  #queueWrite(chunks: Uint8Array[], cb: (err?: Error | null) => void): void {
    if (this.side === "agent" && !this.#headSent) {
      cb(new Error(`Call respond() before writing the response body of stream ${this.id}`));
      return;
    }
    this.#held = { chunks, cb };
    for (const c of chunks) this.#heldBytes += c.length;
    this.#pump();
  }

  /** Sends as much of the held write as credit allows; completes the write when all of it is sent. */
  #pump(): void {
    const held = this.#held;
    if (!held || this.destroyed) return;
    const max = this.#host.maxData;
    while (held.chunks.length > 0) {
      const c = held.chunks[0]!;
      if (c.length === 0) {
        held.chunks.shift();
        continue;
      }
      const n = this.#send.take(Math.min(c.length, max));
      if (n === 0) return;
      this.#heldBytes -= n;
      this.#emit({ type: "data", data: n === c.length ? c : c.subarray(0, n) });
      if (n === c.length) held.chunks.shift();
      else held.chunks[0] = c.subarray(n);
    }
    this.#held = null;
    held.cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.side === "agent" && !this.#headSent) {
      cb(new Error(`Call respond() before ending the response of stream ${this.id}`));
      return;
    }
    this.#emit({ type: "end" });
    cb();
  }

  #cleanlyDone(): boolean {
    return this.writableFinished && this.readableEnded;
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    const clean = err === null && this.#cleanlyDone();
    if (!clean && !this.#remoteReset) {
      const code = err instanceof StreamResetError ? err.code : err ? ResetCode.internal : ResetCode.cancel;
      const reason = err?.message ?? `Stream cancelled by the ${this.side}`;
      this.#emit({ type: "reset", code, reason });
    }
    if (!clean) {
      const e = err ?? new StreamResetError(ResetCode.cancel, `Stream cancelled by the ${this.side}`, { remote: false });
      this.#abort?.abort(e);
      this.#rejectHead(e);
      const held = this.#held;
      this.#held = null;
      if (held) held.cb(e);
    }
    this.#queue.length = 0;
    this.#queued = 0;
    this.#host.closed(this, clean ? null : err);
    cb(err);
  }
}
