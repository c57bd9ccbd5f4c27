/**
 * An Error as a log field: its class, message, stack, `code` and its `cause` chain — and nothing
 * else. Other enumerable properties are left out on purpose: an error may carry request headers,
 * a token or a whole response, and logs never hold those.
 */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string | number;
  cause?: SerializedError | string | number | boolean;
}

/** How many causes deep a chain is followed (a cycle or a very long chain stops there). */
export const MAX_CAUSE_DEPTH = 4;

export function serializeError(e: Error, depth = 0): SerializedError {
  const out: SerializedError = { name: e.name, message: e.message };
  if (typeof e.stack === "string") out.stack = e.stack;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  const cause = e.cause;
  if (cause instanceof Error) {
    if (depth < MAX_CAUSE_DEPTH) out.cause = serializeError(cause, depth + 1);
  } else if (typeof cause === "string" || typeof cause === "number" || typeof cause === "boolean") {
    out.cause = cause;
  }
  return out;
}
