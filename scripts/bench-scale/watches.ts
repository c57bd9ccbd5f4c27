/**
 * Idle watches, each on its own HTTP/1.1 connection: opened in batches (a batch waits for every
 * response head before the next starts), counted as established on a 200 head, their events
 * counted as they arrive, all destroyed at the end. A refusal (a limit's 429, anything not 200)
 * stops the opening and is kept with its message, so the row can say what capped N.
 */
import https from "node:https";
import type { Target } from "../bench-proxy/client.ts";

export interface Watch {
  req: import("node:http").ClientRequest;
  /** Watch events received (one JSON object per line). */
  events: number;
}

export interface WatchSet {
  watches: Watch[];
  /** The first refusal: status and the start of its body. */
  refused?: { status: number; message: string };
  /** Destroys every watch (their connections with them). */
  close(): void;
}

/** One watch per token slot: `paths[i]` with `tokens[Math.floor(i / perToken)]`. */
export async function openWatches(t: Target, paths: string[], tokens: string[], perToken: number, batch: number): Promise<WatchSet> {
  // One agent for every watch: no socket limit, so each concurrent request gets a connection of its
  // own; its TLS session cache makes the handshakes after the first ones cheaper.
  const agent = new https.Agent({ keepAlive: false, maxSockets: Infinity, ca: t.ca });
  const set: WatchSet = { watches: [], close: () => {
    for (const w of set.watches) w.req.destroy();
    agent.destroy();
  } };
  for (let start = 0; start < paths.length && !set.refused; start += batch) {
    const heads = [];
    for (let i = start; i < Math.min(paths.length, start + batch); i++) heads.push(openOne(t, agent, paths[i]!, tokens[Math.floor(i / perToken)]!));
    for (const r of await Promise.allSettled(heads)) {
      if (r.status === "rejected") set.refused ??= { status: 0, message: String((r.reason as Error)?.message ?? r.reason) };
      else if ("watch" in r.value) set.watches.push(r.value.watch);
      else set.refused ??= r.value.refused;
    }
  }
  return set;
}

function openOne(t: Target, agent: https.Agent, path: string, token: string): Promise<{ watch: Watch } | { refused: { status: number; message: string } }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: t.host, port: t.port, path: t.prefix + path, method: "GET", agent, headers: { authorization: `Bearer ${token}`, accept: "application/json" } }, (res) => {
      if (res.statusCode !== 200) {
        let body = "";
        res.on("data", (c: Buffer) => (body = (body + c.toString()).slice(0, 400)));
        res.on("end", () => resolve({ refused: { status: res.statusCode ?? 0, message: statusMessage(body) } }));
        return;
      }
      const watch: Watch = { req, events: 0 };
      res.on("data", (c: Buffer) => {
        for (const b of c) if (b === 0x0a) watch.events++;
      });
      res.on("error", () => {});
      resolve({ watch });
    });
    req.on("error", reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`No response head for ${path} within 60 s`)));
    req.end();
  });
}

/** A Kubernetes Status's message, else the body's start. */
function statusMessage(body: string): string {
  try {
    return String(JSON.parse(body).message ?? body);
  } catch {
    return body;
  }
}
