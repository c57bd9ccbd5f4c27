import { UsageError, type Invocation } from "../internal/cli/command.ts";
import { parseListen, type Spec } from "../internal/config/index.ts";
import { startGateway } from "../internal/gateway/index.ts";
import { loadSettings, makeLogger, printSettings, untilSignal } from "./settings.ts";
import { gatewaySpec as spec, idleTimeouts, splitList } from "./specs.ts";

export async function runGateway(inv: Invocation): Promise<number> {
  const cfg = await loadSettings(inv, spec);
  if (inv.flags["print-config"]) return printSettings(inv, spec, "ward gateway");
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
    idleTimeoutMs: idleTimeouts(cfg),
    metricsListen: cfg.metricsListen ? parseListen(cfg.metricsListen) : undefined,
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
