/**
 * The agent's stream counts: tunnel streams being forwarded to the API server now, and since the
 * start. Fed by the upstream handler's `onActive` (a stream's open and its close, which aborts an
 * unfinished upstream request), read by `/metrics`.
 */
export class StreamStats {
  #open = 0;
  #total = 0;

  /** Pass as `createUpstreamHandler({ onActive })`. */
  readonly onActive = (delta: 1 | -1): void => {
    if (delta > 0) {
      this.#open++;
      this.#total++;
    } else if (this.#open > 0) {
      this.#open--;
    }
  };

  get open(): number {
    return this.#open;
  }

  get total(): number {
    return this.#total;
  }
}
