/** Table types for kysely. Each migration that adds a table adds its type here. */
import type { Generated } from "kysely";

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

/** Timestamps are ISO-8601 UTC strings (`Date#toISOString`), which sort as text on every dialect. */
export interface MembersTable {
  id: string;
  email: string;
  oidc_subject: string | null;
  role: "admin" | "member";
  /** 0 or 1 (integer, not boolean, for dialect neutrality). */
  robot: number;
  status: "active" | "disabled";
  created_at: string;
}

export interface ApiTokensTable {
  id: string;
  member_id: string;
  token_hash: string;
  created_at: string;
  revoked_at: string | null;
  /** "api": a named token an admin issued (robots, automation); "cli": a CLI session's access token. */
  kind: Generated<"api" | "cli">;
  name: Generated<string>;
  expires_at: string | null;
  last_used_at: string | null;
  /** The CLI session a "cli" token belongs to. */
  session_id: string | null;
}

export interface PortalSessionsTable {
  /** SHA-256 of the cookie value. */
  id_hash: string;
  member_id: string;
  csrf_token: string;
  user_agent: string;
  created_at: string;
  expires_at: string;
}

export interface CliSessionsTable {
  id: string;
  member_id: string;
  device_name: string;
  refresh_hash: string;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface DeviceCodesTable {
  device_code_hash: string;
  user_code: string;
  client_name: string;
  /** Where `ward login` asked from; null before migration 0004 or when unknown. */
  client_address: string | null;
  status: "pending" | "approved" | "denied" | "consumed";
  member_id: string | null;
  interval_s: number;
  last_poll_at: string | null;
  created_at: string;
  expires_at: string;
}

export interface LoginFlowsTable {
  /** SHA-256 of the flow cookie's value. */
  id_hash: string;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  created_at: string;
  expires_at: string;
}

export interface ClustersTable {
  id: string;
  name: string;
  sandbox: number;
  agent_credential_hash: string;
  access_generation: Generated<number>;
  last_seen_at: string | null;
  created_at: string;
}

export interface GrantsTable {
  id: string;
  cluster_id: string;
  member_id: string;
  role: "view" | "edit" | "admin" | "cluster-admin";
  scope: "cluster" | "namespace";
  /** "" for cluster scope. */
  namespace: string;
  status: "pending" | "applied" | "failed" | "cluster_offline";
  error: string | null;
  expires_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface IssuedTokensTable {
  id: string;
  member_id: string;
  cluster_id: string;
  kind: "k8s-token" | "kubeconfig";
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
  /** Written at most once a minute per token, off the request path. */
  last_used_at: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_at: string;
}

/**
 * One audited action: a proxied kubectl request (`action` "k8s.request") or an access change, a
 * token mint or a sign-in (`action` like "grant.create"). Ids sort by time; `time` is ISO-8601.
 */
export interface AuditEventsTable {
  id: string;
  time: string;
  action: string;
  request_id: string | null;
  member_id: string | null;
  member_email: string | null;
  cluster_id: string | null;
  /** The grants that allowed a request, comma-separated ids. */
  grant_ids: string | null;
  token_id: string | null;
  verb: string | null;
  api_group: string | null;
  resource: string | null;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  /** The request path (no query), capped. */
  path: string | null;
  /** The `kubectl --as` user asked for, if any. */
  impersonated: string | null;
  user_agent: string | null;
  status: number | null;
  bytes_in: number | null;
  bytes_out: number | null;
  duration_ms: number | null;
  /** A write's body, redacted JSON; null when not kept as text. */
  body: string | null;
  body_content_type: string | null;
  body_bytes: number | null;
  /** 0 or 1. */
  body_truncated: number | null;
  /** For access events: JSON of what changed (grant role, scope, …). */
  detail: string | null;
}

export interface Database {
  audit_events: AuditEventsTable;
  settings: SettingsTable;
  members: MembersTable;
  api_tokens: ApiTokensTable;
  clusters: ClustersTable;
  grants: GrantsTable;
  issued_tokens: IssuedTokensTable;
  signing_keys: SigningKeysTable;
  portal_sessions: PortalSessionsTable;
  cli_sessions: CliSessionsTable;
  device_codes: DeviceCodesTable;
  login_flows: LoginFlowsTable;
}
