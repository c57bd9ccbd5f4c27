/**
 * The Node floor for bench-proxy (`node scripts/bench-floor.ts --listen 127.0.0.1:0 --upstream URL …`):
 * the least a Node process can do as one hop of an HTTPS proxy. An HTTPS server that checks a static
 * bearer token and forwards each request through an undici keep-alive pool (HTTP/1.1, the agent's
 * pool for plain requests) to its upstream, streaming the answer back. No tunnel, no multiplexing, no
 * access checks, no logging.
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

const pool = new Pool(o.upstream!, { connections: null, connect: { ca: readFileSync(o["upstream-ca"]!) } });
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
const [host, port] = o.listen!.split(":");
server.listen(Number(port), host, () => {
  const a = server.address() as { address: string; port: number };
  console.log(`LISTEN ${a.address}:${a.port}`);
});
