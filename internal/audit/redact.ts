/**
 * What a write changed, fit to keep: a request body's first bytes (`captureLimit`), with every
 * secret value replaced by "***" — a Secret's `data`/`stringData` values (a Secret object, a List of
 * them, or any body sent to the `secrets` resource: patches carry no `kind`), JSON Patch `value`s
 * sent to `secrets`, and any field whose name says it holds a credential (token, password, secret,
 * credential, private/API key). Only JSON bodies (or bodies without a content type, which the API
 * server reads as JSON) that arrived whole are kept: a truncated body, YAML
 * (server-side apply) or protobuf is recorded as its content type and size, never as text. Pure.
 */
export const REDACTED = "***";
/** Bytes of a request body captured for the audit. */
export const BODY_CAPTURE_BYTES = 64 * 1024;

const SECRET_FIELD = /token|passw(or)?d|passwd|secret|credential|private[-_]?key|api[-_]?key|^key$|bearer|auth(orization)?$/i;
/** Names that refer to a secret rather than hold one (`secretName`, `secretKeyRef`, `tokenExpirationSeconds`). */
const REFERENCE_FIELD = /(name|names|ref|seconds|path)$/i;

export interface CapturedBody {
  /** The first bytes of the body (at most the capture limit). */
  bytes: Buffer;
  /** The whole body's size as it streamed (may exceed `bytes`). */
  size: number;
  truncated: boolean;
  contentType: string | undefined;
}

export interface RedactedBody {
  /** Redacted JSON text, or null when the body is not kept as text. */
  text: string | null;
  contentType: string | null;
  size: number;
  truncated: boolean;
}

/** JSON, or no content type at all (the API server then decodes JSON; kubectl 1.20 sends none). */
function isJson(contentType: string | undefined): boolean {
  const t = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return t === "" || t === "application/json" || (t.startsWith("application/") && t.endsWith("+json"));
}

function redactValue(v: unknown): unknown {
  if (v === null || typeof v !== "object") return REDACTED;
  if (Array.isArray(v)) return v.map(redactValue);
  return Object.fromEntries(Object.keys(v).map((k) => [k, REDACTED]));
}

function walk(v: unknown, secretsResource: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => walk(x, secretsResource));
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  const isSecret = o.kind === "Secret" || (secretsResource && o.kind === undefined);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    if (isSecret && (k === "data" || k === "stringData")) out[k] = redactValue(x);
    else if (secretsResource && k === "value" && typeof o.op === "string") out[k] = redactValue(x); // JSON Patch op
    else if (SECRET_FIELD.test(k) && !REFERENCE_FIELD.test(k) && (x === null || typeof x !== "object")) out[k] = REDACTED;
    else out[k] = walk(x, secretsResource && o.kind === undefined);
  }
  return out;
}

/** The body as the audit keeps it. `resource` is the request's resource (`secrets` redacts every data value). */
export function redactBody(body: CapturedBody, resource: string): RedactedBody {
  const base = { contentType: body.contentType ?? null, size: body.size, truncated: body.truncated };
  if (body.truncated || !isJson(body.contentType)) return { ...base, text: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.bytes.toString("utf8"));
  } catch {
    return { ...base, text: null };
  }
  return { ...base, text: JSON.stringify(walk(parsed, resource === "secrets")) };
}
