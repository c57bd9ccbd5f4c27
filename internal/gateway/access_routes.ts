/**
 * The token-authenticated access API (DESIGN.md "API surface"), mounted under `/api/v1`.
 * A bearer API token resolves to an `AuthContext` first; handlers only see that context.
 * Errors are JSON `{ error, reason }`; with the access feature off, access endpoints answer 404.
 */
import { Hono, type Env as HonoEnv, type Context, type MiddlewareHandler } from "hono";
import { stringify } from "yaml";
import { AccessError, type AccessService, type AuthContext, type Cluster, type Member } from "../access/index.ts";
import { defaultNamespace, wardName } from "../kubeconfig/index.ts";
import type { Logger } from "../log/index.ts";
import { httpErrorHandler } from "./error_handler.ts";

export interface AccessRoutesOptions {
  access: AccessService;
  /** The gateway's external URL, for kubeconfig server addresses (no trailing slash). */
  publicUrl: () => string;
  /** PEM of the gateway's self-signed certificate, embedded in kubeconfigs when set. */
  caPem?: () => string | undefined;
  logger: Logger;
  /** Whether an agent of the cluster is connected. */
  isClusterOnline: (clusterId: string) => boolean;
}

type Env = { Variables: { auth: AuthContext } };

export function bearerAuth(access: AccessService): MiddlewareHandler<Env> {
  return async function bearerAuthMiddleware(c, next) {
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw new AccessError("Unauthorized", "Missing bearer API token: send Authorization: Bearer <token>");
    c.set("auth", await access.authenticateApiToken(m[1]!));
    await next();
  };
}

/** The API's errors: JSON `{ error, reason }`; with the access feature off, a plain 404. */
export function accessErrorHandler<E extends HonoEnv = Env>(logger: Logger) {
  return httpErrorHandler<E, AccessError>({
    owns: (err) => err instanceof AccessError,
    render(err, c) {
      if (err.reason === "Unauthorized") c.header("WWW-Authenticate", 'Bearer realm="ward"');
      const message = err.reason === "FeatureDisabled" ? "Not found" : err.message;
      return c.json({ error: message, reason: err.reason === "FeatureDisabled" ? "NotFound" : err.reason }, err.status as 400);
    },
    internal: (c) => c.json({ error: "Internal error", reason: "InternalError" }, 500),
    logger,
    logMessage: "unhandled API error",
  });
}

/** The request body as a JSON object (empty: `{}`), else `Invalid`. */
export async function body(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  if (text.length > 64 * 1024) throw new AccessError("Invalid", "Request body too large");
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AccessError("Invalid", "The request body must be a JSON object");
}

const memberJson = (m: Member) => m;
const clusterJson = (c: Cluster) => c;

export function accessRoutes(opts: AccessRoutesOptions): Hono<Env> {
  const { access } = opts;
  const api = new Hono<Env>();
  api.onError(accessErrorHandler(opts.logger));
  api.use("*", bearerAuth(access));
  const enabled: MiddlewareHandler<Env> = async (_c, next) => {
    await access.requireEnabled();
    await next();
  };

  api.get("/me", (c) => c.json({ member: memberJson(c.get("auth").member) }));
  api.get("/me/clusters", async (c) => c.json({ clusters: await myClustersJson(opts, c.get("auth")) }));

  // ---- admin: clusters, members, settings
  api.get("/clusters", async (c) => c.json({ clusters: (await access.listClusters(c.get("auth"))).map(clusterJson) }));
  api.post("/clusters", async (c) => {
    const { cluster, joinToken } = await access.createCluster(c.get("auth"), await body(c));
    opts.logger.info("cluster created", { cluster: cluster.id, by: c.get("auth").member.id });
    return c.json({ cluster, join_token: joinToken }, 201);
  });
  api.post("/clusters/:cluster_id/rotate-join", async (c) => {
    const cluster = c.req.param("cluster_id");
    const { joinToken } = await access.rotateJoinCredential(c.get("auth"), cluster);
    opts.logger.info("agent join credential rotated", { cluster, by: c.get("auth").member.id });
    return c.json({ join_token: joinToken });
  });
  api.get("/members", async (c) => c.json({ members: await access.listMembers(c.get("auth")) }));
  api.post("/members", async (c) => {
    const { member, apiToken } = await access.createMember(c.get("auth"), await body(c));
    opts.logger.info("member created", { member: member.id, by: c.get("auth").member.id });
    return c.json({ member, ...(apiToken ? { api_token: apiToken } : {}) }, 201);
  });
  api.patch("/members/:member_id", async (c) => {
    const member = await access.updateMember(c.get("auth"), c.req.param("member_id"), await body(c));
    return c.json({ member });
  });
  api.get("/members/:member_id/tokens", async (c) => c.json({ tokens: await access.listApiTokens(c.get("auth"), c.req.param("member_id")) }));
  api.post("/members/:member_id/tokens", async (c) => {
    const { token, secret } = await access.createApiToken(c.get("auth"), c.req.param("member_id"), await body(c));
    opts.logger.info("API token created", { member: token.member_id, token: token.id, by: c.get("auth").member.id });
    return c.json({ token, api_token: secret }, 201);
  });
  api.delete("/members/:member_id/tokens/:token_id", async (c) => {
    await access.revokeApiToken(c.get("auth"), c.req.param("member_id"), c.req.param("token_id"));
    return c.body(null, 204);
  });
  api.get("/settings/access", async (c) => {
    const s = await access.settings();
    return c.json({ enabled: s.enabled, max_token_lifetime_seconds: s.maxTokenLifetimeSeconds });
  });
  api.put("/settings/access", async (c) => {
    const s = await access.updateSettings(c.get("auth"), await body(c));
    return c.json({ enabled: s.enabled, max_token_lifetime_seconds: s.maxTokenLifetimeSeconds });
  });

  // ---- tokens
  api.post("/clusters/:cluster_id/k8s-token", enabled, async (c) => {
    const b = await body(c);
    const t = await access.mintToken(c.get("auth"), c.req.param("cluster_id"), { kind: "k8s-token", lifetimeSeconds: b.lifetime_seconds });
    return c.json({ token: t.token, expires_at: t.expiresAt, token_id: t.jti });
  });
  api.post("/clusters/:cluster_id/kubeconfig", enabled, async (c) => {
    const b = await body(c);
    const cluster = c.req.param("cluster_id");
    const auth = c.get("auth");
    const [t] = await mintContexts(access, auth, [cluster], b.lifetime_seconds);
    const kubeconfig = kubeconfigFile(opts.publicUrl(), opts.caPem?.(), auth.member.email, [t!]);
    return c.json({ kubeconfig, expires_at: t!.expires_at, token_id: t!.token_id, namespace: t!.namespace ?? null });
  });
  api.get("/clusters/:cluster_id/access/tokens", enabled, async (c) => c.json({ tokens: await access.listIssuedTokens(c.get("auth"), c.req.param("cluster_id")) }));
  api.delete("/clusters/:cluster_id/access/tokens/:token_id", enabled, async (c) => {
    await access.revokeToken(c.get("auth"), c.req.param("cluster_id"), c.req.param("token_id"));
    return c.body(null, 204);
  });

  // ---- grants
  api.get("/clusters/:cluster_id/access/grants", enabled, async (c) => c.json({ grants: await access.listGrants(c.get("auth"), c.req.param("cluster_id")) }));
  api.post("/clusters/:cluster_id/access/grants", enabled, async (c) => {
    const { grant, created } = await access.createGrant(c.get("auth"), c.req.param("cluster_id"), await body(c));
    return c.json({ grant }, created ? 201 : 200);
  });
  api.delete("/clusters/:cluster_id/access/grants/:grant_id", enabled, async (c) => {
    await access.deleteGrant(c.get("auth"), c.req.param("cluster_id"), c.req.param("grant_id"));
    return c.body(null, 204);
  });
  api.post("/clusters/:cluster_id/access/revoke-all", enabled, async (c) => {
    const r = await access.revokeAll(c.get("auth"), c.req.param("cluster_id"), await body(c));
    return c.json({ revoked_tokens: r.revoked, generation: r.generation });
  });

  api.notFound((c) => c.json({ error: "Not found", reason: "NotFound" }, 404));
  return api;
}

/** The clusters a member can see with online state and their own live grants (`/me/clusters`, the portal's Clusters page). */
export async function myClustersJson(opts: Pick<AccessRoutesOptions, "access" | "isClusterOnline">, auth: AuthContext) {
  const mine = await opts.access.myClusters(auth);
  return mine.map(({ cluster, grants }) => ({ ...clusterJson(cluster), online: opts.isClusterOnline(cluster.id), grants }));
}

/** The kubectl server address of a cluster behind this gateway. */
export function kubeServer(publicUrl: string, cluster: string): string {
  return `${publicUrl}/api/v1/clusters/${cluster}/k8s`;
}

/** One minted kubeconfig context. */
export interface IssuedContext {
  cluster: string;
  context: string;
  token: string;
  token_id: string;
  expires_at: string;
  namespace?: string;
}

/**
 * Mints one kubeconfig token per cluster, each with the namespace default the member's grants
 * give (one namespace-scoped grant: that namespace); on a failure, the ones already minted are revoked.
 */
export async function mintContexts(access: AccessService, auth: AuthContext, clusters: string[], lifetimeSeconds: unknown): Promise<IssuedContext[]> {
  const out: IssuedContext[] = [];
  try {
    for (const cluster of clusters) {
      const t = await access.mintToken(auth, cluster, { kind: "kubeconfig", lifetimeSeconds });
      const { namespace } = defaultNamespace(await access.liveGrants(cluster, auth.member.id));
      out.push({ cluster, context: wardName(cluster), token: t.token, token_id: t.jti, expires_at: t.expiresAt, ...(namespace ? { namespace } : {}) });
    }
  } catch (err) {
    for (const t of out) await access.revokeToken(auth, t.cluster, t.token_id).catch(() => undefined);
    throw err;
  }
  return out;
}

/** The file: one `ward-<cluster>` context each, the first current, an `# expires` line per context. */
export function kubeconfigFile(publicUrl: string, caPem: string | undefined, user: string, issued: IssuedContext[]): string {
  const parts = issued.map((t) => buildKubeconfig(kubeServer(publicUrl, t.cluster), t.cluster, user, t.token, caPem, t.namespace));
  const all = (key: string) => parts.flatMap((p) => p[key] as unknown[]);
  const config = { ...parts[0], clusters: all("clusters"), users: all("users"), contexts: all("contexts") };
  const header = [
    "# Ward kubeconfig: each embedded token stops working at its expiry; download a new file then.",
    ...issued.map((t) => `# expires ${t.expires_at} ${t.context} (token ${t.token_id})`),
  ];
  return `${header.join("\n")}\n${stringify(config, { lineWidth: 0 })}`;
}

export function buildKubeconfig(server: string, cluster: string, user: string, token: string, caPem?: string, namespace?: string): Record<string, unknown> {
  const name = `ward-${cluster}`;
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server, ...(caPem ? { "certificate-authority-data": Buffer.from(caPem).toString("base64") } : {}) } }],
    users: [{ name: `${name}-${user}`, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-${user}`, ...(namespace ? { namespace } : {}) } }],
    "current-context": name,
    preferences: {},
  };
}
