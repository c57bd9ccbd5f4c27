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
  const natsServers = splitList(cfg.nats);
  if (natsServers.length && (!cfg.natsCredentials || !cfg.natsCalloutKey)) {
    throw new UsageError("--nats needs --nats-credentials FILE and --nats-callout-key FILE ('ward gateway nats-init' writes both)", inv.path);
  }
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
    maxStreamsPerCluster: cfg.maxStreamsPerCluster,
    maxStreamsPerMember: cfg.maxStreamsPerMember,
    metricsListen: cfg.metricsListen ? parseListen(cfg.metricsListen) : undefined,
    nats: natsServers.length
      ? {
          servers: natsServers, credentialsFile: cfg.natsCredentials, calloutKeyFile: cfg.natsCalloutKey,
          systemCredentialsFile: cfg.natsSystemCredentials || undefined, account: cfg.natsAccount, caFile: cfg.natsCa || undefined,
        }
      : undefined,
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

const natsInitSpec = {
  dir: { kind: "string", flag: "dir", env: "WARD_NATS_INIT_DIR", key: "natsInit.dir", default: "", description: "Directory for the keys and the sample configuration" },
  nodes: { kind: "number", flag: "nodes", env: "WARD_NATS_INIT_NODES", key: "natsInit.nodes", default: 3, description: "nats-server nodes in the sample cluster" },
} satisfies Spec;

/**
 * `ward gateway nats-init`: the keys of scale-out mode (the gateways' NATS user, their system user,
 * the callout's account key; seed files, mode 600) and a nats-server configuration per node that
 * names their public keys.
 */
export async function runGatewayNatsInit(inv: Invocation): Promise<number> {
  const cfg = await loadSettings(inv, natsInitSpec);
  if (!cfg.dir) throw new UsageError("--dir DIR is required: where the keys and configurations go", inv.path);
  if (!Number.isInteger(cfg.nodes) || cfg.nodes < 1 || cfg.nodes > 9) throw new UsageError("--nodes must be a whole number from 1 to 9", inv.path);
  const { mkdirSync, writeFileSync, existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { writeSeedFile, renderNatsConfig } = await import("../internal/scaleout/index.ts");
  mkdirSync(cfg.dir, { recursive: true, mode: 0o700 });
  const files = { gateway: join(cfg.dir, "gateway.nk"), system: join(cfg.dir, "system.nk"), callout: join(cfg.dir, "callout.nk") };
  for (const f of Object.values(files)) if (existsSync(f)) throw new UsageError(`${f} exists: pick an empty --dir (keys are never overwritten)`, inv.path);
  const keys = { gatewayUser: writeSeedFile(files.gateway, "user"), systemUser: writeSeedFile(files.system, "user"), calloutIssuer: writeSeedFile(files.callout, "account") };
  const names = Array.from({ length: cfg.nodes }, (_, i) => `ward-nats-${i + 1}`);
  for (const [i, name] of names.entries()) {
    const conf = renderNatsConfig({
      ...keys, serverName: name, listen: "0.0.0.0:4222", websocketListen: "0.0.0.0:443", httpListen: "127.0.0.1:8222",
      websocketTls: { certFile: "/etc/nats/tls/tls.crt", keyFile: "/etc/nats/tls/tls.key" },
      ...(cfg.nodes > 1 ? { cluster: { name: "ward", listen: "0.0.0.0:6222", routes: names.filter((_, j) => j !== i).map((n) => `nats-route://${n}:6222`) } } : {}),
    });
    writeFileSync(join(cfg.dir, `${name}.conf`), conf, { mode: 0o644 });
  }
  inv.io.out(
    `Wrote to ${cfg.dir}:\n` +
      `  gateway.nk  the gateways' NATS user      (--nats-credentials)\n` +
      `  system.nk   their system-account user    (--nats-system-credentials)\n` +
      `  callout.nk  the auth callout's account   (--nats-callout-key)\n` +
      names.map((n) => `  ${n}.conf  nats-server -c ${n}.conf (edit hosts, TLS files and ports to fit)\n`).join("") +
      `Every gateway: ward gateway --nats ${names.map((n) => `nats://${n}:4222`).join(",")} --nats-credentials gateway.nk --nats-system-credentials system.nk --nats-callout-key callout.nk --store postgres://…\n` +
      `Agents: ward agent --gateway ${names.map((n) => `wss://${n}:443`).join(",")} (or one load-balanced wss:// URL)\n`,
  );
  return 0;
}
