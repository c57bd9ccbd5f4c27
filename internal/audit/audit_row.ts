/**
 * The entries the audit queues and the rows it writes. A proxied request is queued as it was seen
 * (method, path, query, captured body) and becomes a row at flush time: request info parsed, body
 * redacted, every text field capped.
 */
import { randomBytes } from "node:crypto";
import type { AuditEventsTable } from "../store/index.ts";
import { redactBody, type CapturedBody } from "./redact.ts";
import { requestInfo } from "./request_info.ts";

export type AuditRow = AuditEventsTable;

/** A proxied kubectl request (or upgraded session), as the gateway saw it. */
export interface RequestEntry {
  type: "request";
  /** Clock ms at the start. */
  at: number;
  requestId: string;
  cluster: string;
  memberId: string | undefined;
  memberEmail: string | undefined;
  grantIds: readonly string[];
  tokenId: string | undefined;
  method: string;
  path: string;
  query: string;
  impersonated: string | undefined;
  userAgent: string | undefined;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  body: CapturedBody | undefined;
}

/** Audited access actions outside the proxy path. */
export type AuditAction =
  | "token.mint" | "token.revoke" | "access.revoke-all" | "grant.create" | "grant.delete"
  | "api-token.create" | "api-token.revoke" | "sign-in" | "device.approve" | "device.deny";

/** An access change, a token mint or a sign-in: who did it, where, and what (no secrets). */
export interface ActionEntry {
  type: "action";
  at: number;
  action: AuditAction;
  memberId: string | undefined;
  memberEmail?: string | undefined;
  cluster?: string | undefined;
  tokenId?: string | undefined;
  grantIds?: readonly string[];
  requestId?: string | undefined;
  /** Small facts about the change (role, scope, subject member, method). Never a secret. */
  detail?: Record<string, string | number | boolean | null>;
}

export type AuditEntry = RequestEntry | ActionEntry;

let seq = 0;
/** Random per process: rows of several gateways never share an id. */
const PROCESS_TAG = randomBytes(6).toString("hex");

/** Row ids sort by time: 11 base-36 digits of ms, a per-process counter, the process's random tag. */
export function auditId(at: number): string {
  seq = (seq + 1) % 1_679_616;
  return at.toString(36).padStart(11, "0") + seq.toString(36).padStart(4, "0") + PROCESS_TAG;
}

const cap = (v: string | undefined | null, n: number): string | null => (v === undefined || v === null || v === "" ? null : v.length > n ? v.slice(0, n) : v);

/** Every column of the audit table, in a fixed order. */
export const AUDIT_COLUMNS = Object.keys(empty()) as readonly (keyof AuditRow)[];

function empty(): AuditRow {
  return {
    id: "", time: "", action: "", request_id: null, member_id: null, member_email: null, cluster_id: null, grant_ids: null, token_id: null,
    verb: null, api_group: null, resource: null, subresource: null, namespace: null, name: null, path: null, impersonated: null,
    user_agent: null, status: null, bytes_in: null, bytes_out: null, duration_ms: null, body: null, body_content_type: null,
    body_bytes: null, body_truncated: null, detail: null,
  };
}

export function toRow(e: AuditEntry): AuditRow {
  const row = empty();
  row.id = auditId(e.at);
  row.time = new Date(e.at).toISOString();
  row.member_id = cap(e.memberId, 64);
  row.member_email = cap(e.memberEmail, 320);
  row.request_id = cap(e.requestId, 128);
  if (e.type === "action") {
    row.action = e.action;
    row.cluster_id = cap(e.cluster, 64);
    row.token_id = cap(e.tokenId, 64);
    row.grant_ids = e.grantIds?.length ? cap(e.grantIds.join(","), 4096) : null;
    row.detail = e.detail ? cap(JSON.stringify(e.detail), 4096) : null;
    return row;
  }
  const info = requestInfo(e.method, e.path, e.query);
  row.action = "k8s.request";
  row.cluster_id = cap(e.cluster, 64);
  row.grant_ids = e.grantIds.length ? cap(e.grantIds.join(","), 4096) : null;
  row.token_id = cap(e.tokenId, 64);
  row.verb = cap(info.verb, 32);
  row.api_group = info.resourceRequest ? cap(info.apiGroup, 253) : null;
  row.resource = cap(info.resource, 253);
  row.subresource = cap(info.subresource, 253);
  row.namespace = cap(info.namespace, 253);
  row.name = cap(info.name, 253);
  row.path = cap(e.path, 2048);
  row.impersonated = cap(e.impersonated, 512);
  row.user_agent = cap(e.userAgent, 512);
  row.status = e.status;
  row.bytes_in = e.bytesIn;
  row.bytes_out = e.bytesOut;
  row.duration_ms = Math.round(e.durationMs);
  if (e.body) {
    const b = redactBody(e.body, info.resource);
    row.body = b.text;
    row.body_content_type = cap(b.contentType, 255);
    row.body_bytes = b.size;
    row.body_truncated = b.truncated ? 1 : 0;
  }
  return row;
}
