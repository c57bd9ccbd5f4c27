/**
 * The gateway's Prometheus registry. Counters are fed as things happen (each finished proxy
 * exchange, each token minted, each rate-limit refusal); gauges and the reconcile counters are read
 * from the running gateway at scrape time. Every label has a small, fixed set of values (verbs,
 * stream kinds, status codes): never a cluster, member or path.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** What the gateway reports; read on every scrape. */
export interface GatewayMetricsSource {
  /** Open tunnel streams by kind (request, watch, exec, portforward). */
  openStreams(): Readonly<Record<string, number>>;
  /** Clusters whose agent is connected now. */
  agentsOnline(): number;
  /** Reconcile passes agents reported since the start (monotonic): every grant applied, or some failed. */
  reconcileOutcomes(): { applied: number; failed: number };
}

/** The parts of a finished proxy exchange the metrics use (the proxy's ExchangeRecord has them). */
export interface ExchangeSample {
  method: string;
  /** The API path without the query. */
  path: string;
  /** The stream kind; undefined when it failed before a stream opened (auth, offline, limits). */
  kind: string | undefined;
  status: number;
  /** Bytes from kubectl to the API server, and back. */
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Counts one finished proxy exchange (a request, or an upgraded session when it closed). */
  exchange(r: ExchangeSample): void;
  /** A k8s token was minted ("k8s-token" or "kubeconfig"). */
  tokenMinted(kind: string): void;
  /** A rate limit refused a call ("token-mint"). */
  rateLimited(limit: string): void;
}

export interface GatewayRegistryOptions {
  /** prom-client's default process metrics; default true. */
  defaultMetrics?: boolean;
}

/** Latency buckets (seconds) for plain requests: from a cached GET to a slow LIST. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const WRITE_VERBS: Record<string, string> = { POST: "create", PUT: "update", PATCH: "patch" };

/**
 * The Kubernetes verb of a proxied request, as the API server would name it: get, list, watch,
 * create, update, patch, delete, deletecollection, connect (exec, attach, port-forward); "other"
 * for an unusual method. Pure; the label set stays fixed whatever the client sends.
 */
export function kubeVerb(method: string, path: string, kind: string | undefined): string {
  if (kind === "exec" || kind === "portforward") return "connect";
  if (kind === "watch") return "watch";
  const collection = isCollection(path);
  switch (method) {
    case "GET":
    case "HEAD":
      return collection ? "list" : "get";
    case "DELETE":
      return collection ? "deletecollection" : "delete";
    default:
      return WRITE_VERBS[method] ?? "other";
  }
}

/** `/api/v1/pods`, `/api/v1/namespaces/NS/pods`, `/apis/G/V/namespaces/NS/R`: a resource collection. */
function isCollection(path: string): boolean {
  const parts = path.split("/").filter(Boolean);
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === "apis" && parts.length >= 3) rest = parts.slice(3);
  else return false; // discovery, /version, /openapi: non-resource paths
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  return rest.length === 1;
}

/** A status code as a label: the three digits, "0" when the client left before any answer. */
function codeLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "0";
}

export function gatewayMetrics(source: GatewayMetricsSource, opts: GatewayRegistryOptions = {}): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: "ward_gateway_requests_total",
    help: "Proxied kubectl exchanges by Kubernetes verb, HTTP status code and stream kind (\"none\": refused before a stream opened). An exec, attach or port-forward counts when its session closes.",
    labelNames: ["verb", "code", "kind"] as const,
    registers,
  });
  const latency = new Histogram({
    name: "ward_gateway_request_duration_seconds",
    help: "Time from a plain request's arrival to the end of its response, by verb. Watches, logs -f and upgraded sessions are left out: their duration is how long someone kept them open.",
    labelNames: ["verb"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const bytes = new Counter({
    name: "ward_gateway_bytes_total",
    help: "Bytes relayed through the tunnel, by direction (in: kubectl to the API server; out: back) and stream kind.",
    labelNames: ["direction", "kind"] as const,
    registers,
  });
  new Gauge({
    name: "ward_gateway_open_streams",
    help: "Tunnel streams open now, by kind (request, watch, exec, portforward).",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(source.openStreams())) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: "ward_gateway_agents_online",
    help: "Clusters whose Ward agent is connected now.",
    registers,
    collect() {
      this.set(source.agentsOnline());
    },
  });
  const reported = { applied: 0, failed: 0 };
  new Counter({
    name: "ward_gateway_reconciles_total",
    help: "RBAC reconcile passes reported by agents, by outcome (applied: every grant applied; failed: at least one grant failed).",
    labelNames: ["outcome"] as const,
    registers,
    collect() {
      const now = source.reconcileOutcomes();
      for (const outcome of ["applied", "failed"] as const) {
        if (now[outcome] > reported[outcome]) this.inc({ outcome }, now[outcome] - reported[outcome]);
        else this.inc({ outcome }, 0); // the series exists from the first scrape
        reported[outcome] = Math.max(reported[outcome], now[outcome]);
      }
    },
  });
  const minted = new Counter({
    name: "ward_gateway_tokens_minted_total",
    help: "k8s tokens minted, by what asked for them (k8s-token, kubeconfig).",
    labelNames: ["kind"] as const,
    registers,
  });
  const limited = new Counter({
    name: "ward_gateway_rate_limited_total",
    help: "Calls refused by a rate limit, by limit (token-mint: tokens and kubeconfigs per member).",
    labelNames: ["limit"] as const,
    registers,
  });
  // Series that exist before the first event, so a dashboard's rate() has a starting point.
  for (const kind of ["k8s-token", "kubeconfig"]) minted.inc({ kind }, 0);
  limited.inc({ limit: "token-mint" }, 0);
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  return {
    registry,
    exchange(r) {
      const kind = r.kind ?? "none";
      const verb = kubeVerb(r.method, r.path, r.kind);
      requests.inc({ verb, code: codeLabel(r.status), kind });
      if (r.bytesIn > 0) bytes.inc({ direction: "in", kind }, r.bytesIn);
      if (r.bytesOut > 0) bytes.inc({ direction: "out", kind }, r.bytesOut);
      if (kind === "request") latency.observe({ verb }, r.durationMs / 1000);
    },
    tokenMinted: (kind) => minted.inc({ kind }),
    rateLimited: (limit) => limited.inc({ limit }),
  };
}

/**
 * The audit log's queue on the scrape: `ward_gateway_audit_queue_depth` (records waiting to be
 * written) and `ward_gateway_audit_dropped_total` (records dropped because the queue was full),
 * read from `read` at scrape time. The audit writer owns the numbers; this only reports them.
 */
export function registerAuditGauges(registry: Registry, read: () => { queued: number; dropped: number }): void {
  new Gauge({
    name: "ward_gateway_audit_queue_depth",
    help: "Audit records waiting to be written.",
    registers: [registry],
    collect() {
      this.set(read().queued);
    },
  });
  let reported = 0;
  new Counter({
    name: "ward_gateway_audit_dropped_total",
    help: "Audit records dropped because the audit queue was full.",
    registers: [registry],
    collect() {
      const dropped = read().dropped;
      if (dropped > reported) this.inc(dropped - reported);
      reported = Math.max(reported, dropped);
    },
  });
}
