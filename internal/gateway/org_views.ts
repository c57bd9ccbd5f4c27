/**
 * What the portal shows, computed once for both of its faces: the `/org` JSON API and the
 * server-rendered pages read the same views, so a page and the API can never disagree about who
 * sees what. Every rule (who manages, who sees which cluster, which grants are live) is the access
 * service's; these only join its answers (emails beside member ids, online state beside clusters).
 */
import { AccessError, type AccessService, type AuthContext, type Grant } from "../access/index.ts";
import { defaultNamespace } from "../kubeconfig/index.ts";
import { myClustersJson } from "./access_routes.ts";

export interface OrgViewsOptions {
  access: AccessService;
  publicUrl: () => string;
  isClusterOnline: (clusterId: string) => boolean;
}

export type OrgSettingsView = Awaited<ReturnType<OrgViews["settings"]>>;
export type ClusterAccessView = Awaited<ReturnType<OrgViews["clusterAccess"]>>;
export type GrantView = Grant & { member_email: string | null };
export type TokenView = Awaited<ReturnType<OrgViews["tokens"]>>[number];
export type MemberView = Awaited<ReturnType<OrgViews["members"]>>[number];
export type ClusterView = Awaited<ReturnType<OrgViews["clusters"]>>[number];

export class OrgViews {
  #o: OrgViewsOptions;

  constructor(opts: OrgViewsOptions) {
    this.#o = opts;
  }

  /** Member emails by id, as far as the person may list members (admins: everyone; members: themselves). */
  async #emails(auth: AuthContext): Promise<Map<string, string>> {
    return new Map(auth.member.role === "admin" ? (await this.#o.access.listMembers(auth)).map((m) => [m.id, m.email]) : [[auth.member.id, auth.member.email]]);
  }

  /** The feature switch, the person, token lifetimes and whether kubeconfigs may be downloaded here. */
  async settings(auth: AuthContext) {
    const s = await this.#o.access.settings();
    const https = this.#o.publicUrl().startsWith("https:");
    return {
      enabled: s.enabled,
      can_manage: auth.member.role === "admin",
      max_token_lifetime_seconds: s.maxTokenLifetimeSeconds,
      // A mint without lifetime_seconds gets the maximum (the access service's rule).
      default_token_lifetime_seconds: s.maxTokenLifetimeSeconds,
      kubeconfig_download: https ? { available: true as const } : { available: false as const, reason: "InsecureTransport" as const },
      member: { id: auth.member.id, email: auth.member.email, role: auth.member.role },
    };
  }

  /**
   * One cluster as its Access view needs it: the settings, and (when access is on) the cluster,
   * whether it is online, and the person's own live grants. NotFound when the person cannot see it.
   */
  async clusterAccess(auth: AuthContext, clusterId: string) {
    const base = await this.settings(auth);
    if (!base.enabled) return { ...base, cluster: null };
    const mine = (await this.#o.access.myClusters(auth)).find((m) => m.cluster.id === clusterId);
    if (!mine) throw new AccessError("NotFound", auth.member.role === "admin" ? `No cluster ${clusterId}` : `No cluster ${clusterId} that you can access: an admin can grant you access`);
    const grants: Grant[] = mine.cluster.sandbox ? [] : mine.grants;
    const { namespace, namespaces } = defaultNamespace(grants);
    return {
      ...base,
      cluster: { id: mine.cluster.id, name: mine.cluster.name },
      sandbox: mine.cluster.sandbox,
      online: this.#o.isClusterOnline(clusterId),
      has_access: !mine.cluster.sandbox && grants.length > 0,
      my_grants: grants,
      default_namespace: namespace ?? null,
      namespaces,
    };
  }

  /** The clusters the person can see, online state and their own grants. */
  clusters(auth: AuthContext) {
    return myClustersJson(this.#o, auth);
  }

  /** The cluster's grants with the member's email beside the id (admins see everyone's, members their own). */
  async grants(auth: AuthContext, clusterId: string): Promise<GrantView[]> {
    const grants = await this.#o.access.listGrants(auth, clusterId);
    const emails = await this.#emails(auth);
    return grants.map((g) => ({ ...g, member_email: emails.get(g.member_id) ?? null }));
  }

  /** Active members eligible for a grant on the cluster (admins only: the access service refuses others). */
  async members(auth: AuthContext, clusterId: string) {
    const members = await this.#o.access.listMembers(auth);
    await this.#o.access.listGrants(auth, clusterId); // the cluster must exist and support access
    return members.filter((m) => m.status === "active").map((m) => ({ id: m.id, email: m.email, role: m.role, robot: m.robot }));
  }

  /** The k8s tokens issued for the cluster (own; admins: everyone's) with the member's email. */
  async tokens(auth: AuthContext, clusterId: string) {
    const tokens = await this.#o.access.listIssuedTokens(auth, clusterId);
    const emails = await this.#emails(auth);
    return tokens.map((t) => ({ ...t, member_email: emails.get(t.member_id) ?? null }));
  }
}
