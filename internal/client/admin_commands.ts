/**
 * Admin commands: robots (automation identities) and their API tokens, and members.
 * Secrets are printed once, alone on stdout, so `WARD_TOKEN=$(ward robot create ci)` works.
 */
import { UsageError, type Invocation } from "../cli/command.ts";
import { api, credentialsFor, durationSeconds, outputFormat } from "./commands.ts";
import type { Credentials } from "./session.ts";
import { relative, table } from "./output.ts";
import { isDns1123Label } from "../validate/index.ts";

const ROBOT_DOMAIN = "robot.ward";

interface ApiMember {
  id: string;
  email: string;
  role: string;
  robot: boolean;
  status: string;
  created_at: string;
}

interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** `30d`, `12h`, `45m` → seconds. */
export function parseLifetime(v: unknown, inv: Invocation): number | undefined {
  if (v === undefined) return undefined;
  const secs = typeof v === "string" ? durationSeconds(v) : null;
  if (secs === null) throw new UsageError(`Invalid --expires ${JSON.stringify(v)}: use a duration like 30d, 12h or 45m`, inv.path);
  return secs;
}

function robotName(inv: Invocation, i = 0): string {
  const name = inv.args[i];
  if (!name || !isDns1123Label(name)) throw new UsageError(`Robot name ${JSON.stringify(name ?? "")}: use lowercase letters, digits and '-'`, inv.path);
  return name;
}

async function members(creds: Credentials): Promise<ApiMember[]> {
  return (await api<{ members: ApiMember[] }>(creds, "/api/v1/members")).members;
}

async function robotByName(creds: Credentials, name: string, inv: Invocation): Promise<ApiMember> {
  const r = (await members(creds)).find((m) => m.robot && m.email === `${name}@${ROBOT_DOMAIN}`);
  if (!r) throw new UsageError(`No robot ${name}: 'ward robot list' shows them`, inv.path);
  return r;
}

export async function runRobotCreate(inv: Invocation): Promise<number> {
  const name = robotName(inv);
  const ttl = parseLifetime(inv.flags.expires, inv);
  const creds = credentialsFor(inv);
  const r = await api<{ member: ApiMember; api_token: string }>(creds, "/api/v1/members", {
    method: "POST",
    json: { email: `${name}@${ROBOT_DOMAIN}`, robot: true, ...(ttl ? { expires_in_seconds: ttl } : {}) },
  });
  inv.io.out(r.api_token + "\n");
  inv.io.err(`Created robot ${name} (${r.member.id}). Its API token is above, shown once: use it as WARD_TOKEN.\nGrant it access: ward cluster access grant --cluster ID --member ${r.member.email} --role view\n`);
  return 0;
}

export async function runRobotList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const robots = (await members(credentialsFor(inv))).filter((m) => m.robot);
  if (fmt === "json") inv.io.out(JSON.stringify({ robots }, null, 2) + "\n");
  else if (!robots.length) inv.io.err("No robots: create one with 'ward robot create NAME'.\n");
  else inv.io.out(table(["NAME", "MEMBER", "STATUS", "CREATED"], robots.map((r) => [r.email.replace(`@${ROBOT_DOMAIN}`, ""), r.id, r.status, relative(r.created_at)])));
  return 0;
}

export async function runRobotTokenCreate(inv: Invocation): Promise<number> {
  const creds = credentialsFor(inv);
  const robot = await robotByName(creds, robotName(inv), inv);
  const ttl = parseLifetime(inv.flags.expires, inv);
  const r = await api<{ token: ApiToken; api_token: string }>(creds, `/api/v1/members/${robot.id}/tokens`, {
    method: "POST",
    json: { ...(typeof inv.flags.name === "string" ? { name: inv.flags.name } : {}), ...(ttl ? { expires_in_seconds: ttl } : {}) },
  });
  inv.io.out(r.api_token + "\n");
  inv.io.err(`Issued token ${r.token.id} for ${robot.email}, expires ${r.token.expires_at}. Shown once.\n`);
  return 0;
}

export async function runRobotTokenList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const creds = credentialsFor(inv);
  const robot = await robotByName(creds, robotName(inv), inv);
  const { tokens } = await api<{ tokens: ApiToken[] }>(creds, `/api/v1/members/${robot.id}/tokens`);
  if (fmt === "json") inv.io.out(JSON.stringify({ tokens }, null, 2) + "\n");
  else if (!tokens.length) inv.io.err(`No API tokens for ${robot.email}.\n`);
  else {
    const now = Date.now();
    const state = (t: ApiToken) => (t.revoked_at ? "revoked" : t.expires_at && Date.parse(t.expires_at) <= now ? "expired" : "live");
    inv.io.out(table(["TOKEN", "NAME", "STATE", "CREATED", "EXPIRES", "LAST USED"], tokens.map((t) => [t.id, t.name || "-", state(t), relative(t.created_at, now), relative(t.expires_at, now), relative(t.last_used_at, now)])));
  }
  return 0;
}

export async function runRobotTokenRevoke(inv: Invocation): Promise<number> {
  const creds = credentialsFor(inv);
  const robot = await robotByName(creds, robotName(inv), inv);
  const id = inv.args[1];
  if (!id) throw new UsageError("Which token? Pass its id ('ward robot token list NAME')", inv.path);
  await api(creds, `/api/v1/members/${robot.id}/tokens/${encodeURIComponent(id)}`, { method: "DELETE" });
  inv.io.err(`Revoked token ${id} of ${robot.email}.\n`);
  return 0;
}

export async function runMemberInvite(inv: Invocation): Promise<number> {
  const email = inv.args[0];
  if (!email) throw new UsageError("Pass the email to invite", inv.path);
  const creds = credentialsFor(inv);
  const r = await api<{ member: ApiMember }>(creds, "/api/v1/members", { method: "POST", json: { email, role: inv.flags.admin === true ? "admin" : "member", api_token: false } });
  inv.io.err(`Invited ${r.member.email} (${r.member.id}) as ${r.member.role}; they sign in with SSO at the gateway.\n`);
  return 0;
}

export async function runMemberList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const list = await members(credentialsFor(inv));
  if (fmt === "json") inv.io.out(JSON.stringify({ members: list }, null, 2) + "\n");
  else inv.io.out(table(["MEMBER", "EMAIL", "ROLE", "KIND", "STATUS"], list.map((m) => [m.id, m.email, m.role, m.robot ? "robot" : "person", m.status])));
  return 0;
}

export async function runMemberDisable(inv: Invocation): Promise<number> {
  const email = inv.args[0];
  if (!email) throw new UsageError("Pass the member's email", inv.path);
  const creds = credentialsFor(inv);
  const m = (await members(creds)).find((x) => x.email === email.toLowerCase() || x.id === email);
  if (!m) throw new UsageError(`No member ${email}`, inv.path);
  await api(creds, `/api/v1/members/${m.id}`, { method: "PATCH", json: { status: "disabled" } });
  inv.io.err(`Disabled ${m.email}; their open sessions are closed.\n`);
  return 0;
}
