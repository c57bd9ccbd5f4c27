/**
 * Credit-based flow control for one direction of one stream. Pure bookkeeping, no I/O.
 *
 * The receiver grants `window` bytes up front. The sender never has more than the granted bytes
 * unacknowledged. The receiver returns credit only for bytes its consumer has actually taken, and
 * only in batches of at least `threshold` (a quarter of the window): two thresholds, like
 * remotedialer's back-pressure — the sender stalls at the window (high-water mark) and resumes once a
 * quarter of it has been consumed (low-water mark). Hence neither side holds more than `window`.
 */

export class SendCredit {
  /** Bytes the sender may still send. */
  #credit: number;
  #sent = 0;
  #returned = 0;
  readonly peerWindow: number;

  constructor(peerWindow: number) {
    this.peerWindow = peerWindow;
    this.#credit = peerWindow;
  }

  get available(): number {
    return this.#credit;
  }

  /** Sent and not yet acknowledged by returned credit. Never above `peerWindow`. */
  get inFlight(): number {
    return this.#sent - this.#returned;
  }

  get sent(): number {
    return this.#sent;
  }

  /** Takes up to `want` bytes of credit and returns how many were taken. */
  take(want: number): number {
    const n = Math.min(want, this.#credit);
    this.#credit -= n;
    this.#sent += n;
    return n;
  }

  /** Applies a window frame. Returns false if the peer returned more than was in flight (a protocol error). */
  give(credit: number): boolean {
    if (credit > this.inFlight) return false;
    this.#credit += credit;
    this.#returned += credit;
    return true;
  }
}

export class ReceiveWindow {
  readonly window: number;
  readonly threshold: number;
  /** Bytes the peer may still send without overrunning the window. */
  #allowed: number;
  #received = 0;
  #returned = 0;

  constructor(window: number) {
    this.window = window;
    this.#allowed = window;
    this.threshold = Math.max(1, Math.floor(window / 4));
  }

  get received(): number {
    return this.#received;
  }

  /** Books `n` received bytes; false if that overruns what was granted. */
  accept(n: number): boolean {
    if (n > this.#allowed) return false;
    this.#allowed -= n;
    this.#received += n;
    return true;
  }

  /**
   * Given how many bytes the consumer has taken in total, returns the credit to send now
   * (0 while below the threshold) and books it as returned.
   */
  creditFor(consumed: number): number {
    const owed = consumed - this.#returned;
    if (owed < this.threshold) return 0;
    this.#returned += owed;
    this.#allowed += owed;
    return owed;
  }
}
