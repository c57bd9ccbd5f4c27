/**
 * Validate: the one place for each input format that more than one area checks (cluster ids,
 * DNS-1123 labels, subject tokens, durations). Pure and import-free, so the CLI's fast path, the
 * agent and the gateway all load it without cost. Emails stay in `access/validate.ts` (only the
 * access service parses them).
 */
export { assertClusterId, CLUSTER_ID_RULE, isValidClusterId } from "./cluster_id.ts";
export { DNS1123_LABEL_PATTERN, DNS1123_LABEL_RULE, isDns1123Label } from "./dns1123_label.ts";
export { assertSubjectToken, isSubjectToken, SUBJECT_TOKEN_RULE } from "./subject_token.ts";
export { parseDuration, type DurationOptions, type DurationUnit } from "./duration.ts";
export { isValidRequestId, REQUEST_ID_HEADER, REQUEST_ID_RULE, requestIdFrom } from "./request_id.ts";
