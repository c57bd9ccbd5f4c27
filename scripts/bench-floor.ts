/**
 * The Node floor for bench-proxy (`node scripts/bench-floor.ts --listen 127.0.0.1:0 --upstream URL …`):
 * the least a Node process can do as one hop of an HTTPS proxy. An HTTPS server that checks a static
 * bearer token and forwards each request (a GET: the benchmark sends it no bodies) through an undici
 * keep-alive pool (HTTP/1.1, the agent's pool for plain requests) to its upstream, streaming the answer
 * back; an upgrade (exec, port-forward) gets its own TLS connection upstream, and after the request
 * head the two sockets are piped raw both ways (the upstream's 101 included). No tunnel, no
 * multiplexing, no access checks, no logging.
 *
 * bench-proxy chains two of them, as Ward chains a gateway and an agent: client → front hop → back hop
 * → API server, the back hop authenticating with the admin token and impersonating the same user as
 * Ward's agent. What that chain adds over a direct request is what any design with two Node processes
 * on the path pays on this machine before doing any work of its own.
 *
 * Prints `LISTEN host:port` once listening.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { parseArgs } from "node:util";
import { Pool } from "undici";

const { values: o } = parseArgs({
  options: {
    listen: { type: "string", default: "127.0.0.1:0" },
    upstream: { type: "string" },
    "upstream-ca": { type: "string" },
    "upstream-token": { type: "string" },
    impersonate: { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "front-token": { type: "string" },
  },
});
for (const k of ["upstream", "upstream-ca", "upstream-token", "tls-cert", "tls-key", "front-token"] as const) {
  if (!o[k]) throw new Error(`--${k} is required`);
}

const upstream = new URL(o.upstream!);
const ca = readFileSync(o["upstream-ca"]!);
const pool = new Pool(upstream.origin, { connections: null, headersTimeout: 0, bodyTimeout: 0, connect: { ca } });
const expected = `Bearer ${o["front-token"]}`;
const forward: Record<string, string> = { authorization: `Bearer ${o["upstream-token"]}` };
if (o.impersonate) forward["impersonate-user"] = o.impersonate;

const server = createServer({ cert: readFileSync(o["tls-cert"]!), key: readFileSync(o["tls-key"]!) }, (req, res) => {
  if (req.headers.authorization !== expected) {
    res.writeHead(401).end();
    return void req.resume();
  }
  req.resume();
  const headers = { ...forward, accept: req.headers.accept ?? "*/*" };
  pool.request({ method: req.method as "GET", path: req.url!, headers }).then(
    ({ statusCode, headers: h, body }) => {
      res.writeHead(statusCode, { "content-type": String(h["content-type"] ?? "application/json") });
      body.pipe(res);
    },
    (err: Error) => res.writeHead(502).end(err.message),
  );
});
server.on("upgrade", (req, socket, head) => {
  socket.on("error", () => socket.destroy());
  if (req.headers.authorization !== expected) return void socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
  const up = tlsConnect({ host: upstream.hostname, port: Number(upstream.port || 443), ca, ALPNProtocols: ["http/1.1"] });
  const lines = [`${req.method} ${req.url} HTTP/1.1`, `Host: ${upstream.host}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name === "host" || name === "authorization" || name.startsWith("impersonate-")) continue;
    lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  }
  for (const [name, value] of Object.entries(forward)) lines.push(`${name}: ${value}`);
  up.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (head.length) up.write(head);
  socket.pipe(up).pipe(socket);
  up.on("error", () => up.destroy());
  up.once("close", () => socket.destroy());
  socket.once("close", () => up.destroy());
});
const [host, port] = o.listen!.split(":");
server.listen(Number(port), host, () => {
  const a = server.address() as { address: string; port: number };
  console.log(`LISTEN ${a.address}:${a.port}`);
});
