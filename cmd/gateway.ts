import { UsageError, type Invocation } from "../internal/cli/command.ts";
import { parseListen, type Spec } from "../internal/config/index.ts";
import { startGateway } from "../internal/gateway/index.ts";
import { loadSettings, makeLogger, untilSignal } from "./settings.ts";

const spec = {
  listen: {
    kind: "string", flag: "listen", env: "WARD_LISTEN", key: "listen", default: "127.0.0.1:8443",
    description: "Listen address",
    validate: (v: string) => (parseListen(v) ? undefined : `expected HOST:PORT, got ${JSON.stringify(v)}`),
  },
  dataDir: { kind: "string", flag: "data-dir", env: "WARD_DATA_DIR", key: "dataDir", default: ".ward", description: "Data directory" },
  store: { kind: "string", flag: "store", env: "WARD_STORE", key: "store", default: "", description: "Store URL" },
  publicUrl: { kind: "string", flag: "public-url", env: "WARD_PUBLIC_URL", key: "publicUrl", default: "", description: "External URL for kubeconfigs" },
  adminEmail: { kind: "string", flag: "admin-email", env: "WARD_ADMIN_EMAIL", key: "adminEmail", default: "admin@ward.local", description: "First admin's email" },
  plainHttp: { kind: "boolean", flag: "plain-http", env: "WARD_PLAIN_HTTP", key: "tls.plainHttp", default: false, description: "Serve plain HTTP" },
  tlsCert: { kind: "string", flag: "tls-cert", env: "WARD_TLS_CERT", key: "tls.cert", default: "", description: "TLS certificate file" },
  tlsKey: { kind: "string", flag: "tls-key", env: "WARD_TLS_KEY", key: "tls.key", default: "", description: "TLS key file" },
  oidcIssuer: { kind: "string", flag: "oidc-issuer", env: "WARD_OIDC_ISSUER", key: "oidc.issuer", default: "", description: "OIDC issuer URL",
    validate: (v: string) => (v === "" || /^https?:\/\/[^\s]+$/.test(v) ? undefined : `expected an https:// URL, got ${JSON.stringify(v)}`) },
  oidcClientId: { kind: "string", flag: "oidc-client-id", env: "WARD_OIDC_CLIENT_ID", key: "oidc.clientId", default: "", description: "OIDC client id" },
  oidcClientSecret: { kind: "string", flag: "oidc-client-secret", env: "WARD_OIDC_CLIENT_SECRET", key: "oidc.clientSecret", default: "", description: "OIDC client secret" },
  oidcScopes: { kind: "string", flag: "oidc-scopes", env: "WARD_OIDC_SCOPES", key: "oidc.scopes", default: "openid email profile", description: "OIDC scopes" },
  allowedDomains: { kind: "string", flag: "allowed-email-domains", env: "WARD_ALLOWED_EMAIL_DOMAINS", key: "oidc.allowedEmailDomains", default: "", description: "Email domains that join at first sign-in",
    validate: (v: string) => (splitList(v).every((d) => /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(d)) ? undefined : `expected comma-separated domains like example.com, got ${JSON.stringify(v)}`) },
  disableBootstrap: { kind: "boolean", flag: "disable-bootstrap", env: "WARD_DISABLE_BOOTSTRAP", key: "bootstrap.disabled", default: false, description: "Turn the local bootstrap code off" },
  audit: { kind: "string", flag: "audit", env: "WARD_AUDIT", key: "audit.enabled", default: "on", description: "Audit proxied requests and access actions",
    validate: (v: string) => (v === "on" || v === "off" ? undefined : `expected on or off, got ${JSON.stringify(v)}`) },
  auditRetention: { kind: "duration", flag: "audit-retention", env: "WARD_AUDIT_RETENTION", key: "audit.retention", default: 720 * 3_600_000, description: "How long audit rows are kept",
    validate: (v: number) => (v >= 60_000 ? undefined : "expected at least 1m, e.g. 720h") },
  auditQueueCap: { kind: "number", flag: "audit-queue-cap", env: "WARD_AUDIT_QUEUE_CAP", key: "audit.queueCap", default: 10_000, description: "Audit records held before dropping",
    validate: (v: number) => (Number.isInteger(v) && v >= 1 && v <= 1_000_000 ? undefined : "expected a whole number from 1 to 1000000") },
  shutdownTimeout: { kind: "duration", flag: "shutdown-timeout", env: "WARD_SHUTDOWN_TIMEOUT", key: "shutdownTimeout", default: 10_000, description: "Shutdown timeout" },
} satisfies Spec;

function splitList(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter(Boolean);
}

export async function runGateway(inv: Invocation): Promise<number> {
  const cfg = await loadSettings(inv, spec);
  const log = makeLogger(inv, "gateway");
  if (cfg.oidcIssuer && !cfg.oidcClientId) throw new UsageError("--oidc-issuer needs --oidc-client-id (env WARD_OIDC_CLIENT_ID)", inv.path);
  const { host, port } = parseListen(cfg.listen)!;
  const gw = await startGateway({
    host,
    port,
    dataDir: cfg.dataDir,
    storeUrl: cfg.store,
    shutdownTimeoutMs: cfg.shutdownTimeout,
    publicUrl: cfg.publicUrl || undefined,
    bootstrapAdminEmail: cfg.adminEmail,
    plainHttp: cfg.plainHttp,
    tlsCertFile: cfg.tlsCert || undefined,
    tlsKeyFile: cfg.tlsKey || undefined,
    oidc: cfg.oidcIssuer ? { issuer: cfg.oidcIssuer, clientId: cfg.oidcClientId, clientSecret: cfg.oidcClientSecret || undefined, scopes: cfg.oidcScopes } : undefined,
    allowedEmailDomains: splitList(cfg.allowedDomains),
    bootstrap: !cfg.disableBootstrap,
    audit: { enabled: cfg.audit === "on", retentionMs: cfg.auditRetention, queueCap: cfg.auditQueueCap },
    logger: log,
  });
  if (gw.bootstrapCode) {
    // Printed once, on purpose: the first sign-in for a gateway with no identity provider yet.
    process.stderr.write(
      `\n  First start: sign in to ${gw.url}/bootstrap as the local admin with this one-time code:\n\n      ${gw.bootstrapCode}\n\n` +
        `  It works once and expires in 24 h; 'ward gateway bootstrap' prints a new one.\n\n`,
    );
  }
  if (gw.caFile) log.info("serving a generated development certificate; clients trust it with this CA file", { caFile: gw.caFile });
  await untilSignal(log);
  await gw.close();
  return 0;
}

const bootstrapSpec = {
  dataDir: spec.dataDir,
  store: spec.store,
  adminEmail: spec.adminEmail,
} satisfies Spec;

/** `ward gateway bootstrap`: a new one-time admin code, written to the store the gateway uses. */
export async function runGatewayBootstrap(inv: Invocation): Promise<number> {
  const cfg = await loadSettings(inv, bootstrapSpec);
  const { openStore } = await import("../internal/store/index.ts");
  const { AccessService, SigningKeys } = await import("../internal/access/index.ts");
  const { Bootstrap } = await import("../internal/auth/index.ts");
  const { join } = await import("node:path");
  const store = await openStore(cfg.store || `sqlite:${join(cfg.dataDir, "ward.db")}`, { logger: makeLogger(inv, "gateway") });
  try {
    const access = new AccessService({ db: store.db, keys: await SigningKeys.load(store.db) });
    const code = await new Bootstrap({ db: store.db, access }).issue(cfg.adminEmail);
    inv.io.out(`One-time code for ${cfg.adminEmail} (valid 24 h, once): ${code}\nSign in at <gateway URL>/bootstrap.\n`);
  } finally {
    await store.close();
  }
  return 0;
}

const migrateStoreSpec = {
  from: { kind: "string", flag: "from", env: "WARD_MIGRATE_FROM", key: "migrateStore.from", default: "", description: "Source store URL" },
  to: { kind: "string", flag: "to", env: "WARD_MIGRATE_TO", key: "migrateStore.to", default: "", description: "Target store URL" },
} satisfies Spec;

/** `ward gateway migrate-store`: copies one store into another, empty one, and verifies the copy. */
export async function runGatewayMigrateStore(inv: Invocation): Promise<number> {
  const cfg = await loadSettings(inv, migrateStoreSpec);
  if (!cfg.from || !cfg.to) throw new UsageError("--from and --to are both required, e.g. --from sqlite:/var/lib/ward/ward.db --to postgres://user:password@host:5432/ward", inv.path);
  if (cfg.from === cfg.to) throw new UsageError("--from and --to name the same store", inv.path);
  const { openStore, redactedUrl, isPostgresUrl, copyStore } = await import("../internal/store/index.ts");
  const shown = (u: string) => (isPostgresUrl(u) ? redactedUrl(u) : u);
  const log = makeLogger(inv, "gateway");
  if (!isPostgresUrl(cfg.from)) {
    // A missing source file would be created empty by SQLite: say so instead of copying nothing.
    const { existsSync } = await import("node:fs");
    const path = cfg.from.replace(/^sqlite:/, "");
    if (path !== ":memory:" && !existsSync(path)) throw new UsageError(`--from: no SQLite store at ${path}`, inv.path);
  }
  const from = await openStore(cfg.from, { logger: log.child({ area: "store" }) });
  try {
    const to = await openStore(cfg.to, { logger: log.child({ area: "store" }) });
    try {
      inv.io.out(`Copying ${shown(cfg.from)} (${from.dialect}) into ${shown(cfg.to)} (${to.dialect}) …\n`);
      const report = await copyStore(from.db, to.db, (t) => inv.io.out(`  ${t.table.padEnd(16)} ${String(t.rows).padStart(7)} rows  sha256 ${t.sha256.slice(0, 16)}  verified\n`));
      const total = report.reduce((n, t) => n + t.rows, 0);
      inv.io.out(`Done: ${total} rows in ${report.length} tables copied and verified. Start the gateway with --store ${shown(cfg.to)}.\n`);
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
  return 0;
}
