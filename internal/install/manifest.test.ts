import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { agentManifest, agentRules, type ManifestOptions } from "./index.ts";

const base: ManifestOptions = {
  cluster: "prod", namespace: "ward-system", gatewayUrl: "https://ward.example.com", joinToken: "join-secret",
  gatewayCaPem: "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n", impersonation: "constrained",
  download: { name: "ward-linux-x64", sha256: "a".repeat(64) },
};

/** Rendered and parsed back, as kubectl would read it. */
function docs(o: ManifestOptions): Record<string, any>[] {
  const text = agentManifest(o).map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
  return parseAllDocuments(text).map((d) => d.toJS());
}
const byKind = (ds: Record<string, any>[], kind: string) => ds.find((d) => d.kind === kind)!;

test("the manifest holds the six objects, the Secret the credential and CA", () => {
  const ds = docs(base);
  assert.deepEqual(ds.map((d) => d.kind), ["Namespace", "ServiceAccount", "Secret", "ClusterRole", "ClusterRoleBinding", "Deployment"]);
  const secret = byKind(ds, "Secret");
  assert.equal(secret.stringData.token, "join-secret");
  assert.match(secret.stringData["gateway-ca.crt"], /BEGIN CERTIFICATE/);
  assert.equal(byKind(ds, "Namespace").metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
  assert.deepEqual(byKind(ds, "ClusterRoleBinding").subjects, [{ kind: "ServiceAccount", name: "ward-agent", namespace: "ward-system" }]);
});

test("constrained impersonation: users only via impersonate:user-info, bind only the four built-in roles, no legacy verb", () => {
  const rules = byKind(docs(base), "ClusterRole").rules;
  assert.deepEqual(rules, agentRules("constrained"));
  const verbs = rules.flatMap((r: any) => r.verbs);
  assert.ok(!verbs.includes("impersonate"), "the legacy verb would bypass the constraints");
  assert.ok(!verbs.includes("*"));
  assert.deepEqual(rules[0], { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterrolebindings", "rolebindings"], verbs: ["list", "create", "update", "delete"] });
  assert.deepEqual(rules[1], { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], resourceNames: ["view", "edit", "admin", "cluster-admin"], verbs: ["bind"] });
  assert.deepEqual(rules[2], { apiGroups: ["authentication.k8s.io"], resources: ["users"], verbs: ["impersonate:user-info"] });
  assert.ok(rules.every((r: any) => !(r.resources ?? []).some((x: string) => ["groups", "serviceaccounts", "uids", "userextras", "nodes", "secrets"].includes(x))));
});

test("legacy impersonation: the impersonate verb on users only", () => {
  const rules = agentRules("legacy");
  assert.deepEqual(rules.at(-1), { apiGroups: [""], resources: ["users"], verbs: ["impersonate"] });
  assert.equal(rules.length, 3);
  assert.ok(!rules.flatMap((r) => r.verbs).some((v) => v.startsWith("impersonate:") || v.startsWith("impersonate-on:")));
});

test("the Deployment: locked-down containers, probes on the metrics port, the pinned download in an emptyDir", () => {
  const dep = byKind(docs(base), "Deployment");
  const spec = dep.spec.template.spec;
  assert.equal(spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(spec.securityContext.seccompProfile, { type: "RuntimeDefault" });
  for (const c of [...spec.containers, ...spec.initContainers]) {
    const sc = c.securityContext;
    assert.equal(sc.runAsNonRoot, true, c.name);
    assert.ok(sc.runAsUser > 0, c.name);
    assert.equal(sc.readOnlyRootFilesystem, true, c.name);
    assert.equal(sc.allowPrivilegeEscalation, false, c.name);
    assert.deepEqual(sc.capabilities, { drop: ["ALL"] }, c.name);
    assert.deepEqual(sc.seccompProfile, { type: "RuntimeDefault" }, c.name);
    assert.ok(c.resources.requests.memory && c.resources.limits.memory, c.name);
  }
  const [agent] = spec.containers;
  assert.equal(agent.image, "debian:bookworm-slim");
  assert.deepEqual(agent.command, ["/opt/ward/bin/ward"]);
  assert.ok(agent.args.includes("--metrics-listen") && agent.args.includes("--gateway-ca"));
  assert.equal(agent.livenessProbe.httpGet.path, "/healthz");
  assert.equal(agent.readinessProbe.httpGet.path, "/readyz");
  assert.deepEqual(agent.resources, { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } });
  assert.ok(agent.volumeMounts.find((m: any) => m.name === "bin").readOnly);
  assert.deepEqual(spec.volumes.find((v: any) => v.name === "bin").emptyDir, { sizeLimit: "256Mi" });
  const env = Object.fromEntries(spec.initContainers[0].env.map((e: any) => [e.name, e.value]));
  assert.equal(env.WARD_DOWNLOAD_URL, "https://ward.example.com/download/ward-linux-x64");
  assert.equal(env.WARD_SHA256, "a".repeat(64));
  assert.equal(env.WARD_CA_FILE, "/var/run/ward/join/gateway-ca.crt");
  assert.equal(spec.nodeSelector["kubernetes.io/arch"], "amd64");
});

test("--image: the user's image, no init container, no download, no CA when there is none", () => {
  const dep = byKind(docs({ ...base, image: "registry.example.com/ward:1", download: undefined, gatewayCaPem: undefined }), "Deployment");
  const spec = dep.spec.template.spec;
  assert.equal(spec.initContainers, undefined);
  assert.equal(spec.containers[0].image, "registry.example.com/ward:1");
  assert.deepEqual(spec.containers[0].command, ["ward"]);
  assert.ok(!spec.containers[0].args.includes("--gateway-ca"));
  assert.ok(!spec.volumes.some((v: any) => v.name === "bin"));
  assert.throws(() => agentManifest({ ...base, download: undefined }), /image or the download pin/);
});

test("scale-out: the agent dials the NATS cluster's websocket URLs while the executable still downloads from the gateway", () => {
  const ds = docs({ ...base, agentNatsUrl: "wss://nats-1.example.com,wss://nats-2.example.com" });
  const pod = byKind(ds, "Deployment").spec.template.spec;
  const args: string[] = pod.containers[0].args ?? pod.containers[0].command;
  assert.equal(args[args.indexOf("--gateway") + 1], "wss://nats-1.example.com,wss://nats-2.example.com");
  const init = pod.initContainers[0];
  assert.ok(init.env.some((e: any) => e.name === "WARD_DOWNLOAD_URL" && e.value.startsWith("https://ward.example.com/download/")));
});
