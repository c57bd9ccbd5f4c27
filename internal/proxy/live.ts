/** Open proxy streams per (cluster, member), so revocation can close them at once. */
import type { Duplex } from "node:stream";

export class LiveStreams {
  #byKey = new Map<string, Set<Duplex>>();

  static key(cluster: string, member: string): string {
    return `${cluster}\u0000${member}`;
  }

  add(cluster: string, member: string, stream: Duplex): void {
    const key = LiveStreams.key(cluster, member);
    let set = this.#byKey.get(key);
    if (!set) this.#byKey.set(key, (set = new Set()));
    set.add(stream);
    // Errors are handled where the stream is piped; this keeps one raised between pipes (or by
    // close() below) from becoming an uncaught 'error' event.
    stream.on("error", () => {});
    stream.once("close", () => {
      set.delete(stream);
      if (set.size === 0 && this.#byKey.get(key) === set) this.#byKey.delete(key);
    });
  }

  /** Closes the member's streams on the cluster (all members' when `member` is undefined). Returns how many. */
  close(cluster: string, member: string | undefined, reason: string): number {
    let n = 0;
    for (const [key, set] of [...this.#byKey]) {
      const [c, m] = key.split("\u0000");
      if (c !== cluster || (member !== undefined && m !== member)) continue;
      for (const s of [...set]) {
        s.destroy(new Error(reason));
        n++;
      }
    }
    return n;
  }

  count(): number {
    let n = 0;
    for (const set of this.#byKey.values()) n += set.size;
    return n;
  }
}
