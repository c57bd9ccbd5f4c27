/**
 * A small JSON client for the gateway's API over node:http(s), with the gateway's CA or
 * verification off when asked. Built-ins only: the exec credential plugin loads this on every
 * kubectl invocation.
 */
import type { IncomingMessage } from "node:http";

// Loaded on first use: node:https costs ~13 ms at start-up, and the exec plugin's cached path
// makes no request at all.
const requestFn = (https: boolean): typeof import("node:https").request =>
  https ? process.getBuiltinModule("node:https").request : process.getBuiltinModule("node:http").request;

export interface GatewayTarget {
  /** e.g. https://ward.example.com (no trailing slash). */
  url: string;
  /** PEM bundle to trust instead of the system roots. */
  caPem?: string | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
}

/** A failed call, with what the server said and what to do. */
export class ClientError extends Error {
  override name = "ClientError";
  readonly status: number;
  /** The API's stable reason / OAuth error code, when it sent one. */
  readonly code: string | undefined;
  constructor(message: string, status = 0, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface RequestOptions {
  method?: string;
  /** Bearer token. */
  token?: string | undefined;
  /** JSON body, or form fields (sent form-encoded) when `form` is set. */
  json?: unknown;
  form?: Record<string, string>;
  timeoutMs?: number;
}

export function normalizeGatewayUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.includes("://") ? raw : `https://${raw}`);
  } catch {
    throw new ClientError(`Invalid gateway URL ${JSON.stringify(raw)}: use https://host[:port]`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new ClientError(`Invalid gateway URL ${JSON.stringify(raw)}: use https://host[:port]`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** Calls the gateway; resolves the parsed JSON body (or null for 204); rejects with ClientError. */
export function call<T = unknown>(gw: GatewayTarget, path: string, opts: RequestOptions = {}): Promise<T> {
  const url = new URL(gw.url + path);
  const headers: Record<string, string> = { accept: "application/json", "user-agent": "ward-cli" };
  let body: string | undefined;
  if (opts.form) {
    body = new URLSearchParams(opts.form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["content-type"] = "application/json";
  }
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  if (opts.token) headers["authorization"] = `Bearer ${opts.token}`;
  const isHttps = url.protocol === "https:";
  const request = requestFn(isHttps);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? (body === undefined ? "GET" : "POST"),
        headers,
        timeout: opts.timeoutMs ?? 30_000,
        ...(isHttps ? { ca: gw.caPem || undefined, rejectUnauthorized: !gw.insecureSkipTlsVerify } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          let data: unknown = null;
          if (text) {
            try {
              data = JSON.parse(text);
            } catch {
              data = null;
            }
          }
          if (status >= 200 && status < 300) return resolve(data as T);
          const d = (data ?? {}) as { error?: string; error_description?: string; reason?: string; message?: string };
          const message = d.error_description ?? (typeof d.error === "string" && d.reason ? d.error : undefined) ?? d.message ?? `HTTP ${status} from ${gw.url}${path}`;
          const retry = res.headers["retry-after"];
          reject(new ClientError(retry ? `${message} (retry after ${retry} s)` : message, status, d.reason ?? d.error));
        });
      },
    );
    req.on("timeout", () => req.destroy(new ClientError(`The gateway ${gw.url} did not answer in time`)));
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e instanceof ClientError) return reject(e);
      reject(new ClientError(connectionMessage(gw, e)));
    });
    req.end(body);
  });
}

function connectionMessage(gw: GatewayTarget, e: NodeJS.ErrnoException): string {
  const code = e.code ?? "";
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "ECONNRESET") return `Cannot reach the gateway ${gw.url} (${code})`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return `The gateway ${gw.url} presented a certificate this machine does not trust (${code}): pass its CA with --certificate-authority FILE (a dev gateway writes DATA_DIR/tls/ca.crt)`;
  }
  return `Request to the gateway ${gw.url} failed: ${e.message}`;
}
