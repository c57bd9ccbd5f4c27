/**
 * The CLI's credentials: a `ward login` session per gateway (refresh token + current access
 * token), or `WARD_TOKEN` (an API token, e.g. a robot's) for non-interactive use. Access tokens
 * are refreshed silently shortly before they expire.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { call, ClientError, normalizeGatewayUrl, type GatewayTarget } from "./http.ts";
import { configDir, readJson, shortHash, writeJsonPrivate } from "./files.ts";

type Env = Record<string, string | undefined>;

export interface SavedSession {
  refresh_token: string;
  access_token: string;
  access_expires_at: string;
  member: { id: string; email: string; role: string };
  session_id: string;
  ca_pem?: string;
  insecure_skip_tls_verify?: boolean;
}

export interface CredentialsFile {
  current?: string;
  gateways: Record<string, SavedSession>;
}

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  session_id: string;
  member: { id: string; email: string; role: string };
}

/** Who is calling and how: what every client command starts from. */
export interface Credentials {
  gateway: GatewayTarget;
  /** A stable key for caches: the member id, or a hash of WARD_TOKEN. */
  principal: string;
  /** A valid bearer token (refreshing the session if needed). */
  token(): Promise<string>;
  /** Email of the signed-in member, when known. */
  email: string | undefined;
}

export function credentialsPath(env: Env = process.env): string {
  return join(configDir(env), "credentials.json");
}

export function loadCredentialsFile(env: Env = process.env): CredentialsFile {
  const f = readJson<CredentialsFile>(credentialsPath(env));
  return f && typeof f === "object" && f.gateways && typeof f.gateways === "object" ? f : { gateways: {} };
}

export function saveCredentialsFile(f: CredentialsFile, env: Env = process.env): void {
  writeJsonPrivate(credentialsPath(env), f);
}

export interface ResolveOptions {
  /** `--gateway`. */
  gateway?: string | undefined;
  /** `--certificate-authority` file. */
  caFile?: string | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
  env?: Env;
  now?: () => number;
}

function readCa(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new ClientError(`Cannot read the CA file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Refresh when less than this is left of the access token. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * Resolves the gateway and credentials: `WARD_TOKEN` (with `--gateway` / `WARD_GATEWAY`) wins;
 * else the saved session of `--gateway` (or of the last gateway logged in to).
 */
export function resolveCredentials(opts: ResolveOptions = {}): Credentials {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const file = loadCredentialsFile(env);
  const rawGateway = opts.gateway || env["WARD_GATEWAY"] || file.current;
  if (!rawGateway) throw new ClientError("No gateway: pass --gateway URL (or set WARD_GATEWAY), or run 'ward login --gateway URL' first");
  const url = normalizeGatewayUrl(rawGateway);
  const saved = file.gateways[url];
  const caPem = readCa(opts.caFile || env["WARD_GATEWAY_CA"]) ?? saved?.ca_pem;
  const insecure = opts.insecureSkipTlsVerify || env["WARD_INSECURE_SKIP_TLS_VERIFY"] === "true" || saved?.insecure_skip_tls_verify === true;
  const gateway: GatewayTarget = { url, caPem, insecureSkipTlsVerify: insecure };

  const apiToken = env["WARD_TOKEN"];
  if (apiToken) {
    return { gateway, principal: `token-${shortHash(apiToken)}`, email: undefined, token: async () => apiToken };
  }
  if (!saved) throw new ClientError(`Not signed in to ${url}: run 'ward login --gateway ${url}' (or set WARD_TOKEN for automation)`);
  return {
    gateway,
    principal: saved.member.id,
    email: saved.member.email,
    async token() {
      if (Date.parse(saved.access_expires_at) - now() > REFRESH_MARGIN_MS) return saved.access_token;
      let t: TokenResponse;
      try {
        t = await call<TokenResponse>(gateway, "/api/v1/auth/token", { form: { grant_type: "refresh_token", refresh_token: saved.refresh_token } });
      } catch (e) {
        if (e instanceof ClientError && e.code === "invalid_grant") throw new ClientError(`${e.message} (gateway ${url})`, e.status, e.code);
        throw e;
      }
      // Re-read before writing: another ward process may have saved other gateways meanwhile.
      const latest = loadCredentialsFile(env);
      const entry = latest.gateways[url];
      if (entry && entry.refresh_token === saved.refresh_token) {
        entry.access_token = t.access_token;
        entry.access_expires_at = new Date(now() + t.expires_in * 1000).toISOString();
        saveCredentialsFile(latest, env);
      }
      saved.access_token = t.access_token;
      return t.access_token;
    },
  };
}
