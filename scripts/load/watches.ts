/**
 * The watches, as client-go's reflectors hold them: `n` watches on ConfigMaps spread over a few
 * namespaces and over the gateways, over the HTTP/2 sessions of each gateway's pool, each asking the
 * API server to end it after T to 2T seconds and then re-opened from the last resourceVersion it saw
 * (from scratch after a 410 Expired). A churner changes one ConfigMap in each namespace in turn, so
 * every watch carries events; a watch that has not delivered a change committed 15 s ago in its
 * namespace is stalled (an error), and is re-opened.
 *
 * Not errors: the server ending a watch at its timeoutSeconds, a 410 Expired. Errors: any other
 * end (reset, early end), a non-200 head, an ERROR event other than 410, a stall.
 */
import type { ClientHttp2Stream } from "node:http2";
import { req, type Target } from "../bench-proxy/client.ts";
import type { H2Pool } from "./h2_pool.ts";
import { errorLabel, sleep, type LoadStats } from "./stats.ts";

export const STALL_MS = 15_000;

export interface WatchSide { pool: H2Pool; tokens: string[] }

interface OpenWatch { ns: string; openedAt: number; lastEventAt: number; stream: ClientHttp2Stream; stalled: boolean }

export class WatchLoad {
  readonly #stats: LoadStats;
  readonly #namespaces: string[];
  readonly #timeoutS: number;
  readonly #open = new Set<OpenWatch>();
  /** Per namespace: when each recent change was committed (its PUT answered), oldest first. */
  readonly #changes = new Map<string, number[]>();
  /** Watches that received at least one event, by index. */
  readonly #live = new Set<number>();

  constructor(namespaces: string[], timeoutS: number, stats: LoadStats) {
    this.#namespaces = namespaces;
    this.#timeoutS = timeoutS;
    this.#stats = stats;
  }

  /** How many of the watches received at least one event so far. */
  get live(): number {
    return this.#live.size;
  }

  get openNow(): number {
    return this.#open.size;
  }

  /** Runs `n` watch loops (watch i on side i % sides, token by its slot) until `until()`. */
  async run(sides: WatchSide[], n: number, until: () => boolean): Promise<void> {
    const perSide = sides.map(() => 0);
    const stallTimer = setInterval(() => this.#checkStalls(), 1000);
    try {
      await Promise.all(Array.from({ length: n }, (_, i) => {
        const s = i % sides.length;
        const side = sides[s]!;
        const slot = perSide[s]!++;
        const token = side.tokens[slot % side.tokens.length]!;
        return this.#loop(i, side.pool, token, this.#namespaces[i % this.#namespaces.length]!, until);
      }));
    } finally {
      clearInterval(stallTimer);
    }
  }

  /** Ends every open watch now (the run is over). */
  closeAll(): void {
    for (const w of this.#open) w.stream.close();
  }

  /** Changes one ConfigMap per namespace in turn, every `everyMs`, through `targets` in turn. */
  async churn(targets: Target[], everyMs: number, until: () => boolean): Promise<void> {
    for (let i = 0; !until(); i++) {
      const t0 = Date.now();
      const ns = this.#namespaces[i % this.#namespaces.length]!;
      try {
        const r = await req(targets[i % targets.length]!, "PUT", `/api/v1/namespaces/${ns}/configmaps/churn`, {
          apiVersion: "v1", kind: "ConfigMap", metadata: { name: "churn", namespace: ns }, data: { n: String(i) },
        });
        if (r.status !== 200) this.#stats.error(`churn: ${r.status}`, r.text);
        else {
          this.#stats.add("writes");
          const list = this.#changes.get(ns) ?? [];
          list.push(Date.now());
          if (list.length > 200) list.splice(0, list.length - 200);
          this.#changes.set(ns, list);
        }
      } catch (err) {
        this.#stats.error(`churn: ${errorLabel(err)}`, (err as Error).message);
      }
      await sleep(Math.max(0, everyMs - (Date.now() - t0)));
    }
  }

  async #loop(index: number, pool: H2Pool, token: string, ns: string, until: () => boolean): Promise<void> {
    let rv: string | undefined;
    let first = true;
    while (!until()) {
      const timeoutS = this.#timeoutS + Math.floor(Math.random() * (this.#timeoutS + 1));
      const path = `/api/v1/namespaces/${ns}/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeoutS}${rv ? `&resourceVersion=${rv}` : ""}`;
      this.#stats.add(first ? "watchOpens" : "watchReopens");
      first = false;
      const end = await this.#watchOnce(index, pool, token, ns, path, timeoutS, (v) => (rv = v));
      if (end === "expired") rv = undefined;
      if (end === "failed") await sleep(1000); // an error was recorded; no hot loop against a refusing server
    }
  }

  /** One watch request, to its end: "timeout" (the server's, as asked), "expired" (410), "stalled" or "failed". */
  #watchOnce(index: number, pool: H2Pool, token: string, ns: string, path: string, timeoutS: number, setRv: (rv: string) => void): Promise<"timeout" | "expired" | "stalled" | "failed"> {
    return new Promise((resolve) => {
      const stats = this.#stats;
      const stream = pool.request(path, token);
      const w: OpenWatch = { ns, openedAt: Date.now(), lastEventAt: 0, stream, stalled: false };
      this.#open.add(w);
      let status = 0;
      let partial = "";
      let body = "";
      let expired = false;
      let done = false;
      const finish = (how: "timeout" | "expired" | "stalled" | "failed") => {
        if (done) return;
        done = true;
        this.#open.delete(w);
        resolve(how);
      };
      stream.on("response", (h) => {
        status = Number(h[":status"]);
      });
      stream.on("data", (c: Buffer) => {
        if (status !== 200) {
          body = (body + c.toString()).slice(0, 1000);
          return;
        }
        const lines = (partial + c.toString()).split("\n");
        partial = lines.pop()!;
        for (const line of lines) {
          if (!line) continue;
          const type = /^\{"type":"([A-Z]+)"/.exec(line)?.[1];
          if (type === "ERROR") {
            if (/"code":410\b/.test(line)) expired = true;
            else stats.error("watch: ERROR event", line);
            continue;
          }
          const v = /"resourceVersion":"(\d+)"/.exec(line)?.[1];
          if (v) setRv(v);
          if (type === "BOOKMARK") continue;
          w.lastEventAt = Date.now();
          this.#live.add(index);
          stats.add("watchEvents");
        }
      });
      stream.on("end", () => {
        const ms = Date.now() - w.openedAt;
        if (status !== 200) {
          stats.error(`watch: ${status}`, body);
          finish("failed");
        } else if (w.stalled) finish("stalled");
        else if (expired) {
          stats.add("watchExpired");
          finish("expired");
        } else if (ms >= timeoutS * 1000 - 1500) finish("timeout");
        else {
          stats.error("watch: ended early", `The watch ended after ${(ms / 1000).toFixed(1)} s of its ${timeoutS} s timeout, with no error`);
          finish("failed");
        }
      });
      stream.on("error", (err) => {
        if (w.stalled) return finish("stalled");
        stats.error(`watch: ${errorLabel(err)}`, `${err.message} (after ${((Date.now() - w.openedAt) / 1000).toFixed(1)} s)`);
        finish("failed");
      });
      stream.on("close", () => {
        if (done) return;
        if (w.stalled || this.#stats.stopping) return finish("stalled");
        stats.error("watch: closed", `The stream closed (code ${stream.rstCode}) without an end after ${((Date.now() - w.openedAt) / 1000).toFixed(1)} s`);
        finish("failed");
      });
      stream.end();
    });
  }

  /** Stalled: a change committed STALL_MS ago or earlier in the watch's namespace, after it opened and after its last event. */
  #checkStalls(): void {
    const now = Date.now();
    for (const w of this.#open) {
      const changes = this.#changes.get(w.ns);
      if (!changes) continue;
      let committed = 0;
      for (const t of changes) if (t <= now - STALL_MS) committed = t;
      if (committed > w.openedAt && committed > w.lastEventAt) {
        w.stalled = true;
        this.#stats.error("watch: stalled", `No event for ${((now - Math.max(w.openedAt, w.lastEventAt)) / 1000).toFixed(1)} s though ${w.ns} changed ${((now - committed) / 1000).toFixed(1)} s ago`);
        this.#stats.add("watchStalls");
        w.stream.close();
        this.#open.delete(w);
      }
    }
  }
}
