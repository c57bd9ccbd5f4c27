/**
 * The HTTP/2 rows (`--only h2`): what one client gains from HTTP/2 to the gateway, through Ward and
 * direct to the API server with the same client.
 *   - 200 concurrent watches (`/api/v1/namespaces/default/configmaps?watch=1`) from one client, over
 *     HTTP/2 (node:http2 sessions: as many as the server's SETTINGS_MAX_CONCURRENT_STREAMS needs, as
 *     client-go opens them) and over HTTP/1.1 (a node:https agent, one socket per watch): the TCP
 *     connections the server process holds for them (its descriptors in /proc/PID/fd matched with
 *     /proc/net/tcp) and, through Ward, the gateway's RSS growth per watch;
 *   - small GET c=64 over HTTP/2 (one session, 64 streams in flight) and over HTTP/1.1 (64
 *     keep-alive sockets), through Ward and direct: requests/s, p50, p99.
 * Direct is the kube-env admin (system:masters), the same client code on both sides.
 */
import { once } from "node:events";
import { tcpConnections } from "../../test/helpers/proc_net.ts";
import http2 from "node:http2";
import https from "node:https";
import type { Target } from "./client.ts";
import { peakRss } from "./measure.ts";
import { fmtMs } from "./report.ts";
import { smallGetC64 } from "./workloads.ts";

const WATCHES = 200;
const WATCH_PATH = "/api/v1/namespaces/default/configmaps?watch=1";

type Protocol = "h2" | "http1";

/**
 * This client's connections to the server on `port`, and how many of them the server process `pid`
 * holds the other end of (matched by port pair: the API server's other clients, such as the agent,
 * are not counted).
 */
function connections(pid: number, port: number, before: ReadonlySet<number> = new Set()): { client: number; server: number } {
  const mine = new Set(tcpConnections("self").filter(([local, remote]) => remote === port && !before.has(local)).map(([local]) => local));
  return { client: mine.size, server: tcpConnections(pid).filter(([local, remote]) => local === port && mine.has(remote)).length };
}

async function settle(t: Target): Promise<void> {
  for (let i = 0; i < 100 && tcpConnections("self").some(([, remote]) => remote === t.port); i++) await new Promise((r) => setTimeout(r, 100));
}

export function connectH2(t: Target): http2.ClientHttp2Session {
  const s = http2.connect(`https://${t.host}:${t.port}`, { ca: t.ca });
  s.on("error", () => {});
  return s;
}

/** One HTTP/2 GET on `session`, its body read and dropped. */
function h2Get(session: http2.ClientHttp2Session, t: Target, path: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const r = session.request({ ":path": t.prefix + path, authorization: `Bearer ${t.token}`, accept: "application/json" });
    let status = 0;
    r.on("response", (h) => (status = Number(h[":status"])));
    r.on("error", reject);
    r.on("end", () => resolve({ status }));
    r.resume();
  });
}

/** Opens WATCHES watches over `protocol`; resolves once every response head is in, with a function that closes them. */
async function openWatches(t: Target, protocol: Protocol): Promise<() => void> {
  const heads: Promise<void>[] = [];
  if (protocol === "h2") {
    const first = connectH2(t);
    const [settings] = (await once(first, "remoteSettings")) as [http2.Settings];
    const perSession = settings.maxConcurrentStreams ?? WATCHES;
    const sessions = [first, ...Array.from({ length: Math.ceil(WATCHES / perSession) - 1 }, () => connectH2(t))];
    for (let i = 0; i < WATCHES; i++) {
      const r = sessions[Math.floor(i / perSession)]!.request({ ":path": t.prefix + WATCH_PATH, authorization: `Bearer ${t.token}` });
      r.on("error", () => {});
      r.resume();
      heads.push(once(r, "response").then(([h]) => {
        if (h[":status"] !== 200) throw new Error(`watch: ${h[":status"]}`);
      }));
    }
    await Promise.all(heads);
    return () => sessions.forEach((s) => s.destroy());
  }
  const agent = new https.Agent({ keepAlive: true, maxSockets: Infinity, ca: t.ca });
  for (let i = 0; i < WATCHES; i++) {
    heads.push(new Promise((resolve, reject) => {
      https.get({ host: t.host, port: t.port, path: t.prefix + WATCH_PATH, agent, headers: { authorization: `Bearer ${t.token}` } }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else reject(new Error(`watch: ${res.statusCode}`));
      }).on("error", reject);
    }));
  }
  await Promise.all(heads);
  return () => agent.destroy();
}

interface WatchRow { connections: number; serverHolds: number; rssKiBPerWatch: number }

/**
 * WATCHES watches over `protocol`: the client's connections to the server, the server process's
 * (`pid`) ends of them, and its RSS growth per watch.
 */
async function watchRow(t: Target, pid: number, protocol: Protocol): Promise<WatchRow> {
  const rss = peakRss(pid).rssKiB;
  // This process's connections to the server already open (the other rows' keep-alive pools) are not the watches'.
  const before = new Set(tcpConnections("self").filter(([, remote]) => remote === t.port).map(([local]) => local));
  const close = await openWatches(t, protocol);
  await new Promise((r) => setTimeout(r, 1000)); // what the server does after the heads (buffers, timers) settles
  const c = connections(pid, t.port, before);
  const row = { connections: c.client, serverHolds: c.server, rssKiBPerWatch: +((peakRss(pid).rssKiB - rss) / WATCHES).toFixed(1) };
  close();
  await settle(t);
  return row;
}

export interface H2Sides {
  ward: Target;
  direct: Target;
  gatewayPid: number;
  apiserverPid: number;
}

export async function h2Rows(s: H2Sides, row: (line: string) => void): Promise<Record<string, unknown>> {
  // Warm-up: the first watches through the gateway also grow its heap and compile its code paths;
  // unmeasured, so neither protocol's row carries that.
  for (const protocol of ["h2", "http1"] as const) {
    (await openWatches(s.ward, protocol))();
    await settle(s.ward);
  }
  const watches: Record<string, WatchRow> = {};
  for (const protocol of ["h2", "http1"] as const) {
    watches[`ward_${protocol}`] = await watchRow(s.ward, s.gatewayPid, protocol);
    watches[`direct_${protocol}`] = await watchRow(s.direct, s.apiserverPid, protocol);
  }
  const w = (p: Protocol) => {
    const [ward, direct] = [watches[`ward_${p}`]!, watches[`direct_${p}`]!];
    return `gateway ${ward.serverHolds} (RSS +${ward.rssKiBPerWatch} KiB/watch)  API server direct ${direct.serverHolds}`;
  };
  row(`${WATCHES} watches, one client: TCP connections  HTTP/2 ${w("h2")}  | HTTP/1.1 ${w("http1")}`);

  const c64: Record<string, { p50: number; p99: number; rps: number; count: number }> = {};
  for (const t of [s.ward, s.direct]) {
    const session = connectH2(t);
    c64[`${t.name}_h2`] = await smallGetC64(t, undefined, (path) => h2Get(session, t, path));
    session.close();
    c64[`${t.name}_http1`] = await smallGetC64(t);
  }
  const c = (k: string) => `${c64[k]!.rps.toFixed(0)} req/s p50 ${fmtMs(c64[k]!.p50)} p99 ${fmtMs(c64[k]!.p99)}`;
  row(`small GET c=64 HTTP/2    ward ${c("ward_h2")}  | direct ${c("direct_h2")}`);
  row(`small GET c=64 HTTP/1.1  ward ${c("ward_http1")}  | direct ${c("direct_http1")}`);
  return { watches: { count: WATCHES, ...watches }, smallGetC64: c64 };
}
