/**
 * A cluster id. It sits in every bus subject, so it is the security boundary between clusters:
 * a DNS-1123 label, never `.`, `*`, `>` or whitespace. The CLI, the gateway and the agent all check
 * it here, so none of them accepts an id another refuses.
 */
import { DNS1123_LABEL_RULE, isDns1123Label } from "./dns1123_label.ts";

export const CLUSTER_ID_RULE = DNS1123_LABEL_RULE;

export function isValidClusterId(id: string): boolean {
  return isDns1123Label(id);
}

/** `id`, or an Error saying how to write one. */
export function assertClusterId(id: string): string {
  if (!isValidClusterId(id)) throw new Error(`Invalid cluster id ${JSON.stringify(id.slice(0, 80))}: use ${CLUSTER_ID_RULE}`);
  return id;
}
