/** The command tree. Each `run` imports its implementation lazily to keep start-up fast. */
import type { CommandSpec, FlagSpec } from "../internal/cli/command.ts";
import { VERSION } from "../internal/version.ts";
import { loadHeavy } from "./lazy.ts";

const configFlag: FlagSpec = { name: "config", type: "string", value: "FILE", description: "YAML config file (env WARD_CONFIG)" };
const logLevelFlag: FlagSpec = { name: "log-level", type: "string", value: "LEVEL", description: "debug, info, warn or error (env WARD_LOG_LEVEL; default info)" };

export const gatewayCommand: CommandSpec = {
  name: "gateway",
  summary: "Run the Ward gateway (HTTP API, embedded NATS endpoint, store)",
  description:
    "Run the Ward gateway. With no flags it uses embedded defaults: a SQLite store under --data-dir\n" +
    "and its own NATS endpoint. Settings come from flags, then WARD_* variables, then --config.",
  flags: [
    { name: "listen", type: "string", value: "HOST:PORT", description: "Address to listen on (env WARD_LISTEN; default 127.0.0.1:8443)" },
    { name: "data-dir", type: "string", value: "DIR", description: "Directory for the SQLite store and generated keys (env WARD_DATA_DIR; default .ward)" },
    { name: "store", type: "string", value: "URL", description: "Store URL: sqlite:PATH or postgres://… (env WARD_STORE; default sqlite in --data-dir)" },
    { name: "shutdown-timeout", type: "string", value: "DURATION", description: "How long open requests may finish at SIGTERM (env WARD_SHUTDOWN_TIMEOUT; default 10s)" },
    { name: "public-url", type: "string", value: "URL", description: "External URL of the gateway, written into kubeconfigs (env WARD_PUBLIC_URL; default the listen URL)" },
    { name: "tls-cert", type: "string", value: "FILE", description: "TLS certificate (PEM) (env WARD_TLS_CERT); default a generated development certificate in DATA_DIR/tls" },
    { name: "tls-key", type: "string", value: "FILE", description: "TLS private key (PEM) (env WARD_TLS_KEY)" },
    { name: "plain-http", type: "boolean", description: "Serve plain HTTP, e.g. behind a TLS-terminating proxy (env WARD_PLAIN_HTTP)" },
    { name: "admin-email", type: "string", value: "EMAIL", description: "Email of the admin created at first start; its API token goes to DATA_DIR/admin-token (env WARD_ADMIN_EMAIL)" },
    configFlag,
    logLevelFlag,
  ],
  examples: ["ward gateway", "ward gateway --listen 0.0.0.0:8443 --data-dir /var/lib/ward"],
  run: async (inv) => (await loadHeavy()).runGateway(inv),
};

export const agentCommand: CommandSpec = {
  name: "agent",
  summary: "Run the in-cluster agent that dials out to the gateway",
  flags: [
    { name: "gateway", type: "string", value: "URL", description: "Gateway URL (env WARD_GATEWAY)" },
    { name: "cluster", type: "string", value: "ID", description: "This cluster's id at the gateway (env WARD_CLUSTER)" },
    { name: "token", type: "string", value: "SECRET", description: "Join credential (env WARD_AGENT_TOKEN; prefer --token-file)" },
    { name: "token-file", type: "string", value: "FILE", description: "File holding the join credential (env WARD_AGENT_TOKEN_FILE)" },
    { name: "gateway-ca", type: "string", value: "FILE", description: "CA certificate (PEM) for the gateway, e.g. its DATA_DIR/tls/ca.crt (env WARD_GATEWAY_CA)" },
    { name: "insecure-skip-tls-verify", type: "boolean", description: "Do not verify the gateway's certificate; for development only (env WARD_INSECURE_SKIP_TLS_VERIFY)" },
    { name: "kubeconfig", type: "string", value: "FILE", description: "Kubeconfig for running outside the cluster (default: in-cluster service account)" },
    { name: "user-prefix", type: "string", value: "PREFIX", description: "Prefix of the Kubernetes user a member maps to (env WARD_USER_PREFIX; default ward:)" },
    { name: "resync", type: "string", value: "DURATION", description: "Full RBAC reconcile interval, repairs hand edits (env WARD_RESYNC; default 30s)" },
    { name: "hello-interval", type: "string", value: "DURATION", description: "Presence interval (env WARD_HELLO_INTERVAL; default 10s)" },
    configFlag,
    logLevelFlag,
  ],
  examples: ["ward agent --gateway https://ward.example.com --cluster prod --token-file /var/run/ward/join-token"],
  run: async (inv) => (await loadHeavy()).runAgent(inv),
};

const cliCommands: CommandSpec[] = [
  {
    name: "version",
    summary: "Print the client version",
    flags: [{ name: "output", short: "o", type: "string", value: "FORMAT", description: "Output format: text or json" }],
    run: async (inv) => {
      const fmt = inv.flags.output ?? "text";
      if (fmt === "json") inv.io.out(JSON.stringify({ version: VERSION }) + "\n");
      else if (fmt === "text") inv.io.out(`ward ${VERSION}\n`);
      else {
        const { UsageError } = await import("../internal/cli/command.ts");
        throw new UsageError(`Unknown output format "${String(fmt)}": use text or json`, inv.path);
      }
      return 0;
    },
  },
];

export const cliCommand: CommandSpec = {
  name: "cli",
  summary: "Client commands (also available at top level: 'ward login' == 'ward cli login')",
  subcommands: cliCommands,
};

export const rootCommand: CommandSpec = {
  name: "ward",
  summary: "Ward: kubectl access to clusters with no reachable API endpoint",
  description:
    "Ward gives people and automation kubectl access to Kubernetes clusters through an agent that\n" +
    "dials out to the gateway. One executable: 'ward gateway', 'ward agent' and the client commands.",
  flags: [{ name: "version", type: "boolean", description: "Print the version and exit" }],
  subcommands: [gatewayCommand, agentCommand, cliCommand, ...cliCommands],
  run: async (inv) => {
    if (inv.flags.version) {
      inv.io.out(`ward ${VERSION}\n`);
      return 0;
    }
    const { helpText } = await import("../internal/cli/command.ts");
    inv.io.out(helpText(rootCommand, inv.path));
    return 0;
  },
};
