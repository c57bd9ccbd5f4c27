/**
 * Joins the proxy's exchange records and the access service's auditable actions to the audit log.
 * It sits in the gateway because it joins sibling areas (`proxy`, `access`, `audit`); each mapping
 * copies fields only — parsing and redaction happen in the audit's flush, off the request's turn.
 */
import type { AccessAuditEvent } from "../access/index.ts";
import type { AuditEntry, AuditLog } from "../audit/index.ts";
import type { ExchangeRecord } from "../proxy/index.ts";

export function exchangeAuditSink(log: AuditLog<AuditEntry>): (r: ExchangeRecord) => void {
  return function auditExchange(r) {
    log.record({
      type: "request", at: r.startedAt, requestId: r.requestId, cluster: r.cluster, memberId: r.member, memberEmail: r.memberEmail,
      grantIds: r.grantIds, tokenId: r.tokenId, method: r.method, path: r.path, query: r.query, impersonated: r.impersonated,
      userAgent: r.userAgent, status: r.status, bytesIn: r.bytesIn, bytesOut: r.bytesOut, durationMs: r.durationMs, body: r.body,
    });
  };
}

export function accessAuditSink(log: AuditLog<AuditEntry>, now: () => number = Date.now): (ev: AccessAuditEvent) => void {
  return function auditAccess(ev) {
    log.record({
      type: "action", at: now(), action: ev.action, memberId: ev.actorId, memberEmail: ev.actorEmail, cluster: ev.clusterId,
      tokenId: ev.tokenId, ...(ev.grantId ? { grantIds: [ev.grantId] } : {}), ...(ev.detail ? { detail: ev.detail } : {}),
    });
  };
}
