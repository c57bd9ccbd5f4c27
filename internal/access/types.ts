import type { Invalidation } from "./_access_state.ts";
import type { GrantsTable, MembersTable } from "../store/schema.ts";
import type { GrantRole, GrantScope } from "../bus/index.ts";
import type { MemberRole } from "./validate.ts";

export interface Member {
  id: string;
  email: string;
  role: MemberRole;
  robot: boolean;
  status: MembersTable["status"];
  oidc_subject: string | null;
  created_at: string;
}

export interface Cluster {
  id: string;
  name: string;
  sandbox: boolean;
  access_generation: number;
  last_seen_at: string | null;
  created_at: string;
}

export interface Grant {
  id: string;
  cluster_id: string;
  member_id: string;
  role: GrantRole;
  scope: GrantScope;
  namespace: string | null;
  status: GrantsTable["status"];
  error: string | null;
  expires_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface AccessSettings {
  enabled: boolean;
  maxTokenLifetimeSeconds: number;
}

/** Who is calling: resolved once by the API auth middleware; handlers only see this. */
export interface ApiTokenInfo {
  id: string;
  member_id: string;
  kind: "api" | "cli";
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuthContext {
  member: Member;
}

/** What a verified k8s token proves (the proxy impersonates from this). */
export interface TokenContext {
  member: Member;
  clusterId: string;
  jti: string;
  expiresAt: number;
  grants: Grant[];
}

/**
 * Emitted when access is taken away; the proxy closes exactly the live streams it authorized:
 * those of one token (`tokenId`), of one grant (`grantId`), of one member, or of the whole cluster.
 */
export interface RevocationEvent {
  clusterId: string;
  /** Absent: every member of the cluster. */
  memberId?: string;
  /** Only the streams opened with this k8s token. */
  tokenId?: string;
  /** Only the streams this grant authorized (deleted or expired). */
  grantId?: string;
  reason: "grant-deleted" | "grant-expired" | "token-revoked" | "revoke-all" | "member-disabled";
}

/**
 * An action the audit records (the gateway subscribes; `access` never imports the audit): token
 * mints and revocations, grant changes, API tokens, sign-ins and device approvals. Never a secret.
 */
export interface AccessAuditEvent {
  action:
    | "token.mint" | "token.revoke" | "access.revoke-all" | "grant.create" | "grant.delete"
    | "api-token.create" | "api-token.revoke" | "sign-in" | "device.approve" | "device.deny";
  /** Who did it. */
  actorId: string;
  actorEmail?: string;
  clusterId?: string;
  tokenId?: string;
  grantId?: string;
  detail?: Record<string, string | number | boolean | null>;
}

/** What the access service announces (`AccessService.events`). */
export interface AccessEvents {
  /** Something the audit records (see AccessAuditEvent). */
  audit: [AccessAuditEvent];
  revoked: [RevocationEvent];
  /** The set of live grants of a cluster changed: push it to the agent. */
  grantsChanged: [string];
  /** The access feature was switched off: every proxied stream ends. */
  disabled: [];
  /** A cluster's agent join credential was replaced: its connected agents must be disconnected. */
  agentCredentialRotated: [string];
  /** A cluster's grant statuses (agent reports) or online state changed: for live views, not the agent. */
  statusChanged: [string];
  /** A k8s token was minted (for metrics, and other gateways' rate limits). */
  tokenMinted: [{ clusterId: string; memberId: string; kind: "k8s-token" | "kubeconfig" }];
  /** Cached state went stale (for other gateways of a deployment: relay.ts). */
  invalidated: [Invalidation];
  /** A rate limit refused a call (for metrics): "token-mint" is tokens and kubeconfigs per member. */
  rateLimited: [{ limit: "token-mint"; clusterId: string }];
}
