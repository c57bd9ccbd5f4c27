import type { Invocation } from "../internal/cli/command.ts";
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
  shutdownTimeout: { kind: "duration", flag: "shutdown-timeout", env: "WARD_SHUTDOWN_TIMEOUT", key: "shutdownTimeout", default: 10_000, description: "Shutdown timeout" },
} satisfies Spec;

export async function runGateway(inv: Invocation): Promise<number> {
  const cfg = await loadSettings(inv, spec);
  const log = makeLogger(inv, "gateway");
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
    logger: log,
  });
  if (gw.caFile) log.info("serving a generated development certificate; clients trust it with this CA file", { caFile: gw.caFile });
  await untilSignal(log);
  await gw.close();
  return 0;
}
