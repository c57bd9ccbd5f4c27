/** A minimal Kubernetes API client for `kube-env up`: HTTPS with the admin client certificate. */
import { readFileSync } from "node:fs";
import { request } from "node:https";

export interface ApiCreds {
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface ApiResponse {
  status: number;
  body: string;
}

export function apiClient(creds: ApiCreds) {
  const tls = { ca: readFileSync(creds.caFile), cert: readFileSync(creds.certFile), key: readFileSync(creds.keyFile) };

  function call(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, creds.server),
        {
          method,
          ...tls,
          timeout: timeoutMs,
          headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** POSTs an object; a 409 (already exists) counts as success so `up` can be re-run on a live cluster. */
  async function create(path: string, obj: unknown): Promise<void> {
    const r = await call("POST", path, obj);
    if (r.status !== 201 && r.status !== 200 && r.status !== 409) {
      throw new Error(`POST ${path}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
    }
  }

  async function getJson<T>(path: string): Promise<T | undefined> {
    const r = await call("GET", path);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
    return JSON.parse(r.body) as T;
  }

  return { call, create, getJson };
}

export type ApiClient = ReturnType<typeof apiClient>;
