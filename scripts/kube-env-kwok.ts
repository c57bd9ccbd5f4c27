/**
 * The simulated workload: kwok's configuration (stages plus exec/logs/attach/port-forward rules)
 * and the objects `kube-env up` creates (one node, one namespace, one pod).
 *
 * The pod's exec runs real local commands in a per-pod work dir (so `kubectl cp`'s tar works and
 * stays inside it), its logs and attach follow a CRI-format log file the test appends to, and its
 * port-forward (any port) reaches the echo server `up` starts.
 */
import { readFileSync } from "node:fs";

export interface Workload {
  node: string;
  namespace: string;
  pod: string;
  container: string;
  /** The container port the pod declares; kwok forwards every port to the echo server anyway. */
  podPort: number;
  podWorkDir: string;
  logFile: string;
  echoPort: number;
}

export function kwokConfig(w: Workload, stagesFile: string): string {
  const selector = { matchNamespaces: [w.namespace], matchNames: [w.pod] };
  const meta = (name: string) => ({ name });
  const api = "kwok.x-k8s.io/v1alpha1";
  // No KwokConfiguration document: kwok does not default one read from a file (zero parallelism
  // fails), and its built-in defaults plus flags are what we want. No CRDs: rules come from here.
  const docs: unknown[] = [
    {
      apiVersion: api,
      kind: "ClusterExec",
      metadata: meta("ward-exec"),
      spec: {
        selector,
        execs: [{ local: { workDir: w.podWorkDir, envs: [{ name: "HOME", value: w.podWorkDir }, { name: "HOSTNAME", value: w.pod }] } }],
      },
    },
    { apiVersion: api, kind: "ClusterLogs", metadata: meta("ward-logs"), spec: { selector, logs: [{ logsFile: w.logFile, follow: true }] } },
    { apiVersion: api, kind: "ClusterAttach", metadata: meta("ward-attach"), spec: { selector, attaches: [{ logsFile: w.logFile }] } },
    {
      apiVersion: api,
      kind: "ClusterPortForward",
      metadata: meta("ward-port-forward"),
      spec: { selector, forwards: [{ target: { address: "127.0.0.1", port: w.echoPort } }] },
    },
  ];
  // JSON is YAML; the stages are kwok's own YAML, copied at build time.
  return [...docs.map((d) => JSON.stringify(d, null, 2)), readFileSync(stagesFile, "utf8")].join("\n---\n");
}

export function nodeObject(w: Workload): object {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: w.node,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: { type: "kwok", "kubernetes.io/hostname": w.node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" },
    },
    spec: {},
  };
}

export function namespaceObject(w: Workload): object {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: w.namespace } };
}

export function podObject(w: Workload): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: w.pod, namespace: w.namespace, labels: { app: w.pod } },
    spec: {
      // No scheduler runs: bind the pod to the kwok node directly.
      nodeName: w.node,
      containers: [{ name: w.container, image: "ward.invalid/toolbox:kwok", ports: [{ name: "echo", containerPort: w.podPort }] }],
    },
  };
}

/** One line in the CRI log format kwok (via cri-client) reads: `<RFC3339Nano> stdout F <text>`. */
export function criLogLines(text: string, stream: "stdout" | "stderr" = "stdout"): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => `${new Date().toISOString()} ${stream} F ${line}\n`)
    .join("");
}
