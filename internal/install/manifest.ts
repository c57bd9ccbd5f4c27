/**
 * `ward agent manifest`: the install YAML as plain objects (pure; the client command renders them).
 * Namespace, ServiceAccount, Secret (join credential and gateway CA), the least-privilege
 * ClusterRole + ClusterRoleBinding (rbac_rules.ts), and a Deployment that either fetches the
 * pinned executable from the gateway in an init container (default) or runs `--image`.
 */
import { agentRules, type ImpersonationMode } from "./rbac_rules.ts";
import { INIT_SCRIPT } from "./init_script.ts";

/** glibc (Node's single executable needs it), a shell, nothing else; the main container. */
export const DEFAULT_BASE_IMAGE = "debian:bookworm-slim";
/** Has curl and busybox sh/sha256sum; runs only the init step. */
export const DEFAULT_FETCH_IMAGE = "curlimages/curl:8.11.1";
export const METRICS_PORT = 9090;
/** A fixed non-root uid/gid: debian's default user is root, so runAsNonRoot needs a number. */
export const AGENT_UID = 65532;

export interface ManifestOptions {
  cluster: string;
  namespace: string;
  /** The gateway URL as the cluster reaches it. */
  gatewayUrl: string;
  /** Scale-out: the NATS cluster's websocket URL(s) the agent dials instead (the download stays on the gateway). */
  agentNatsUrl?: string | undefined;
  joinToken: string;
  /** PEM; absent when the gateway's certificate chains to public roots. */
  gatewayCaPem?: string | undefined;
  impersonation: ImpersonationMode;
  userPrefix?: string;
  /** An image with `ward` on its PATH: no init container, no download. */
  image?: string | undefined;
  /** For the default (download) install. */
  download?: { name: string; sha256: string } | undefined;
  baseImage?: string;
  fetchImage?: string;
}

type Obj = Record<string, unknown>;

export const NAME = "ward-agent";
const LABELS = { "app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "ward" };
const PSS_RESTRICTED = { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted" };

export function agentManifest(o: ManifestOptions): Obj[] {
  if (!o.image && !o.download) throw new Error("Either an image or the download pin is needed");
  const ns = o.namespace;
  const meta = (name: string, namespaced = true) => ({ name, ...(namespaced ? { namespace: ns } : {}), labels: { ...LABELS } });
  const secretData: Record<string, string> = { token: o.joinToken };
  if (o.gatewayCaPem) secretData["gateway-ca.crt"] = o.gatewayCaPem;
  const clusterRoleName = `ward-agent-${ns}`;
  return [
    // The pods meet the "restricted" Pod Security Standard; the namespace enforces it.
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { ...LABELS, ...PSS_RESTRICTED } } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(NAME) },
    { apiVersion: "v1", kind: "Secret", metadata: meta(`${NAME}-join`), type: "Opaque", stringData: secretData },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: meta(clusterRoleName, false), rules: agentRules(o.impersonation) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: meta(clusterRoleName, false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRoleName },
      subjects: [{ kind: "ServiceAccount", name: NAME, namespace: ns }],
    },
    deployment(o, meta(NAME)),
  ];
}

const containerSecurity = {
  runAsNonRoot: true,
  runAsUser: AGENT_UID,
  runAsGroup: AGENT_UID,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * Requests and limits from bench-proxy's and bench-footprint's measurements (README, Memory and pod
 * limits): the agent idles at about 90 MiB of RSS (two thirds of it the executable's own pages,
 * which the kernel can drop and read back) and peaked at 130–150 MiB under request, LIST and
 * streaming load → 128Mi requested, a 256Mi limit (room for many open streams: about 20 KiB each).
 * CPU: 148–755 µs per small request, and CPU-bound streaming (≈ 2–6 ms per MiB) → 100m requested,
 * a limit of one core (a saturating port-forward used about that).
 */
export const RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } };

function deployment(o: ManifestOptions, metadata: Obj): Obj {
  const join = "/var/run/ward/join";
  const bin = "/opt/ward/bin";
  const args = [
    "agent", "--gateway", o.agentNatsUrl ?? o.gatewayUrl, "--cluster", o.cluster, "--token-file", `${join}/token`,
    "--metrics-listen", `0.0.0.0:${METRICS_PORT}`,
    ...(o.gatewayCaPem ? ["--gateway-ca", `${join}/gateway-ca.crt`] : []),
    ...(o.userPrefix && o.userPrefix !== "ward:" ? ["--user-prefix", o.userPrefix] : []),
  ];
  const probe = (path: string) => ({ httpGet: { path, port: "metrics" }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 });
  const main: Obj = {
    name: "agent",
    image: o.image ?? o.baseImage ?? DEFAULT_BASE_IMAGE,
    command: o.image ? ["ward"] : [`${bin}/ward`],
    args,
    // uid 65532 has no home in the base image; nothing is written there, but tools expect one.
    env: [{ name: "HOME", value: "/tmp" }],
    ports: [{ name: "metrics", containerPort: METRICS_PORT }],
    livenessProbe: { ...probe("/healthz"), initialDelaySeconds: 5 },
    readinessProbe: probe("/readyz"),
    resources: RESOURCES,
    securityContext: containerSecurity,
    volumeMounts: [
      { name: "join", mountPath: join, readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
      ...(o.image ? [] : [{ name: "bin", mountPath: bin, readOnly: true }]),
    ],
  };
  const volumes: Obj[] = [
    { name: "join", secret: { secretName: `${NAME}-join`, defaultMode: 0o440 } },
    { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
  ];
  const spec: Obj = {
    serviceAccountName: NAME,
    securityContext: { runAsNonRoot: true, runAsUser: AGENT_UID, runAsGroup: AGENT_UID, fsGroup: AGENT_UID, seccompProfile: { type: "RuntimeDefault" } },
    nodeSelector: { "kubernetes.io/os": "linux", ...(o.image ? {} : { "kubernetes.io/arch": kubeArch(o.download!.name) }) },
    containers: [main],
    volumes,
  };
  if (!o.image) {
    const d = o.download!;
    volumes.push({ name: "bin", emptyDir: { sizeLimit: "256Mi" } });
    spec["initContainers"] = [{
      name: "fetch-ward",
      image: o.fetchImage ?? DEFAULT_FETCH_IMAGE,
      command: ["/bin/sh", "-c", INIT_SCRIPT],
      env: [
        { name: "WARD_DOWNLOAD_URL", value: `${o.gatewayUrl}/download/${d.name}` },
        { name: "WARD_SHA256", value: d.sha256 },
        { name: "WARD_DEST", value: `${bin}/ward` },
        ...(o.gatewayCaPem ? [{ name: "WARD_CA_FILE", value: `${join}/gateway-ca.crt` }] : []),
      ],
      resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
      securityContext: containerSecurity,
      volumeMounts: [{ name: "bin", mountPath: bin }, { name: "join", mountPath: join, readOnly: true }],
    }];
  }
  return {
    apiVersion: "apps/v1", kind: "Deployment", metadata,
    spec: {
      // One agent per cluster: two would both reconcile and both answer tunnel streams.
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: { "app.kubernetes.io/name": NAME } },
      template: { metadata: { labels: { ...LABELS } }, spec },
    },
  };
}

/** `ward-linux-x64` → `amd64` (the node label's spelling). */
function kubeArch(name: string): string {
  const arch = name.split("-").pop() ?? "";
  return arch === "x64" ? "amd64" : arch;
}
