/**
 * One client's HTTP/2 connections to one gateway, as client-go keeps them: streams go on an open
 * session while it has room under the server's SETTINGS_MAX_CONCURRENT_STREAMS, and a new session
 * opens only when every one is full (or going away). Watches and small GETs share the sessions.
 */
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from "node:http2";
import type { Target } from "../bench-proxy/client.ts";
import { connectH2 } from "../bench-proxy/h2.ts";

interface Entry { session: ClientHttp2Session; open: number; draining: boolean }

export class H2Pool {
  readonly #t: Target;
  readonly #entries = new Set<Entry>();
  /** Sessions opened so far (the run reports it: 500 watches should need a handful). */
  opened = 0;

  constructor(t: Target) {
    this.#t = t;
  }

  /** A request for `path` (after the target's prefix) with `token`, on a session with room. */
  request(path: string, token: string, headers: OutgoingHttpHeaders = {}): ClientHttp2Stream {
    let entry: Entry | undefined;
    for (const e of this.#entries) {
      const max = e.session.remoteSettings?.maxConcurrentStreams ?? 100;
      if (!e.draining && !e.session.closed && !e.session.destroyed && e.open < max) {
        entry = e;
        break;
      }
    }
    if (!entry) entry = this.#open();
    const e = entry;
    e.open++;
    const stream = e.session.request({ ":path": this.#t.prefix + path, authorization: `Bearer ${token}`, accept: "application/json", ...headers });
    stream.once("close", () => e.open--);
    return stream;
  }

  /** A GET whose body is read (kept up to 1 KiB, for an error's message). */
  get(path: string, token: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const r = this.request(path, token);
      let status = 0;
      let text = "";
      r.on("response", (h) => (status = Number(h[":status"])));
      r.on("data", (c: Buffer) => {
        if (text.length < 1024) text += c.toString();
      });
      r.on("end", () => resolve({ status, text }));
      r.on("error", reject);
    });
  }

  #open(): Entry {
    const e: Entry = { session: connectH2(this.#t), open: 0, draining: false };
    this.opened++;
    this.#entries.add(e);
    e.session.once("goaway", () => (e.draining = true));
    e.session.once("close", () => this.#entries.delete(e));
    return e;
  }

  close(): void {
    for (const e of this.#entries) e.session.destroy();
    this.#entries.clear();
  }
}
