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
    logger: log,
  });
  await untilSignal(log);
  await gw.close();
  return 0;
}
