/** The command tree. Each `run` imports its implementation lazily to keep start-up fast. */
import type { CommandSpec, FlagSpec, Invocation } from "../internal/cli/command.ts";
import { VERSION } from "../internal/version.ts";
import { loadPart, type Parts } from "./lazy.ts";
import { relaunchWithNodeFlags } from "./node_flags.ts";

const configFlag: FlagSpec = { name: "config", type: "string", value: "FILE", description: "YAML config file (env WARD_CONFIG)" };
const logLevelFlag: FlagSpec = { name: "log-level", type: "string", value: "LEVEL", description: "debug, info, warn or error (env WARD_LOG_LEVEL; default info)" };

const printConfigFlag: FlagSpec = { name: "print-config", type: "boolean", description: "Print the effective settings (secrets as ***) as a YAML config file, each with its source, and exit" };
// Shared by `ward gateway` and `ward agent` (see cmd/specs.ts for the defaults).
const idleTimeoutFlags: FlagSpec[] = [
  { name: "idle-timeout-request", type: "string", value: "DURATION", description: "End a request idle this long; 0 = never (env WARD_IDLE_TIMEOUT_REQUEST; default 5m)" },
  { name: "idle-timeout-watch", type: "string", value: "DURATION", description: "End a watch or logs -f with no event this long (env WARD_IDLE_TIMEOUT_WATCH; default 30m)" },
  { name: "idle-timeout-exec", type: "string", value: "DURATION", description: "End an exec/attach/cp session idle this long (env WARD_IDLE_TIMEOUT_EXEC; default 30m)" },
  { name: "idle-timeout-portforward", type: "string", value: "DURATION", description: "End a port-forward idle this long (env WARD_IDLE_TIMEOUT_PORTFORWARD; default 30m)" },
];

// Shared by `ward gateway` and `ward gateway bootstrap`, which opens the same store.
const dataDirFlag: FlagSpec = { name: "data-dir", type: "string", value: "DIR", description: "Directory for the SQLite store and generated keys (env WARD_DATA_DIR; default .ward)" };
const storeFlag: FlagSpec = {
  name: "store", type: "string", value: "URL",
  description: "Store URL: sqlite:PATH, or postgres://user:password@host:port/db with ?sslmode=verify-full&sslrootcert=FILE, ?pool_max=N (default 10) (env WARD_STORE; default sqlite in --data-dir)",
};
const adminEmailFlag: FlagSpec = {
  name: "admin-email", type: "string", value: "EMAIL",
  description: "Email of the local admin (created at first start, its API token in DATA_DIR/admin-token; the one the bootstrap code signs in) (env WARD_ADMIN_EMAIL; default admin@ward.local)",
};

export const gatewayCommand: CommandSpec = {
  name: "gateway",
  summary: "Run the Ward gateway (HTTP API, embedded NATS endpoint, store)",
  description:
    "Run the Ward gateway. With no flags it uses embedded defaults: a SQLite store under --data-dir\n" +
    "and its own NATS endpoint. Settings come from flags, then WARD_* variables, then --config.",
  flags: [
    { name: "listen", type: "string", value: "HOST:PORT", description: "Address to listen on (env WARD_LISTEN; default 127.0.0.1:8443)" },
    dataDirFlag,
    storeFlag,
    { name: "shutdown-timeout", type: "string", value: "DURATION", description: "How long open requests may finish at SIGTERM (env WARD_SHUTDOWN_TIMEOUT; default 10s)" },
    { name: "public-url", type: "string", value: "URL", description: "External URL of the gateway, written into kubeconfigs (env WARD_PUBLIC_URL; default the listen URL)" },
    { name: "tls-cert", type: "string", value: "FILE", description: "TLS certificate (PEM) (env WARD_TLS_CERT); default a generated development certificate in DATA_DIR/tls" },
    { name: "tls-key", type: "string", value: "FILE", description: "TLS private key (PEM) (env WARD_TLS_KEY)" },
    { name: "plain-http", type: "boolean", description: "Serve plain HTTP, e.g. behind a TLS-terminating proxy (env WARD_PLAIN_HTTP)" },
    adminEmailFlag,
    { name: "oidc-issuer", type: "string", value: "URL", description: "OpenID Connect provider for SSO, e.g. https://accounts.example.com (env WARD_OIDC_ISSUER)" },
    { name: "oidc-client-id", type: "string", value: "ID", description: "Client id registered at the provider; redirect URI PUBLIC_URL/auth/callback (env WARD_OIDC_CLIENT_ID)" },
    { name: "oidc-client-secret", type: "string", value: "SECRET", description: "Client secret; omit for a public client (env WARD_OIDC_CLIENT_SECRET, preferred)" },
    { name: "oidc-scopes", type: "string", value: "SCOPES", description: "Scopes to request (env WARD_OIDC_SCOPES; default \"openid email profile\")" },
    { name: "allowed-email-domains", type: "string", value: "LIST", description: "Comma-separated domains whose people join as members at first sign-in (env WARD_ALLOWED_EMAIL_DOMAINS)" },
    { name: "disable-bootstrap", type: "boolean", description: "Turn off the one-time local admin code (env WARD_DISABLE_BOOTSTRAP)" },
    { name: "audit", type: "string", value: "on|off", description: "Audit every proxied request and access action (env WARD_AUDIT; default on)" },
    { name: "audit-retention", type: "string", value: "DURATION", description: "How long audit rows are kept; pruned daily (env WARD_AUDIT_RETENTION; default 720h)" },
    { name: "audit-queue-cap", type: "string", value: "N", description: "Audit records queued before new ones are dropped and counted (env WARD_AUDIT_QUEUE_CAP; default 10000)" },
    { name: "metrics-listen", type: "string", value: "HOST:PORT", description: "Serve Prometheus /metrics, /healthz and /readyz (ready = store reachable) over plain HTTP on this separate address (env WARD_METRICS_LISTEN; default off)" },
    { name: "max-streams-per-cluster", type: "string", value: "N", description: "Open streams from this gateway to one cluster (env WARD_MAX_STREAMS_PER_CLUSTER; default 4096)" },
    { name: "max-streams-per-member", type: "string", value: "N", description: "Open streams of one member through this gateway (env WARD_MAX_STREAMS_PER_MEMBER; default 256)" },
    { name: "nats", type: "string", value: "URLS", description: "Scale-out: nats://host:4222,… of a nats-server cluster instead of the embedded endpoint (env WARD_NATS)" },
    { name: "nats-credentials", type: "string", value: "FILE", description: "nkey seed file of the gateways' NATS user (env WARD_NATS_CREDENTIALS)" },
    { name: "nats-callout-key", type: "string", value: "FILE", description: "Account nkey seed file the auth callout signs with (env WARD_NATS_CALLOUT_KEY)" },
    { name: "nats-system-credentials", type: "string", value: "FILE", description: "nkey seed file of the gateways' system-account user (env WARD_NATS_SYSTEM_CREDENTIALS)" },
    { name: "nats-account", type: "string", value: "NAME", description: "NATS account of gateways and agents (env WARD_NATS_ACCOUNT; default WARD)" },
    { name: "nats-ca", type: "string", value: "FILE", description: "CA file for nats-server's TLS (env WARD_NATS_CA)" },
    ...idleTimeoutFlags,
    configFlag,
    logLevelFlag,
    printConfigFlag,
  ],
  examples: [
    "ward gateway",
    "ward gateway --listen 0.0.0.0:8443 --data-dir /var/lib/ward --public-url https://ward.example.com",
    "WARD_OIDC_CLIENT_SECRET=… ward gateway --oidc-issuer https://accounts.google.com --oidc-client-id ward --allowed-email-domains example.com",
  ],
  subcommands: [
    {
      name: "bootstrap",
      summary: "Print a new one-time code that signs the local admin into the portal",
      description: "Writes a new one-time admin code to the gateway's store (replacing an unused one) and prints it.\nRun it on the gateway host, with the gateway's --data-dir or --store.",
      flags: [
        dataDirFlag,
        storeFlag,
        adminEmailFlag,
        configFlag,
      ],
      examples: ["ward gateway bootstrap --data-dir /var/lib/ward"],
      run: async (inv) => (await loadPart("gateway")).runGatewayBootstrap(inv),
    },
    {
      name: "migrate-store",
      summary: "Copy a deployment's store into a new, empty one (e.g. SQLite to PostgreSQL), verified",
      description:
        "Copies every member, cluster, grant, signing key, API token, issued-token record, session and setting\n" +
        "from --from into --to, in one transaction, then compares each table (row count and SHA-256). The\n" +
        "target must be empty; both are migrated to this version's schema first. Stop the gateway first.",
      flags: [
        { name: "from", type: "string", value: "URL", description: "The store to copy: sqlite:PATH (or postgres://…)" },
        { name: "to", type: "string", value: "URL", description: "The empty store to fill: postgres://user:password@host:port/database" },
        configFlag,
      ],
      examples: ["ward gateway migrate-store --from sqlite:/var/lib/ward/ward.db --to postgres://ward:…@db.internal:5432/ward"],
      run: async (inv) => (await loadPart("gateway")).runGatewayMigrateStore(inv),
    },
    {
      name: "nats-init",
      summary: "Create the keys and nats-server configurations for scale-out on a nats-server cluster",
      description:
        "Writes three nkey seed files (mode 600) — the gateways' NATS user, their system-account user and the\n" +
        "auth callout's account key — and one nats-server configuration per node (websocket for agents,\n" +
        "cluster routes, the auth callout naming the keys). Keys are never overwritten.",
      flags: [
        { name: "dir", type: "string", value: "DIR", description: "Directory for the keys and configurations (created 0700)" },
        { name: "nodes", type: "string", value: "N", description: "nats-server nodes in the sample cluster (default 3)" },
      ],
      examples: ["ward gateway nats-init --dir ./ward-nats --nodes 3"],
      run: async (inv) => (await loadPart("gateway")).runGatewayNatsInit(inv),
    },
  ],
  run: async (inv) => {
    relaunchWithNodeFlags();
    return (await loadPart("gateway")).runGateway(inv);
  },
};

const gatewayFlag: FlagSpec = { name: "gateway", type: "string", value: "URL", description: "Gateway URL (env WARD_GATEWAY; default the last one logged in to)" };
const caFlag: FlagSpec = { name: "certificate-authority", type: "string", value: "FILE", description: "CA certificate (PEM) of the gateway (env WARD_GATEWAY_CA)" };
const insecureFlag: FlagSpec = { name: "insecure-skip-tls-verify", type: "boolean", description: "Do not verify the gateway's certificate (development only)" };
const connection = [gatewayFlag, caFlag, insecureFlag];

export const agentCommand: CommandSpec = {
  name: "agent",
  summary: "Run the in-cluster agent that dials out to the gateway",
  flags: [
    { name: "gateway", type: "string", value: "URLS", description: "Gateway URL, or in scale-out the NATS cluster's wss:// URL(s); comma-separated ones are tried in random order until one answers (env WARD_GATEWAY)" },
    { name: "cluster", type: "string", value: "ID", description: "This cluster's id at the gateway (env WARD_CLUSTER)" },
    { name: "token", type: "string", value: "SECRET", description: "Join credential (env WARD_AGENT_TOKEN; prefer --token-file)" },
    { name: "token-file", type: "string", value: "FILE", description: "File holding the join credential (env WARD_AGENT_TOKEN_FILE)" },
    { name: "gateway-ca", type: "string", value: "FILE", description: "CA certificate (PEM) for the gateway, e.g. its DATA_DIR/tls/ca.crt (env WARD_GATEWAY_CA)" },
    { name: "insecure-skip-tls-verify", type: "boolean", description: "Do not verify the gateway's certificate; for development only (env WARD_INSECURE_SKIP_TLS_VERIFY)" },
    { name: "kubeconfig", type: "string", value: "FILE", description: "Kubeconfig for running outside the cluster (env WARD_KUBECONFIG; default: in-cluster service account)" },
    { name: "user-prefix", type: "string", value: "PREFIX", description: "Prefix of the Kubernetes user a member maps to (env WARD_USER_PREFIX; default ward:)" },
    { name: "resync", type: "string", value: "DURATION", description: "Full RBAC reconcile interval, repairs hand edits (env WARD_RESYNC; default 30s)" },
    { name: "hello-interval", type: "string", value: "DURATION", description: "Presence interval (env WARD_HELLO_INTERVAL; default 10s)" },
    { name: "metrics-listen", type: "string", value: "HOST:PORT", description: "Serve Prometheus /metrics, /healthz and /readyz (ready = connected to the gateway) over plain HTTP here (env WARD_METRICS_LISTEN; default off)" },
    { name: "max-streams", type: "string", value: "N", description: "Open streams this agent serves for one gateway (env WARD_MAX_STREAMS; default 4096)" },
    ...idleTimeoutFlags,
    configFlag,
    logLevelFlag,
    printConfigFlag,
  ],
  examples: ["ward agent --gateway https://ward.example.com --cluster prod --token-file /var/run/ward/join-token"],
  subcommands: [
    {
      name: "manifest",
      summary: "Print the YAML that installs the agent in a cluster (admins)",
      description:
        "Prints a Namespace, ServiceAccount, Secret (join credential, gateway CA), a least-privilege ClusterRole\n" +
        "and binding, and a Deployment. By default the Deployment runs a stock base image and an init container\n" +
        "downloads this gateway's own executable, refusing it unless its SHA-256 matches the pin in the manifest;\n" +
        "--image runs an image of your own instead. The join credential is read from --token-file, or minted with\n" +
        "--rotate-join, which disconnects an agent running with the old one.",
      flags: [
        { name: "cluster", type: "string", value: "ID", description: "Cluster id" },
        { name: "namespace", type: "string", value: "NS", description: "Namespace for the agent (default ward-system)" },
        { name: "token-file", type: "string", value: "FILE", description: "The cluster's current join credential" },
        { name: "rotate-join", type: "boolean", description: "Mint a new join credential for the manifest (the old one stops working at once)" },
        { name: "image", type: "string", value: "IMAGE", description: "Run this image (with ward on its PATH) instead of downloading the executable from the gateway" },
        { name: "constrained-impersonation", type: "string", value: "on|off", description: "on: KEP-5284 constrained impersonation (Kubernetes 1.36+; default); off: the legacy impersonate verb" },
        { name: "agent-gateway-url", type: "string", value: "URL", description: "Gateway URL as the cluster reaches it (default the gateway you talk to)" },
        { name: "agent-nats-url", type: "string", value: "URLS", description: "Scale-out: the NATS cluster's wss:// URL(s) the agent dials (the executable still downloads from the gateway)" },
        ...connection,
      ],
      examples: [
        "ward agent manifest --cluster prod --token-file join-token | kubectl apply -f -",
        "ward agent manifest --cluster prod --rotate-join --image registry.example.com/ward:1.2.3 > ward-agent.yaml",
      ],
      run: async (inv) => (await loadPart("client")).client.agentManifest(inv),
    },
  ],
  run: async (inv) => {
    relaunchWithNodeFlags();
    return (await loadPart("agent")).runAgent(inv);
  },
};

const outputFlag: FlagSpec = { name: "output", short: "o", type: "string", value: "FORMAT", description: "Output format: table or json" };
const clusterFlag: FlagSpec = { name: "cluster", type: "string", value: "ID", description: "Cluster id" };
const NON_INTERACTIVE = "With WARD_TOKEN set (an API token, e.g. a robot's) it runs without a login.";

/** Client commands load from the client part (they need YAML and more); kube-token stays light. */
const client = (name: keyof Parts["client"]["client"]) => async (inv: Invocation) => (await loadPart("client")).client[name](inv);

const clusterCommand: CommandSpec = {
  name: "cluster",
  summary: "Clusters you can access: list, kubeconfig entries, access grants, issued tokens",
  subcommands: [
    {
      name: "list",
      summary: "List the clusters you can access, with their online state and your grants",
      description: `List the clusters you can access. ${NON_INTERACTIVE}`,
      flags: [outputFlag, ...connection],
      examples: ["ward cluster list", "ward cluster list -o json"],
      run: client("clusterList"),
    },
    {
      name: "kubeconfig",
      summary: "Add, remove or list Ward contexts (ward-<cluster>) in your kubeconfig",
      subcommands: [
        {
          name: "add",
          summary: "Add (or update) the context ward-<cluster> for one cluster or all of yours",
          description:
            "Adds the cluster, user and context ward-<cluster> to your kubeconfig. kubectl then gets short-lived\n" +
            "tokens from 'ward cluster kube-token' (an exec credential plugin) — or, with --embed-token, uses one\n" +
            "token written into the file (for machines without ward). Only Ward's entries are touched; the file is\n" +
            "written atomically and everything else in it stays byte-for-byte the same.",
          flags: [
            clusterFlag,
            { name: "all", type: "boolean", description: "Every cluster you hold a grant on" },
            { name: "use", type: "boolean", description: "Make it kubectl's current context (single --cluster only)" },
            { name: "namespace", type: "string", value: "NS", description: "Default namespace of the context (default: your grant's, when access is one namespace)" },
            { name: "print", type: "boolean", description: "Print the kubeconfig to stdout instead of editing a file" },
            { name: "embed-token", type: "boolean", description: "Write a token into the file instead of the exec plugin (expires; no refresh)" },
            { name: "exec-command", type: "string", value: "PATH", description: "Command kubectl runs for credentials (default: this ward executable; on Linux and macOS through /bin/sh, which first tries the cached credential)" },
            { name: "kubeconfig", type: "string", value: "FILE", description: "File to edit (default: first entry of $KUBECONFIG, else ~/.kube/config)" },
            ...connection,
          ],
          examples: ["ward cluster kubeconfig add --cluster prod --use", "ward cluster kubeconfig add --all", "ward cluster kubeconfig add --cluster ci --embed-token --print > ci.kubeconfig"],
          run: client("kubeconfigAdd"),
        },
        {
          name: "remove",
          summary: "Remove the context ward-<cluster> (or every Ward context)",
          flags: [clusterFlag, { name: "all", type: "boolean", description: "Every Ward context in the file" }, { name: "kubeconfig", type: "string", value: "FILE", description: "File to edit" }],
          examples: ["ward cluster kubeconfig remove --cluster prod"],
          run: client("kubeconfigRemove"),
        },
        {
          name: "list",
          summary: "List the Ward contexts in your kubeconfig ($KUBECONFIG files merged)",
          flags: [outputFlag, { name: "kubeconfig", type: "string", value: "FILE", description: "File to read (default: every $KUBECONFIG file, else ~/.kube/config)" }],
          run: client("kubeconfigList"),
        },
      ],
    },
    {
      name: "kube-token",
      summary: "Exec credential plugin for kubectl: prints an ExecCredential for a cluster",
      description:
        "Prints a client.authentication.k8s.io ExecCredential with a short-lived token for --cluster, cached per\n" +
        "gateway, cluster and member until shortly before it expires. kubectl runs it; it never prompts.\n" + NON_INTERACTIVE,
      flags: [clusterFlag, ...connection],
      examples: ["ward cluster kube-token --cluster prod --gateway https://ward.example.com"],
      run: async (inv) => {
        const cluster = typeof inv.flags.cluster === "string" ? inv.flags.cluster : undefined;
        if (!cluster) {
          const { UsageError } = await import("../internal/cli/command.ts");
          throw new UsageError("--cluster ID is required", inv.path);
        }
        const { kubeToken } = await import("../internal/client/kube_token.ts");
        inv.io.out(await kubeToken({ cluster, gateway: typeof inv.flags.gateway === "string" ? inv.flags.gateway : undefined }));
        return 0;
      },
    },
    {
      name: "access",
      summary: "Who may use a cluster: list, grant, revoke, revoke-all (admins)",
      subcommands: [
        { name: "list", summary: "List the grants on a cluster", flags: [clusterFlag, outputFlag, ...connection], examples: ["ward cluster access list --cluster prod"], run: client("accessList") },
        {
          name: "grant",
          summary: "Grant a member a role on the cluster or one namespace",
          flags: [
            clusterFlag,
            { name: "member", type: "string", value: "EMAIL", description: "Member email (or id)" },
            { name: "role", type: "string", value: "ROLE", description: "view, edit, admin or cluster-admin" },
            { name: "namespace", type: "string", value: "NS", description: "Limit to one namespace (default: the whole cluster)" },
            { name: "expires", type: "string", value: "WHEN", description: "Time-boxed access: 8h, 30m, 7d or an RFC 3339 time" },
            outputFlag,
            ...connection,
          ],
          examples: ["ward cluster access grant --cluster prod --member alice@example.com --role view", "ward cluster access grant --cluster prod --member bob@example.com --role edit --namespace shop --expires 8h"],
          run: client("accessGrant"),
        },
        { name: "revoke", summary: "Delete a grant (closes that member's open streams)", args: ["grant-id"], flags: [clusterFlag, ...connection], examples: ["ward cluster access revoke --cluster prod g0123…"], run: client("accessRevoke") },
        {
          name: "revoke-all",
          summary: "Invalidate every credential issued on a cluster (or one member's)",
          flags: [clusterFlag, { name: "member", type: "string", value: "EMAIL", description: "Only this member" }, { name: "yes", type: "boolean", description: "Confirm" }, ...connection],
          examples: ["ward cluster access revoke-all --cluster prod --yes"],
          run: client("accessRevokeAll"),
        },
      ],
    },
    {
      name: "rotate-join",
      summary: "Replace the cluster's agent join credential (admins); the old one stops working at once",
      description:
        "Issues a new join credential for the cluster's agent and refuses the old one from now on: agents\n" +
        "connected with it are disconnected until they are restarted with the new one. Printed once on stdout,\n" +
        "or written to --token-file (0600).",
      flags: [clusterFlag, { name: "token-file", type: "string", value: "FILE", description: "Write the new credential here instead of stdout" }, { name: "yes", type: "boolean", description: "Confirm" }, ...connection],
      examples: ["ward cluster rotate-join --cluster prod --yes --token-file join-token"],
      run: client("rotateJoin"),
    },
    {
      name: "tokens",
      summary: "Credentials issued for a cluster: list, revoke",
      subcommands: [
        { name: "list", summary: "List issued k8s tokens (yours; admins: everyone's)", flags: [clusterFlag, { name: "all", type: "boolean", description: "Include expired and revoked" }, outputFlag, ...connection], run: client("tokensList") },
        { name: "revoke", summary: "Revoke one issued token", args: ["token-id"], flags: [clusterFlag, ...connection], run: client("tokensRevoke") },
      ],
    },
  ],
};

const cliCommands: CommandSpec[] = [
  {
    name: "login",
    summary: "Sign in to a gateway (device login: works over SSH)",
    description:
      "Prints a URL and a short code; open the URL in any browser, sign in, and confirm the code. The session\n" +
      "is kept in ~/.config/ward/credentials.json (0600) and refreshed silently.",
    flags: [...connection, { name: "device-name", type: "string", value: "NAME", description: "How this machine is named on the approval page" }],
    examples: ["ward login --gateway https://ward.example.com", "ward login --gateway https://127.0.0.1:8443 --certificate-authority .ward/tls/ca.crt"],
    run: client("login"),
  },
  { name: "logout", summary: "Sign out of a gateway and drop cached tokens", flags: [gatewayFlag], run: client("logout") },
  clusterCommand,
  {
    name: "robot",
    summary: "Automation identities and their API tokens (admins)",
    subcommands: [
      {
        name: "create",
        summary: "Create a robot; prints its first API token once",
        args: ["name"],
        flags: [{ name: "expires", type: "string", value: "DURATION", description: "Token lifetime: 30d, 12h … (default 90d)" }, ...connection],
        examples: ["ward robot create ci-deploy", "WARD_TOKEN=$(ward robot create ci --expires 30d) ward cluster list"],
        run: client("robotCreate"),
      },
      { name: "list", summary: "List robots", flags: [outputFlag, ...connection], run: client("robotList") },
      {
        name: "token",
        summary: "A robot's API tokens: create, list, revoke",
        subcommands: [
          { name: "create", summary: "Issue another API token (printed once)", args: ["robot"], flags: [{ name: "name", type: "string", value: "LABEL", description: "What the token is for" }, { name: "expires", type: "string", value: "DURATION", description: "Lifetime (default 90d)" }, ...connection], run: client("robotTokenCreate") },
          { name: "list", summary: "List a robot's API tokens", args: ["robot"], flags: [outputFlag, ...connection], run: client("robotTokenList") },
          { name: "revoke", summary: "Revoke one API token", args: ["robot", "token-id"], flags: connection, run: client("robotTokenRevoke") },
        ],
      },
    ],
  },
  {
    name: "audit",
    summary: "The audit: proxied kubectl requests and access actions (admins: everyone's; members: their own)",
    subcommands: [
      {
        name: "list",
        summary: "List audit rows, newest first",
        flags: [
          clusterFlag,
          { name: "member", type: "string", value: "EMAIL", description: "Only this member (email or id)" },
          { name: "since", type: "string", value: "WHEN", description: "Only rows since: a duration like 1h or 7d, or an RFC 3339 time" },
          { name: "verb", type: "string", value: "VERB", description: "Only this Kubernetes verb (get, list, watch, create, patch, delete, …) or action (token.mint, grant.create, sign-in, …)" },
          { name: "limit", type: "string", value: "N", description: "At most N rows (default 100)" },
          outputFlag,
          ...connection,
        ],
        examples: ["ward audit list --cluster prod --since 1h", "ward audit list --member alice@example.com --verb delete -o json"],
        run: client("auditList"),
      },
    ],
  },
  {
    name: "member",
    summary: "Organisation members: invite, list, disable (admins)",
    subcommands: [
      { name: "invite", summary: "Invite a person by email (they sign in with SSO)", args: ["email"], flags: [{ name: "admin", type: "boolean", description: "As an admin" }, ...connection], run: client("memberInvite") },
      { name: "list", summary: "List members", flags: [outputFlag, ...connection], run: client("memberList") },
      { name: "disable", summary: "Disable a member (their access stops at once)", args: ["email"], flags: connection, run: client("memberDisable") },
    ],
  },
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
