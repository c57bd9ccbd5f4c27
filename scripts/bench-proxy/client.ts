/** The benchmark's HTTP client: one target per compared side (keep-alive agent, bearer token, path prefix) and its requests. */
import https from "node:https";

export interface Target {
  name: "direct" | "user" | "ward" | "rd" | "floor";
  host: string;
  port: number;
  /** Path prefix before the Kubernetes API path ("" direct, "/api/v1/clusters/<c>/k8s" through Ward). */
  prefix: string;
  /** kubeconfig for the kubectl rows. */
  kubeconfig?: string;
  ca: Buffer;
  token: string;
  agent: https.Agent;
}

export function target(name: Target["name"], server: string, ca: Buffer, token: string): Target {
  const u = new URL(server);
  return {
    name, host: u.hostname, port: Number(u.port || 443), prefix: u.pathname.replace(/\/$/, ""), ca, token,
    agent: new https.Agent({ keepAlive: true, maxSockets: 64, ca }),
  };
}

export function req(t: Target, method: string, path: string, body?: unknown): Promise<{ status: number; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const r = https.request({
      host: t.host, port: t.port, path: t.prefix + path, method, agent: t.agent,
      headers: { authorization: `Bearer ${t.token}`, accept: "application/json", ...(payload ? { "content-type": "application/json" } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (c: Buffer) => {
        bytes += c.length;
        chunks.push(c);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, text: method === "GET" && bytes > 1 << 16 ? "" : Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    r.on("error", reject);
    r.end(payload);
  });
}

/** Reads a GET's body as a stream (counting bytes) without keeping it. */
/** A GET whose body is counted, not kept; `firstByteMs`: from the request to the first body bytes. */
export function getCount(t: Target, path: string): Promise<{ status: number; bytes: number; firstByteMs: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const r = https.request({ host: t.host, port: t.port, path: t.prefix + path, method: "GET", agent: t.agent, headers: { authorization: `Bearer ${t.token}`, accept: "application/json" } }, (res) => {
      let bytes = 0;
      let firstByteMs = 0;
      res.on("data", (c: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - t0;
        bytes += c.length;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, firstByteMs }));
      res.on("error", reject);
    });
    r.on("error", reject);
    r.end();
  });
}

export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
