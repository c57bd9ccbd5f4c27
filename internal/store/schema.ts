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
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_at: string;
}

export interface Database {
  settings: SettingsTable;
  members: MembersTable;
  api_tokens: ApiTokensTable;
  clusters: ClustersTable;
  grants: GrantsTable;
  issued_tokens: IssuedTokensTable;
  signing_keys: SigningKeysTable;
}
