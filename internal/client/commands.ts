/**
 * The client commands (`ward login`, `ward cluster …`). Each takes the parsed invocation and
 * talks to the gateway's API with the caller's credentials (a `ward login` session or WARD_TOKEN).
 */
import { hostname, userInfo } from "node:os";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError, type Invocation } from "../cli/command.ts";
import { clearExecCache } from "./exec_cache.ts";
import { cacheDir } from "./files.ts";
import { call, ClientError, normalizeGatewayUrl, type GatewayTarget } from "./http.ts";
import { parseOutput, relative, table, type OutputFormat } from "./output.ts";
import { parseDuration } from "../validate/index.ts";
import { loadCredentialsFile, resolveCredentials, saveCredentialsFile, type Credentials, type TokenResponse } from "./session.ts";

export { ClientError };

type Flags = Invocation["flags"];
/** A string flag's value, or undefined. */
export const str = (f: Flags, k: string): string | undefined => (typeof f[k] === "string" ? (f[k] as string) : undefined);
const bool = (f: Flags, k: string): boolean => f[k] === true;

/** `45m`, `12h`, `30d` → seconds; null when it is not such a duration. */
export function durationSeconds(v: string): number | null {
  const ms = parseDuration(v, { units: ["m", "h", "d"], fractions: false });
  return ms === undefined ? null : ms / 1000;
}

export interface ApiGrant {
  id: string;
  cluster_id: string;
  member_id: string;
  role: string;
  scope: "cluster" | "namespace";
  namespace: string | null;
  status: string;
  error: string | null;
  expires_at: string | null;
}

export interface MyCluster {
  id: string;
  name: string;
  online: boolean;
  grants: ApiGrant[];
}

export function credentialsFor(inv: Invocation): Credentials {
  return resolveCredentials({
    gateway: str(inv.flags, "gateway"),
    caFile: str(inv.flags, "certificate-authority"),
    insecureSkipTlsVerify: bool(inv.flags, "insecure-skip-tls-verify"),
  });
}

export async function api<T>(creds: Credentials, path: string, opts: { method?: string; json?: unknown } = {}): Promise<T> {
  return call<T>(creds.gateway, path, { ...opts, token: await creds.token() });
}

export function outputFormat(inv: Invocation): OutputFormat {
  const o = parseOutput(inv.flags.output);
  if (!o) throw new UsageError(`Unknown output format ${JSON.stringify(inv.flags.output)}: use table or json`, inv.path);
  return o;
}

export function grantSummary(g: ApiGrant): string {
  const where = g.scope === "cluster" ? "cluster" : `ns/${g.namespace}`;
  return `${g.role}@${where}${g.status === "applied" ? "" : ` [${g.status}]`}`;
}

// ---- login / logout -----------------------------------------------------------------------

export async function runLogin(inv: Invocation): Promise<number> {
  const env = process.env;
  if (env["WARD_TOKEN"]) {
    inv.io.err("WARD_TOKEN is set: every command uses it, no login needed. Unset it to sign in as a person.\n");
    return 0;
  }
  const file = loadCredentialsFile();
  const raw = str(inv.flags, "gateway") ?? env["WARD_GATEWAY"] ?? file.current;
  if (!raw) throw new UsageError("Which gateway? Pass --gateway URL (e.g. https://ward.example.com)", inv.path);
  const url = normalizeGatewayUrl(raw);
  const caFile = str(inv.flags, "certificate-authority") ?? env["WARD_GATEWAY_CA"];
  let caPem: string | undefined;
  if (caFile) {
    const { readFileSync } = await import("node:fs");
    try {
      caPem = readFileSync(caFile, "utf8");
    } catch (e) {
      throw new ClientError(`Cannot read the CA file ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  caPem ??= file.gateways[url]?.ca_pem;
  const insecure = bool(inv.flags, "insecure-skip-tls-verify");
  const gw: GatewayTarget = { url, caPem, insecureSkipTlsVerify: insecure };
  const deviceName = str(inv.flags, "device-name") ?? `ward CLI on ${hostname()} (${safeUser()})`;

  const auth = await call<{ device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number }>(
    gw, "/api/v1/auth/device", { form: { client_name: deviceName } },
  );
  inv.io.err(
    `To sign in to ${url}, open this page in a browser (on any device):\n\n    ${auth.verification_uri_complete}\n\n` +
      `and check that it shows the code  ${auth.user_code}\n\nWaiting for confirmation (the code expires in ${Math.round(auth.expires_in / 60)} min; Ctrl-C to cancel)…\n`,
  );
  let interval = Math.max(1, auth.interval);
  const deadline = Date.now() + auth.expires_in * 1000;
  let tokens: TokenResponse | undefined;
  while (!tokens) {
    await sleep(interval * 1000);
    if (Date.now() > deadline + 5000) throw new ClientError("The code expired before it was confirmed: run 'ward login' again");
    try {
      tokens = await call<TokenResponse>(gw, "/api/v1/auth/token", { form: { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: auth.device_code } });
    } catch (e) {
      if (!(e instanceof ClientError)) throw e;
      if (e.code === "authorization_pending") continue;
      if (e.code === "slow_down") {
        interval += 5;
        continue;
      }
      if (e.code === "access_denied") throw new ClientError("The sign-in was denied in the portal");
      if (e.code === "expired_token") throw new ClientError("The code expired before it was confirmed: run 'ward login' again");
      throw e;
    }
  }
  const latest = loadCredentialsFile();
  latest.gateways[url] = {
    refresh_token: tokens.refresh_token!,
    access_token: tokens.access_token,
    access_expires_at: new Date(Date.now() + tokens.expires_in * 1000).toISOString(),
    member: tokens.member,
    session_id: tokens.session_id,
    ...(caPem ? { ca_pem: caPem } : {}),
    ...(insecure ? { insecure_skip_tls_verify: true } : {}),
  };
  latest.current = url;
  saveCredentialsFile(latest);
  clearExecCache(); // kubectl's cached credentials may belong to whoever was signed in before
  inv.io.err(`Signed in to ${url} as ${tokens.member.email}.\nNext: 'ward cluster list', then 'ward cluster kubeconfig add --cluster ID --use'.\n`);
  return 0;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown user";
  }
}

export async function runLogout(inv: Invocation): Promise<number> {
  const file = loadCredentialsFile();
  const raw = str(inv.flags, "gateway") ?? file.current;
  const url = raw ? normalizeGatewayUrl(raw) : undefined;
  const saved = url ? file.gateways[url] : undefined;
  // Cached k8s tokens are derived from the session: they go too.
  rmSync(join(cacheDir(), "kube-tokens"), { recursive: true, force: true });
  clearExecCache();
  if (!url || !saved) {
    inv.io.err(url ? `Not signed in to ${url}.\n` : "Not signed in.\n");
    return 0;
  }
  try {
    await call(
      { url, caPem: saved.ca_pem, insecureSkipTlsVerify: saved.insecure_skip_tls_verify },
      "/api/v1/auth/logout",
      { form: { refresh_token: saved.refresh_token } },
    );
  } catch (e) {
    inv.io.err(`Warning: the gateway could not be told (${(e as Error).message}); the local session is removed anyway.\n`);
  }
  delete file.gateways[url];
  if (file.current === url) delete file.current;
  saveCredentialsFile(file);
  inv.io.err(`Signed out of ${url}.\n`);
  return 0;
}

// ---- cluster list -------------------------------------------------------------------------

export async function runClusterList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const creds = credentialsFor(inv);
  const { clusters } = await api<{ clusters: MyCluster[] }>(creds, "/api/v1/me/clusters");
  if (fmt === "json") {
    inv.io.out(JSON.stringify({ clusters }, null, 2) + "\n");
    return 0;
  }
  if (!clusters.length) {
    inv.io.err("No clusters yet: ask an admin for a grant.\n");
    return 0;
  }
  inv.io.out(
    table(
      ["CLUSTER", "NAME", "STATUS", "ACCESS"],
      clusters.map((c) => [c.id, c.name, c.online ? "online" : "offline", c.grants.length ? c.grants.map(grantSummary).join(", ") : "none (admin: grant yourself access)"]),
    ),
  );
  return 0;
}
