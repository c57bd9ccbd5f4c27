/**
 * The audit: every proxied request (who, where, what, the grants that allowed it, status, bytes,
 * duration, a write's redacted body) and every access change, token mint and sign-in, written off
 * the request path through a bounded queue, queried with filters, pruned after its retention.
 * This file is the area's only public face.
 */
export { AuditLog, DEFAULT_BATCH_SIZE, DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_QUEUE_CAP, type AuditLogOptions, type AuditStats } from "./audit_log.ts";
export { auditId, toRow, type ActionEntry, type AuditAction, type AuditEntry, type AuditRow, type RequestEntry } from "./audit_row.ts";
export { AuditStore, DEFAULT_QUERY_LIMIT, InvalidCursorError, MAX_QUERY_LIMIT, type AuditPage, type AuditQuery } from "./audit_store.ts";
export { AuditRetention, DEFAULT_RETENTION_MS, type RetentionOptions } from "./retention.ts";
export { BODY_CAPTURE_BYTES, REDACTED, redactBody, type CapturedBody, type RedactedBody } from "./redact.ts";
export { requestInfo, type RequestInfo } from "./request_info.ts";
