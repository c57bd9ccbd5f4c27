/** Store rows to the access area's API shapes. Private to `access/`. */
import type { GrantsTable, MembersTable } from "../store/schema.ts";
import type { Cluster, Grant, Member } from "./types.ts";

export function toMember(r: MembersTable): Member {
  return { id: r.id, email: r.email, role: r.role, robot: r.robot === 1, status: r.status, oidc_subject: r.oidc_subject, created_at: r.created_at };
}

export function toCluster(r: { id: string; name: string; sandbox: number; access_generation: number; last_seen_at: string | null; created_at: string }): Cluster {
  return { id: r.id, name: r.name, sandbox: r.sandbox === 1, access_generation: Number(r.access_generation), last_seen_at: r.last_seen_at, created_at: r.created_at };
}

export function toGrant(r: GrantsTable): Grant {
  return { ...r, namespace: r.namespace || null };
}
