/**
 * The proxy's token check: a k8s token becomes the caller's Identity for one cluster, plus the token
 * id and grants that allowed it (so a revocation closes exactly the streams it authorized).
 *
 * It sits in the gateway because it joins two sibling areas the gateway wires: `access` verifies the
 * token, `proxy` defines what an authorized caller is (`Authorize`). Neither imports the other.
 * Clients get a short fixed message; the refusal's reason goes to the log, never the token.
 */
import { AccessError, TokenRejectedError, type TokenContext } from "../access/index.ts";
import type { Logger } from "../log/index.ts";
import { ProxyError, type Authorize } from "../proxy/index.ts";
import { isStoreUnavailable } from "../store/index.ts";

/** The one access call the check needs (AccessService in the gateway; faked in tests). */
export interface TokenVerifier {
  verifyToken(token: string, clusterId: string): Promise<TokenContext>;
}

export function tokenCheck(access: TokenVerifier, logger: Logger): Authorize {
  return async function checkToken({ cluster, token }) {
    if (!token) throw new ProxyError(401, "Unauthorized: no token; get a kubeconfig with 'ward cluster kubeconfig add'");
    try {
      const ctx = await access.verifyToken(token, cluster);
      const grants = ctx.grants.map((g) => ({ id: g.id, role: g.role, scope: g.scope, namespace: g.namespace, expiresAt: g.expires_at === null ? null : Date.parse(g.expires_at) }));
      return { member: ctx.member.id, user: ctx.member.email, groups: [], authority: { tokenId: ctx.jti, grants } };
    } catch (e) {
      if (e instanceof AccessError && e.reason === "FeatureDisabled") throw new ProxyError(404, "Not found", { cause: e });
      // What the in-memory state could not answer needs the database, which is away right now.
      if (isStoreUnavailable(e)) throw new ProxyError(503, "Service unavailable: the gateway cannot reach its database right now; try again shortly", { retryAfter: 5, cause: e });
      if (!(e instanceof TokenRejectedError)) throw e;
      logger.info("token rejected", { cluster, reason: e.detail });
      throw new ProxyError(401, "Unauthorized: the token is not valid for this cluster (expired, revoked, or access removed); get a new one with 'ward cluster kubeconfig add'");
    }
  };
}
