/**
 * The access model's facade: members, clusters, grants, settings and k8s tokens behind one object,
 * so the gateway, the auth flows and the tests hold one `AccessService`. The work is in one file per
 * concept; `AccessState` owns the caches they share (members, clusters, live grants), `K8sTokens`
 * its own (signatures, token ids). Verification (`verifyToken`) reads through caches that every
 * mutation invalidates.
 */
import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import { AccessState, type Invalidation } from "./_access_state.ts";
import { ApiTokens } from "./api_tokens.ts";
import { Clusters } from "./clusters.ts";
import { GrantExpiry } from "./grant_expiry.ts";
import { Grants } from "./grants.ts";
import { K8sTokens } from "./k8s_tokens.ts";
import { Members } from "./members.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { AccessSettingsStore } from "./access_settings_store.ts";
import type { SigningKeys } from "./signing_keys.ts";

export interface AccessServiceOptions {
  db: Kysely<Database>;
  keys: SigningKeys;
  /** Clock in ms; tests move it. */
  now?: () => number;
  /** `iss` of minted tokens. */
  issuer?: string;
  rateLimiter?: RateLimiter;
  /** Whether an agent of the cluster is connected (new grants start `pending` then, else `cluster_offline`). */
  isClusterOnline?: (clusterId: string) => boolean;
}

export class AccessService {
  readonly events: AccessState["events"];
  readonly issuer: string;
  #state: AccessState;
  #expiry: GrantExpiry;
  #settings: AccessSettingsStore;
  #apiTokens: ApiTokens;
  #members: Members;
  #clusters: Clusters;
  #grants: Grants;
  #tokens: K8sTokens;
  #limiter: RateLimiter;

  constructor(opts: AccessServiceOptions) {
    const now = opts.now ?? Date.now;
    const s = (this.#state = new AccessState(opts.db, now));
    this.events = s.events;
    this.issuer = opts.issuer ?? "ward";
    this.#expiry = new GrantExpiry(s);
    this.#settings = new AccessSettingsStore(s);
    this.#apiTokens = new ApiTokens(s);
    this.#members = new Members(s, this.#apiTokens);
    this.#clusters = new Clusters(s);
    this.#grants = new Grants(s, this.#expiry, opts.isClusterOnline ?? (() => false));
    this.#limiter = opts.rateLimiter ?? new RateLimiter({ now });
    this.#tokens = new K8sTokens(s, this.#settings, { keys: opts.keys, issuer: this.issuer, rateLimiter: this.#limiter });
  }

  // ---- changes made by other gateways of a deployment (relay.ts) ----
  /** Drops what another gateway's change made stale here; a grant change may bring an expiry sooner. */
  dropCached(inv: Invalidation): void {
    this.#state.dropCached(inv);
    if (inv.kind === "grants") void this.#expiry.schedule().catch(() => {});
  }
  /** Forgets every cached entry: after a gap in which other gateways' changes may have been missed. */
  dropAllCached(): void {
    this.#state.dropAll();
    void this.#expiry.schedule().catch(() => {});
  }
  /** Counts a token another gateway minted against the member's rate limit here. */
  countRemoteMint(memberId: string): void {
    this.#limiter.take(memberId);
  }

  // ---- grant expiry (grant_expiry.ts) ----
  startExpiryTimer(): void {
    this.#expiry.start();
  }
  stopExpiryTimer(): void {
    this.#expiry.stop();
  }
  /** Emits `revoked` (grant-expired) and `grantsChanged` for grants that lapsed since the last check. */
  checkExpiries(): Promise<number> {
    return this.#expiry.check();
  }

  // ---- settings (access_settings_store.ts) ----
  settings: AccessSettingsStore["get"] = () => this.#settings.get();
  updateSettings: AccessSettingsStore["update"] = (...a) => this.#settings.update(...a);
  requireEnabled: AccessSettingsStore["requireEnabled"] = () => this.#settings.requireEnabled();

  // ---- members (members.ts) and their API tokens (api_tokens.ts) ----
  bootstrapAdmin: Members["bootstrapAdmin"] = (...a) => this.#members.bootstrapAdmin(...a);
  createMember: Members["createMember"] = (...a) => this.#members.createMember(...a);
  memberForLogin: Members["memberForLogin"] = (...a) => this.#members.memberForLogin(...a);
  hasAdmin: Members["hasAdmin"] = () => this.#members.hasAdmin();
  ensureAdmin: Members["ensureAdmin"] = (...a) => this.#members.ensureAdmin(...a);
  member: AccessState["member"] = (...a) => this.#state.member(...a);
  listMembers: Members["listMembers"] = (...a) => this.#members.listMembers(...a);
  updateMember: Members["updateMember"] = (...a) => this.#members.updateMember(...a);
  issueApiToken: ApiTokens["issueApiToken"] = (...a) => this.#apiTokens.issueApiToken(...a);
  createApiToken: ApiTokens["createApiToken"] = (...a) => this.#apiTokens.createApiToken(...a);
  listApiTokens: ApiTokens["listApiTokens"] = (...a) => this.#apiTokens.listApiTokens(...a);
  revokeApiToken: ApiTokens["revokeApiToken"] = (...a) => this.#apiTokens.revokeApiToken(...a);
  authenticateApiToken: ApiTokens["authenticateApiToken"] = (...a) => this.#apiTokens.authenticateApiToken(...a);

  // ---- clusters (clusters.ts) ----
  createCluster: Clusters["createCluster"] = (...a) => this.#clusters.createCluster(...a);
  getCluster: Clusters["getCluster"] = (...a) => this.#clusters.getCluster(...a);
  listClusters: Clusters["listClusters"] = (...a) => this.#clusters.listClusters(...a);
  myClusters: Clusters["myClusters"] = (...a) => this.#clusters.myClusters(...a);
  rotateJoinCredential: Clusters["rotateJoinCredential"] = (...a) => this.#clusters.rotateJoinCredential(...a);
  authenticateAgent: Clusters["authenticateAgent"] = (...a) => this.#clusters.authenticateAgent(...a);
  clusterExists: Clusters["clusterExists"] = (...a) => this.#clusters.clusterExists(...a);
  markSeen: Clusters["markSeen"] = (...a) => this.#clusters.markSeen(...a);

  // ---- grants (grants.ts) ----
  createGrant: Grants["createGrant"] = (...a) => this.#grants.createGrant(...a);
  listGrants: Grants["listGrants"] = (...a) => this.#grants.listGrants(...a);
  deleteGrant: Grants["deleteGrant"] = (...a) => this.#grants.deleteGrant(...a);
  liveGrants: AccessState["liveGrants"] = (...a) => this.#state.liveGrants(...a);
  desiredGrants: Grants["desiredGrants"] = (...a) => this.#grants.desiredGrants(...a);
  setGrantStatus: Grants["setGrantStatus"] = (...a) => this.#grants.setGrantStatus(...a);
  setClusterOnline: Grants["setClusterOnline"] = (...a) => this.#grants.setClusterOnline(...a);

  // ---- k8s tokens (k8s_tokens.ts) ----
  mintToken: K8sTokens["mintToken"] = (...a) => this.#tokens.mintToken(...a);
  listIssuedTokens: K8sTokens["listIssuedTokens"] = (...a) => this.#tokens.listIssuedTokens(...a);
  revokeToken: K8sTokens["revokeToken"] = (...a) => this.#tokens.revokeToken(...a);
  revokeAll: K8sTokens["revokeAll"] = (...a) => this.#tokens.revokeAll(...a);
  verifyToken: K8sTokens["verifyToken"] = (...a) => this.#tokens.verifyToken(...a);
}
