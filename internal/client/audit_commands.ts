/**
 * `ward audit list`: the audit, newest first — proxied kubectl requests and access actions (token
 * mints, grant changes, revocations, sign-ins). Admins see everyone's rows, members their own.
 * Filters go to the gateway as they are given (it validates them); table output or `-o json`.
 */
import { UsageError, type Invocation } from "../cli/command.ts";
import { api, credentialsFor, outputFormat, str } from "./commands.ts";
import { table } from "./output.ts";

interface AuditEvent {
  time: string;
  action: string;
  request_id: string | null;
  member_id: string | null;
  member_email: string | null;
  cluster_id: string | null;
  verb: string | null;
  resource: string | null;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  path: string | null;
  status: number | null;
  duration_ms: number | null;
  detail: Record<string, unknown> | null;
}

/** Rows fetched at most across pages. */
const MAX_ROWS = 10_000;

function what(e: AuditEvent): string {
  if (e.action !== "k8s.request") return e.action;
  if (!e.resource) return `${e.verb ?? "?"} ${e.path ?? ""}`;
  const res = e.subresource ? `${e.resource}/${e.subresource}` : e.resource;
  return `${e.verb} ${res}${e.name ? `/${e.name}` : ""}`;
}

export async function runAuditList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const params = new URLSearchParams();
  for (const f of ["cluster", "member", "since", "verb"]) {
    const v = str(inv.flags, f);
    if (v !== undefined) params.set(f, v);
  }
  const limitFlag = str(inv.flags, "limit");
  const limit = limitFlag === undefined ? 100 : /^\d+$/.test(limitFlag) ? Number(limitFlag) : NaN;
  if (!(limit >= 1 && limit <= MAX_ROWS)) throw new UsageError(`Invalid --limit ${JSON.stringify(limitFlag)}: use a whole number from 1 to ${MAX_ROWS}`, inv.path);
  const creds = credentialsFor(inv);
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  do {
    params.set("limit", String(Math.min(1000, limit - events.length)));
    if (cursor) params.set("cursor", cursor);
    const page: { events: AuditEvent[]; next: string | null } = await api(creds, `/api/v1/audit?${params}`);
    events.push(...page.events);
    cursor = page.next;
  } while (cursor && events.length < limit);
  if (fmt === "json") {
    inv.io.out(JSON.stringify({ events }, null, 2) + "\n");
    return 0;
  }
  if (!events.length) {
    inv.io.err("No audit rows match.\n");
    return 0;
  }
  inv.io.out(
    table(
      ["TIME", "MEMBER", "CLUSTER", "ACTION", "NAMESPACE", "STATUS", "DURATION", "REQUEST ID"],
      events.map((e) => [
        e.time, e.member_email ?? e.member_id ?? "-", e.cluster_id ?? "-", what(e), e.namespace ?? "-",
        e.status === null ? "-" : String(e.status), e.duration_ms === null ? "-" : `${e.duration_ms}ms`, e.request_id ?? "-",
      ]),
    ),
  );
  return 0;
}
