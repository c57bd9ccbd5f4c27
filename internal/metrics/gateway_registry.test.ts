import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { gatewayMetrics, kubeVerb, registerAuditGauges } from "./index.ts";

/** The value of one series (`name{labels}` exactly as prom-client writes it, or an unlabelled name). */
function sample(text: string, series: string): number | undefined {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

test("kubeVerb names verbs as the API server does, with a fixed label set", () => {
  const cases: [string, string, string | undefined, string][] = [
    ["GET", "/api/v1/namespaces/default/pods", "request", "list"],
    ["GET", "/api/v1/pods", "request", "list"],
    ["GET", "/api/v1/namespaces", "request", "list"],
    ["GET", "/api/v1/namespaces/default", "request", "get"],
    ["GET", "/api/v1/namespaces/default/pods/p1", "request", "get"],
    ["GET", "/api/v1/namespaces/default/pods/p1/log", "request", "get"],
    ["GET", "/apis/apps/v1/namespaces/ns/deployments", "request", "list"],
    ["GET", "/apis/apps/v1/namespaces/ns/deployments/d", "request", "get"],
    ["GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "request", "list"],
    ["GET", "/api", "request", "get"],
    ["GET", "/apis", "request", "get"],
    ["GET", "/version", "request", "get"],
    ["GET", "/api/v1/pods", "watch", "watch"],
    ["POST", "/api/v1/namespaces/d/configmaps", "request", "create"],
    ["PUT", "/api/v1/namespaces/d/configmaps/c", "request", "update"],
    ["PATCH", "/api/v1/namespaces/d/configmaps/c", "request", "patch"],
    ["DELETE", "/api/v1/namespaces/d/configmaps/c", "request", "delete"],
    ["DELETE", "/api/v1/namespaces/d/configmaps", "request", "deletecollection"],
    ["GET", "/api/v1/namespaces/d/pods/p/exec", "exec", "connect"],
    ["POST", "/api/v1/namespaces/d/pods/p/portforward", "portforward", "connect"],
    ["BREW", "/api/v1/pods", undefined, "other"],
  ];
  for (const [method, path, kind, verb] of cases) assert.equal(kubeVerb(method, path, kind), verb, `${method} ${path} (${kind})`);
});

test("gateway metrics: counters move with exchanges, mints and refusals; gauges read the source at scrape time", async () => {
  const state = { open: { request: 0, watch: 0, exec: 0, portforward: 0 } as Record<string, number>, online: 0, outcomes: { applied: 0, failed: 0 } };
  const m = gatewayMetrics({ openStreams: () => state.open, agentsOnline: () => state.online, reconcileOutcomes: () => state.outcomes });
  let text = await m.registry.metrics();
  assert.equal(sample(text, "ward_gateway_agents_online"), 0);
  assert.equal(sample(text, 'ward_gateway_open_streams{kind="watch"}'), 0);
  assert.equal(sample(text, 'ward_gateway_tokens_minted_total{kind="kubeconfig"}'), 0, "series exist before the first event");
  assert.equal(sample(text, 'ward_gateway_rate_limited_total{limit="token-mint"}'), 0);
  assert.equal(sample(text, 'ward_gateway_reconciles_total{outcome="applied"}'), 0);
  assert.match(text, /^# TYPE ward_gateway_request_duration_seconds histogram$/m);
  assert.ok(sample(text, "process_resident_memory_bytes")! > 0, "default process metrics are included");

  m.exchange({ method: "GET", path: "/api/v1/namespaces/d/pods", kind: "request", status: 200, bytesIn: 0, bytesOut: 1234, durationMs: 12 });
  m.exchange({ method: "GET", path: "/api/v1/namespaces/d/pods", kind: "request", status: 200, bytesIn: 0, bytesOut: 100, durationMs: 3000 });
  m.exchange({ method: "GET", path: "/api/v1/namespaces/d/pods", kind: undefined, status: 401, bytesIn: 0, bytesOut: 0, durationMs: 1 });
  m.exchange({ method: "GET", path: "/api/v1/namespaces/d/pods", kind: "watch", status: 200, bytesIn: 0, bytesOut: 50, durationMs: 600_000 });
  m.exchange({ method: "GET", path: "/api/v1/namespaces/d/pods/p/exec", kind: "exec", status: 101, bytesIn: 7, bytesOut: 9, durationMs: 5000 });
  m.tokenMinted("kubeconfig");
  m.tokenMinted("k8s-token");
  m.tokenMinted("k8s-token");
  m.rateLimited("token-mint");
  Object.assign(state, { online: 2, open: { request: 1, watch: 3, exec: 0, portforward: 1 }, outcomes: { applied: 4, failed: 1 } });

  text = await m.registry.metrics();
  assert.equal(sample(text, 'ward_gateway_requests_total{verb="list",code="200",kind="request"}'), 2);
  assert.equal(sample(text, 'ward_gateway_requests_total{verb="list",code="401",kind="none"}'), 1);
  assert.equal(sample(text, 'ward_gateway_requests_total{verb="watch",code="200",kind="watch"}'), 1);
  assert.equal(sample(text, 'ward_gateway_requests_total{verb="connect",code="101",kind="exec"}'), 1);
  assert.equal(sample(text, 'ward_gateway_bytes_total{direction="out",kind="request"}'), 1334);
  assert.equal(sample(text, 'ward_gateway_bytes_total{direction="in",kind="exec"}'), 7);
  assert.equal(sample(text, 'ward_gateway_request_duration_seconds_count{verb="list"}'), 2, "only plain requests are timed");
  assert.equal(sample(text, 'ward_gateway_request_duration_seconds_bucket{le="0.025",verb="list"}'), 1);
  assert.equal(sample(text, 'ward_gateway_request_duration_seconds_bucket{le="5",verb="list"}'), 2);
  assert.equal(sample(text, 'ward_gateway_request_duration_seconds_count{verb="watch"}'), undefined);
  assert.equal(sample(text, "ward_gateway_agents_online"), 2);
  assert.equal(sample(text, 'ward_gateway_open_streams{kind="watch"}'), 3);
  assert.equal(sample(text, 'ward_gateway_open_streams{kind="exec"}'), 0);
  assert.equal(sample(text, 'ward_gateway_tokens_minted_total{kind="k8s-token"}'), 2);
  assert.equal(sample(text, 'ward_gateway_tokens_minted_total{kind="kubeconfig"}'), 1);
  assert.equal(sample(text, 'ward_gateway_rate_limited_total{limit="token-mint"}'), 1);
  assert.equal(sample(text, 'ward_gateway_reconciles_total{outcome="applied"}'), 4);
  assert.equal(sample(text, 'ward_gateway_reconciles_total{outcome="failed"}'), 1);

  state.open.watch = 0;
  text = await m.registry.metrics();
  assert.equal(sample(text, 'ward_gateway_open_streams{kind="watch"}'), 0, "the gauge follows the source down");
  assert.equal(sample(text, 'ward_gateway_reconciles_total{outcome="applied"}'), 4, "a scrape does not count twice");
});

test("registerAuditGauges: the audit queue's depth and drops, read at scrape time", async () => {
  const registry = new Registry();
  const audit = { queued: 0, dropped: 0 };
  registerAuditGauges(registry, () => audit);
  let text = await registry.metrics();
  assert.equal(sample(text, "ward_gateway_audit_queue_depth"), 0);
  assert.equal(sample(text, "ward_gateway_audit_dropped_total"), 0);
  assert.match(text, /^# TYPE ward_gateway_audit_dropped_total counter$/m);
  Object.assign(audit, { queued: 17, dropped: 3 });
  text = await registry.metrics();
  assert.equal(sample(text, "ward_gateway_audit_queue_depth"), 17);
  assert.equal(sample(text, "ward_gateway_audit_dropped_total"), 3);
  Object.assign(audit, { queued: 0 });
  text = await registry.metrics();
  assert.equal(sample(text, "ward_gateway_audit_queue_depth"), 0);
  assert.equal(sample(text, "ward_gateway_audit_dropped_total"), 3, "a scrape does not count twice");
});
