/**
 * The settings of `ward gateway` and `ward agent`: flag, environment variable, config-file key,
 * default and description of each, in one place. `loadSettings` resolves them, `--print-config`
 * prints them, and `scripts/config-reference.ts` writes the README's configuration reference
 * from them (a test fails when the README differs).
 */
import { parseListen, type Spec } from "../internal/config/index.ts";
import { DEFAULT_IDLE_TIMEOUT_MS } from "../internal/tunnel/options.ts";

export function splitList(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter(Boolean);
}

const listenAddress = (v: string) => (v === "" || parseListen(v) ? undefined : `expected HOST:PORT (e.g. 127.0.0.1:9090, 0.0.0.0:9090), got ${JSON.stringify(v)}`);

/**
 * A store URL for `--print-config`: everything but the password (`postgres://user:***@host/db?…`,
 * and a `password=` or `sslpassword=` parameter). Unlike the store's `redactedUrl` (for errors and
 * logs) it keeps the other parameters, which are what one checks a configuration for.
 */
export function redactUrlPassword(v: string): string {
  return v.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, "$1:***@").replace(/([?&](?:ssl)?password=)[^&]*/gi, "$1***");
}

/** Idle timeouts per stream kind, the same on the gateway and the agent (the shorter one ends a stream). */
export const idleTimeoutSpec = {
  idleTimeoutRequest: {
    kind: "duration", flag: "idle-timeout-request", env: "WARD_IDLE_TIMEOUT_REQUEST", key: "idleTimeout.request", default: DEFAULT_IDLE_TIMEOUT_MS.request,
    description: "End a plain request when nothing moved on it for this long (504 to kubectl while it waits for the answer); 0 = never",
  },
  idleTimeoutWatch: {
    kind: "duration", flag: "idle-timeout-watch", env: "WARD_IDLE_TIMEOUT_WATCH", key: "idleTimeout.watch", default: DEFAULT_IDLE_TIMEOUT_MS.watch,
    description: "End a watch or `logs -f` with no event for this long, cleanly as the API server does; 0 = never",
  },
  idleTimeoutExec: {
    kind: "duration", flag: "idle-timeout-exec", env: "WARD_IDLE_TIMEOUT_EXEC", key: "idleTimeout.exec", default: DEFAULT_IDLE_TIMEOUT_MS.exec,
    description: "End an exec, attach or cp session with no data either way for this long (WebSocket pings do not count); 0 = never",
  },
  idleTimeoutPortforward: {
    kind: "duration", flag: "idle-timeout-portforward", env: "WARD_IDLE_TIMEOUT_PORTFORWARD", key: "idleTimeout.portforward", default: DEFAULT_IDLE_TIMEOUT_MS.portforward,
    description: "End a port-forward with no data either way for this long (WebSocket pings do not count); 0 = never",
  },
} satisfies Spec;

/** The tunnel's idle timeouts from resolved settings. */
export function idleTimeouts(cfg: { idleTimeoutRequest: number; idleTimeoutWatch: number; idleTimeoutExec: number; idleTimeoutPortforward: number }) {
  return { request: cfg.idleTimeoutRequest, watch: cfg.idleTimeoutWatch, exec: cfg.idleTimeoutExec, portforward: cfg.idleTimeoutPortforward };
}

export const gatewaySpec = {
  listen: {
    kind: "string", flag: "listen", env: "WARD_LISTEN", key: "listen", default: "127.0.0.1:8443",
    description: "Address for kubectl, the CLI, the portal and agents (HTTPS, or HTTP with `--plain-http`)",
    validate: (v: string) => (parseListen(v) ? undefined : `expected HOST:PORT, got ${JSON.stringify(v)}`),
  },
  dataDir: {
    kind: "string", flag: "data-dir", env: "WARD_DATA_DIR", key: "dataDir", default: ".ward",
    description: "Signing keys, generated TLS, the SQLite store; created 0700, refused (with the `chmod` fix) when group or others can reach it or another user owns it",
  },
  store: {
    kind: "string", flag: "store", env: "WARD_STORE", key: "store", default: "", defaultText: "`sqlite:<data-dir>/ward.db`",
    description: "Store URL: `sqlite:PATH`, or `postgres://user:password@host:port/db` with `?sslmode=verify-full&sslrootcert=FILE`, `?pool_max=N` (see [Scale-out](#scale-out))",
    secret: redactUrlPassword,
  },
  publicUrl: { kind: "string", flag: "public-url", env: "WARD_PUBLIC_URL", key: "publicUrl", default: "", defaultText: "the listen URL", description: "External URL, written into kubeconfigs and the agent manifest" },
  adminEmail: { kind: "string", flag: "admin-email", env: "WARD_ADMIN_EMAIL", key: "adminEmail", default: "admin@ward.local", description: "The local admin created at first start" },
  plainHttp: { kind: "boolean", flag: "plain-http", env: "WARD_PLAIN_HTTP", key: "tls.plainHttp", default: false, description: "Serve plain HTTP (behind a TLS-terminating proxy)" },
  tlsCert: {
    kind: "string", flag: "tls-cert", env: "WARD_TLS_CERT", key: "tls.cert", default: "", defaultText: "generated in `<data-dir>/tls`",
    description: "TLS certificate (PEM); without one, a CA (`ca.crt`, what clients trust) and a serving certificate naming the listen host, `localhost`, `127.0.0.1` and the public URL's host",
  },
  tlsKey: { kind: "string", flag: "tls-key", env: "WARD_TLS_KEY", key: "tls.key", default: "", defaultText: "generated", description: "TLS private key (PEM)" },
  oidcIssuer: {
    kind: "string", flag: "oidc-issuer", env: "WARD_OIDC_ISSUER", key: "oidc.issuer", default: "", defaultText: "none: the bootstrap code only",
    description: "OpenID Connect provider for SSO",
    validate: (v: string) => (v === "" || /^https?:\/\/[^\s]+$/.test(v) ? undefined : `expected an https:// URL, got ${JSON.stringify(v)}`),
  },
  oidcClientId: { kind: "string", flag: "oidc-client-id", env: "WARD_OIDC_CLIENT_ID", key: "oidc.clientId", default: "", description: "Client id at the provider; redirect URI `<public-url>/auth/callback`" },
  oidcClientSecret: {
    kind: "string", flag: "oidc-client-secret", env: "WARD_OIDC_CLIENT_SECRET", key: "oidc.clientSecret", default: "", defaultText: "none: a public client, PKCE only",
    description: "Client secret (prefer the environment variable)", secret: true,
  },
  oidcScopes: { kind: "string", flag: "oidc-scopes", env: "WARD_OIDC_SCOPES", key: "oidc.scopes", default: "openid email profile", description: "Scopes to request" },
  allowedDomains: {
    kind: "string", flag: "allowed-email-domains", env: "WARD_ALLOWED_EMAIL_DOMAINS", key: "oidc.allowedEmailDomains", default: "", defaultText: "none: invited members only",
    description: "Comma-separated email domains whose people join as members at first sign-in",
    validate: (v: string) => (splitList(v).every((d) => /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(d)) ? undefined : `expected comma-separated domains like example.com, got ${JSON.stringify(v)}`),
  },
  disableBootstrap: { kind: "boolean", flag: "disable-bootstrap", env: "WARD_DISABLE_BOOTSTRAP", key: "bootstrap.disabled", default: false, description: "Turn the one-time local admin code off" },
  shutdownTimeout: { kind: "duration", flag: "shutdown-timeout", env: "WARD_SHUTDOWN_TIMEOUT", key: "shutdownTimeout", default: 10_000, description: "How long open requests may finish after SIGTERM" },
  metricsListen: {
    kind: "string", flag: "metrics-listen", env: "WARD_METRICS_LISTEN", key: "metricsListen", default: "", defaultText: "off",
    description: "Serve Prometheus `/metrics`, `/healthz` and `/readyz` (ready = store reachable) over plain HTTP on this separate address",
    validate: listenAddress,
  },
  ...idleTimeoutSpec,
  maxStreamsPerCluster: {
    kind: "number", flag: "max-streams-per-cluster", env: "WARD_MAX_STREAMS_PER_CLUSTER", key: "limits.streamsPerCluster", default: 4096,
    description: "Open streams (requests, watches, exec, port-forwards) from this gateway to one cluster; more get `429`. Each can hold up to its 2 MiB flow-control window in flight",
    validate: (v: number) => (Number.isInteger(v) && v >= 1 && v <= 1_000_000 ? undefined : "expected a whole number from 1 to 1000000"),
  },
  maxStreamsPerMember: {
    kind: "number", flag: "max-streams-per-member", env: "WARD_MAX_STREAMS_PER_MEMBER", key: "limits.streamsPerMember", default: 256,
    description: "Open streams of one member through this gateway, across clusters; more get `429`",
    validate: (v: number) => (Number.isInteger(v) && v >= 1 && v <= 1_000_000 ? undefined : "expected a whole number from 1 to 1000000"),
  },
  nats: {
    kind: "string", flag: "nats", env: "WARD_NATS", key: "nats.servers", default: "", defaultText: "the embedded endpoint",
    description: "Scale-out: comma-separated `nats://host:4222` URLs of a nats-server cluster (≥ 2.10, websocket and auth callout on; see [Scale-out](#scale-out)) instead of the embedded endpoint",
    validate: (v: string) => (splitList(v).every((u) => /^(nats|tls):\/\/[^\s,]+$/.test(u)) ? undefined : `expected comma-separated nats://host:port URLs, got ${JSON.stringify(v)}`),
  },
  natsCredentials: {
    kind: "string", flag: "nats-credentials", env: "WARD_NATS_CREDENTIALS", key: "nats.credentials", default: "", defaultText: "required with `--nats`",
    description: "File with the nkey seed (`SU…`) of the gateways' NATS user (`ward gateway nats-init` writes it)",
  },
  natsCalloutKey: {
    kind: "string", flag: "nats-callout-key", env: "WARD_NATS_CALLOUT_KEY", key: "nats.calloutKey", default: "", defaultText: "required with `--nats`",
    description: "File with the account nkey seed (`SA…`) the auth callout signs agents' user JWTs with",
  },
  natsSystemCredentials: {
    kind: "string", flag: "nats-system-credentials", env: "WARD_NATS_SYSTEM_CREDENTIALS", key: "nats.systemCredentials", default: "", defaultText: "none (warned)",
    description: "File with the nkey seed (`SU…`) of the gateways' system-account user: disconnects agents whose credential was rotated, and hears agents' disconnects",
  },
  natsAccount: { kind: "string", flag: "nats-account", env: "WARD_NATS_ACCOUNT", key: "nats.account", default: "WARD", description: "The NATS account of gateways and agents (the callout's `account`)" },
  natsCa: { kind: "string", flag: "nats-ca", env: "WARD_NATS_CA", key: "nats.ca", default: "", defaultText: "the system trust store", description: "CA file for nats-server's TLS (`tls://` URLs)" },
  audit: {
    kind: "string", flag: "audit", env: "WARD_AUDIT", key: "audit.enabled", default: "on",
    description: "Audit every proxied request and access action (see [Audit](#audit))",
    validate: (v: string) => (v === "on" || v === "off" ? undefined : `expected on or off, got ${JSON.stringify(v)}`),
  },
  auditRetention: {
    kind: "duration", flag: "audit-retention", env: "WARD_AUDIT_RETENTION", key: "audit.retention", default: 720 * 3_600_000,
    description: "How long audit rows are kept; pruned daily",
    validate: (v: number) => (v >= 60_000 ? undefined : "expected at least 1m, e.g. 720h"),
  },
  auditQueueCap: {
    kind: "number", flag: "audit-queue-cap", env: "WARD_AUDIT_QUEUE_CAP", key: "audit.queueCap", default: 10_000,
    description: "Audit records queued before new ones are dropped (and counted)",
    validate: (v: number) => (Number.isInteger(v) && v >= 1 && v <= 1_000_000 ? undefined : "expected a whole number from 1 to 1000000"),
  },
} satisfies Spec;

export const agentSpec = {
  gateway: { kind: "string", flag: "gateway", env: "WARD_GATEWAY", key: "gateway", default: "", defaultText: "required", description: "Gateway URL (`https://…`; the agent dials `/nats` there); in scale-out the NATS cluster's `wss://` websocket URL(s). Comma-separated URLs: each (re)connect tries them in random order until one answers" },
  cluster: { kind: "string", flag: "cluster", env: "WARD_CLUSTER", key: "cluster", default: "", defaultText: "required", description: "This cluster's id at the gateway" },
  token: { kind: "string", flag: "token", env: "WARD_AGENT_TOKEN", key: "token", default: "", description: "Join credential (prefer `--token-file`)", secret: true },
  tokenFile: { kind: "string", flag: "token-file", env: "WARD_AGENT_TOKEN_FILE", key: "tokenFile", default: "", description: "File holding the join credential" },
  gatewayCa: { kind: "string", flag: "gateway-ca", env: "WARD_GATEWAY_CA", key: "gatewayCa", default: "", defaultText: "the system trust store", description: "CA file for the gateway's certificate, e.g. its `<data-dir>/tls/ca.crt`" },
  insecure: { kind: "boolean", flag: "insecure-skip-tls-verify", env: "WARD_INSECURE_SKIP_TLS_VERIFY", key: "insecureSkipTlsVerify", default: false, description: "Do not verify the gateway's certificate (development only)" },
  kubeconfig: { kind: "string", flag: "kubeconfig", env: "WARD_KUBECONFIG", key: "kubeconfig", default: "", defaultText: "in-cluster service account", description: "Kubeconfig for running outside the cluster" },
  userPrefix: { kind: "string", flag: "user-prefix", env: "WARD_USER_PREFIX", key: "userPrefix", default: "ward:", description: "Prefix of the Kubernetes user a member maps to" },
  resync: { kind: "duration", flag: "resync", env: "WARD_RESYNC", key: "resync", default: 30_000, description: "Full RBAC reconcile interval (repairs hand edits)" },
  helloInterval: { kind: "duration", flag: "hello-interval", env: "WARD_HELLO_INTERVAL", key: "helloInterval", default: 10_000, description: "Presence interval" },
  metricsListen: {
    kind: "string", flag: "metrics-listen", env: "WARD_METRICS_LISTEN", key: "metricsListen", default: "", defaultText: "off",
    description: "Serve Prometheus `/metrics`, `/healthz` and `/readyz` (ready = connected to the gateway) over plain HTTP on this address",
    validate: listenAddress,
  },
  ...idleTimeoutSpec,
  maxStreams: {
    kind: "number", flag: "max-streams", env: "WARD_MAX_STREAMS", key: "limits.streamsPerGateway", default: 4096,
    description: "Open streams this agent serves for one gateway; more are refused (`429` to kubectl)",
    validate: (v: number) => (Number.isInteger(v) && v >= 1 && v <= 1_000_000 ? undefined : "expected a whole number from 1 to 1000000"),
  },
} satisfies Spec;

/** Settings every role reads before the others (not in the specs above): the file, and the log level. */
export const COMMON_SETTINGS = [
  { flag: "config", env: "WARD_CONFIG", key: "—", default: "none", description: "The YAML config file" },
  { flag: "log-level", env: "WARD_LOG_LEVEL", key: "—", default: "`info`", description: "`debug`, `info`, `warn` or `error`" },
] as const;
