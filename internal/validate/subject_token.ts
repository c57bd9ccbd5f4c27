/** One token of a bus subject that Ward builds from an id (an instance id, a message kind): never `.`, `*`, `>`. */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export const SUBJECT_TOKEN_RULE = "1-64 of [A-Za-z0-9_-]";

export function isSubjectToken(v: string): boolean {
  return SUBJECT_TOKEN.test(v);
}

/** `v`, or an Error naming it as `what` (`subject token`, `agent id`…). */
export function assertSubjectToken(v: string, what: string): string {
  if (!isSubjectToken(v)) throw new Error(`Invalid ${what} ${JSON.stringify(v.slice(0, 80))}: use ${SUBJECT_TOKEN_RULE}`);
  return v;
}
