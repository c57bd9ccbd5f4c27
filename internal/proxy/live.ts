/**
 * Open proxy streams and what authorized each one, so a revocation closes exactly the streams it
 * took the authority from: one token's, one grant's, one member's, or a whole cluster's.
 *
 * A stream remembers the token id it was opened with and the member's live grants at that moment.
 * A grant "covers" a stream when it applies to the stream's namespace (a cluster-scoped grant
 * applies everywhere; a namespace grant only to requests inside its namespace). When a grant is
 * deleted or expires, a stream it covered closes unless another remembered, still-live grant covers
 * it with a role at least as strong (view < edit < admin < cluster-admin: each role's rules include
 * the weaker ones'), because that grant alone may have been what allowed the request.
 */
import type { Duplex } from "node:stream";

export interface AuthorizingGrant {
  id: string;
  role: string;
  scope: "cluster" | "namespace";
  namespace: string | null;
  /** Clock ms; null: no expiry. */
  expiresAt: number | null;
}

/** What authorized a stream: the token it came with and the member's live grants then. */
export interface StreamAuthority {
  tokenId?: string;
  grants: readonly AuthorizingGrant[];
  /** The request's namespace (`/namespaces/NS/...`), null for cluster-level requests. */
  namespace: string | null;
}

/** Which streams lose their authority. Without member, token or grant: every stream of the cluster. */
export interface Revocation {
  cluster: string;
  member?: string | undefined;
  tokenId?: string | undefined;
  grantId?: string | undefined;
}

const ROLE_RANK: Record<string, number> = { view: 1, edit: 2, admin: 3, "cluster-admin": 4 };

interface Entry {
  cluster: string;
  member: string;
  authority: StreamAuthority | undefined;
}

function covers(g: AuthorizingGrant, namespace: string | null): boolean {
  return g.scope === "cluster" || (namespace !== null && g.namespace === namespace);
}

/** Whether losing grant `grantId` (at time `now`) takes away what authorized the stream. */
function lostWith(a: StreamAuthority, grantId: string, now: number): boolean {
  const lost = a.grants.find((g) => g.id === grantId);
  if (!lost || !covers(lost, a.namespace)) return false;
  const need = ROLE_RANK[lost.role] ?? Infinity;
  return !a.grants.some(
    (g) => g.id !== grantId && (g.expiresAt === null || g.expiresAt > now) && covers(g, a.namespace) && (ROLE_RANK[g.role] ?? 0) >= need,
  );
}

export class LiveStreams {
  #streams = new Map<Duplex, Entry>();

  add(cluster: string, member: string, stream: Duplex, authority?: StreamAuthority): void {
    this.#streams.set(stream, { cluster, member, authority });
    // Errors are handled where the stream is piped; this keeps one raised between pipes (or by
    // revoke() below) from becoming an uncaught 'error' event.
    stream.on("error", () => {});
    stream.once("close", () => this.#streams.delete(stream));
  }

  /** Closes the streams whose authority `r` takes away. Returns how many. */
  revoke(r: Revocation, reason: string, now = Date.now()): number {
    let n = 0;
    for (const [s, e] of [...this.#streams]) {
      if (e.cluster !== r.cluster || (r.member !== undefined && e.member !== r.member)) continue;
      // A stream opened without a recorded authority closes on any revocation that names its member.
      if (r.tokenId !== undefined && e.authority && e.authority.tokenId !== r.tokenId) continue;
      if (r.grantId !== undefined && e.authority && !lostWith(e.authority, r.grantId, now)) continue;
      s.destroy(new Error(reason));
      n++;
    }
    return n;
  }

  /** Closes the member's streams on the cluster (all members' when `member` is undefined). Returns how many. */
  close(cluster: string, member: string | undefined, reason: string): number {
    return this.revoke({ cluster, member }, reason);
  }

  /** Closes every stream (the access feature was switched off). */
  closeAll(reason: string): number {
    const all = [...this.#streams.keys()];
    for (const s of all) s.destroy(new Error(reason));
    return all.length;
  }

  count(): number {
    return this.#streams.size;
  }
}

/**
 * The namespace a Kubernetes API path acts in (`/api/v1/namespaces/NS/...`,
 * `/apis/GROUP/VERSION/namespaces/NS/...`, also after the legacy `watch/` or `proxy/` verb), or
 * null for a cluster-level path. The Namespace object itself (`/api/v1/namespaces/NS`, its
 * `status`, a watch on it) acts in NS too, as kube-apiserver's RequestInfo reads it: a RoleBinding
 * in NS lets its subject get and watch the Namespace NS, so deleting that grant must end such a
 * watch. `path` is raw: NS is percent-decoded, as the API server reads it.
 */
export function requestNamespace(path: string): string | null {
  const m = /^\/(?:api\/[^/]+|apis\/[^/]+\/[^/]+)\/(?:watch\/|proxy\/)?namespaces\/([^/]+)(?:\/|$)/.exec(path);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!; // a malformed escape: the API server refuses the request anyway
  }
}
