/**
 * Request ids (`X-Request-Id`): a client's id is kept when it is well-formed (1–128 characters of
 * letters, digits and `._:-`), so a caller can follow its own id through the gateway log, the agent
 * log and the audit; anything else is replaced by a generated UUID.
 */
export const REQUEST_ID_HEADER = "x-request-id";
export const REQUEST_ID_RULE = "1 to 128 characters of letters, digits, '.', '_', ':' and '-'";
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidRequestId(v: string): boolean {
  return REQUEST_ID.test(v);
}

/** The client's id when it sent exactly one well-formed one, else a new UUID. */
export function requestIdFrom(values: readonly string[]): string {
  return values.length === 1 && REQUEST_ID.test(values[0]!) ? values[0]! : crypto.randomUUID();
}
