/**
 * `ward cluster access list|grant|revoke|revoke-all` and `ward cluster tokens list|revoke`:
 * who may use a cluster, and the credentials issued for it. Table output or `-o json`.
 */
import { UsageError, type Invocation } from "../cli/command.ts";
import { isValidClusterId } from "../validate/index.ts";
import { api, credentialsFor, durationSeconds, outputFormat, str, type ApiGrant } from "./commands.ts";
import { relative, table } from "./output.ts";

interface ApiMember {
  id: string;
  email: string;
  robot: boolean;
}

function requireCluster(inv: Invocation): string {
  const c = str(inv.flags, "cluster");
  if (!c) throw new UsageError("--cluster ID is required", inv.path);
  if (!isValidClusterId(c)) throw new UsageError(`Invalid cluster id ${JSON.stringify(c)}`, inv.path);
  return c;
}

/** `--expires 8h` / `30m` / `7d`, or an RFC 3339 time → ISO string. */
export function parseExpires(v: string, now = Date.now()): string {
  const secs = durationSeconds(v);
  if (secs !== null) return new Date(now + secs * 1000).toISOString();
  const t = Date.parse(v);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(v)) throw new Error(`Invalid --expires ${JSON.stringify(v)}: use a duration like 8h, 30m, 7d, or a time like 2026-12-01T00:00:00Z`);
  return new Date(t).toISOString();
}

export async function runAccessList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const cluster = requireCluster(inv);
  const creds = credentialsFor(inv);
  const { grants } = await api<{ grants: ApiGrant[] }>(creds, `/api/v1/clusters/${cluster}/access/grants`);
  let emails = new Map<string, string>();
  try {
    const { members } = await api<{ members: ApiMember[] }>(creds, "/api/v1/members");
    emails = new Map(members.map((m) => [m.id, m.email]));
  } catch {
    // members see only their own grants and cannot list members: ids stay
  }
  if (fmt === "json") {
    inv.io.out(JSON.stringify({ grants: grants.map((g) => ({ ...g, member_email: emails.get(g.member_id) ?? null })) }, null, 2) + "\n");
    return 0;
  }
  if (!grants.length) {
    inv.io.err(`No grants on ${cluster}.\n`);
    return 0;
  }
  inv.io.out(
    table(
      ["GRANT", "MEMBER", "ROLE", "SCOPE", "STATUS", "EXPIRES"],
      grants.map((g) => [g.id, emails.get(g.member_id) ?? g.member_id, g.role, g.scope === "cluster" ? "cluster" : `namespace/${g.namespace}`, g.error ? `${g.status}: ${g.error}` : g.status, relative(g.expires_at)]),
    ),
  );
  return 0;
}

export async function runAccessGrant(inv: Invocation): Promise<number> {
  const cluster = requireCluster(inv);
  const member = str(inv.flags, "member");
  const role = str(inv.flags, "role");
  if (!member) throw new UsageError("--member EMAIL (or member id) is required", inv.path);
  if (!role) throw new UsageError("--role is required: view, edit, admin or cluster-admin", inv.path);
  const ns = str(inv.flags, "namespace");
  const expires = str(inv.flags, "expires");
  let expiresAt: string | undefined;
  try {
    expiresAt = expires ? parseExpires(expires) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message, inv.path);
  }
  const creds = credentialsFor(inv);
  const body = {
    ...(member.includes("@") ? { member_email: member } : { member_id: member }),
    role,
    scope: ns ? "namespace" : "cluster",
    ...(ns ? { namespace: ns } : {}),
    ...(expiresAt ? { expires_at: expiresAt } : {}),
  };
  const { grant } = await api<{ grant: ApiGrant }>(creds, `/api/v1/clusters/${cluster}/access/grants`, { method: "POST", json: body });
  if (outputFormat(inv) === "json") inv.io.out(JSON.stringify({ grant }, null, 2) + "\n");
  else inv.io.err(`Granted ${grant.role} on ${grant.scope === "cluster" ? `cluster ${cluster}` : `namespace ${grant.namespace} of ${cluster}`} to ${member} (${grant.id}, ${grant.status}${grant.expires_at ? `, expires ${grant.expires_at}` : ""}).\n`);
  return 0;
}

export async function runAccessRevoke(inv: Invocation): Promise<number> {
  const cluster = requireCluster(inv);
  const id = str(inv.flags, "grant") ?? inv.args[0];
  if (!id) throw new UsageError("Which grant? Pass its id (see 'ward cluster access list --cluster ID')", inv.path);
  const creds = credentialsFor(inv);
  await api(creds, `/api/v1/clusters/${cluster}/access/grants/${encodeURIComponent(id)}`, { method: "DELETE" });
  inv.io.err(`Revoked grant ${id} on ${cluster}; that member's open sessions on it are closed.\n`);
  return 0;
}

export async function runAccessRevokeAll(inv: Invocation): Promise<number> {
  const cluster = requireCluster(inv);
  const member = str(inv.flags, "member");
  if (inv.flags.yes !== true) throw new UsageError(`revoke-all invalidates every issued credential for ${member ? member : "everyone"} on ${cluster}: add --yes to confirm`, inv.path);
  const creds = credentialsFor(inv);
  let memberId: string | undefined;
  if (member) {
    if (member.includes("@")) {
      const { members } = await api<{ members: ApiMember[] }>(creds, "/api/v1/members");
      memberId = members.find((m) => m.email === member.toLowerCase())?.id;
      if (!memberId) throw new UsageError(`No member ${member}`, inv.path);
    } else memberId = member;
  }
  const r = await api<{ revoked_tokens: number; generation: number }>(creds, `/api/v1/clusters/${cluster}/access/revoke-all`, { method: "POST", json: memberId ? { member_id: memberId } : {} });
  inv.io.err(`Revoked ${r.revoked_tokens} issued credential(s) on ${cluster}; open streams are closed and new tokens are needed.\n`);
  return 0;
}

interface IssuedToken {
  id: string;
  member_id: string;
  kind: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export async function runTokensList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const cluster = requireCluster(inv);
  const creds = credentialsFor(inv);
  const { tokens } = await api<{ tokens: IssuedToken[] }>(creds, `/api/v1/clusters/${cluster}/access/tokens`);
  const now = Date.now();
  const shown = inv.flags.all === true ? tokens : tokens.filter((t) => !t.revoked_at && Date.parse(t.expires_at) > now);
  if (fmt === "json") {
    inv.io.out(JSON.stringify({ tokens: shown }, null, 2) + "\n");
    return 0;
  }
  if (!shown.length) {
    inv.io.err(`No live credentials on ${cluster}${inv.flags.all === true ? "" : " (--all shows expired and revoked ones)"}.\n`);
    return 0;
  }
  inv.io.out(
    table(
      ["TOKEN", "MEMBER", "KIND", "ISSUED", "EXPIRES", "STATE"],
      shown.map((t) => [t.id, t.member_id, t.kind, relative(t.issued_at, now), relative(t.expires_at, now), t.revoked_at ? "revoked" : Date.parse(t.expires_at) <= now ? "expired" : "live"]),
    ),
  );
  return 0;
}

export async function runTokensRevoke(inv: Invocation): Promise<number> {
  const cluster = requireCluster(inv);
  const id = inv.args[0];
  if (!id) throw new UsageError("Which token? Pass its id (see 'ward cluster tokens list --cluster ID')", inv.path);
  const creds = credentialsFor(inv);
  await api(creds, `/api/v1/clusters/${cluster}/access/tokens/${encodeURIComponent(id)}`, { method: "DELETE" });
  inv.io.err(`Revoked token ${id} on ${cluster}.\n`);
  return 0;
}

/**
 * `ward cluster rotate-join`: a new agent join credential for the cluster. The old one is refused at
 * once and the agents connected with it are disconnected: put the new one where the agent reads it.
 */
export async function runRotateJoin(inv: Invocation): Promise<number> {
  const cluster = requireCluster(inv);
  if (inv.flags.yes !== true) throw new UsageError(`rotate-join disconnects the agents of ${cluster} until they get the new credential: add --yes to confirm`, inv.path);
  const r = await api<{ join_token: string }>(credentialsFor(inv), `/api/v1/clusters/${cluster}/rotate-join`, { method: "POST", json: {} });
  const file = str(inv.flags, "token-file");
  if (file) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, r.join_token + "\n", { mode: 0o600 });
    inv.io.err(`Rotated the join credential of ${cluster}; the new one is in ${file}. Its agents were disconnected: restart them with it.\n`);
  } else {
    inv.io.out(r.join_token + "\n");
    inv.io.err(`Rotated the join credential of ${cluster} (above, shown once). Its agents were disconnected: restart them with it.\n`);
  }
  return 0;
}
