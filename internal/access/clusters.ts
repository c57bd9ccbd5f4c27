/** Clusters: registration, the agents' join credential, and which clusters a member can reach. */
import { requireAdmin, type AccessState } from "./_access_state.ts";
import { toCluster, toGrant } from "./_rows.ts";
import { AccessError } from "./errors.ts";
import { hashSecret, newSecret, secretMatches } from "./secrets.ts";
import type { AuthContext, Cluster, Grant } from "./types.ts";
import { isValidClusterId } from "../validate/index.ts";
import { parseClusterId } from "./validate.ts";

export class Clusters {
  #s: AccessState;

  constructor(state: AccessState) {
    this.#s = state;
  }

  async createCluster(actor: AuthContext, input: { id?: unknown; name?: unknown; sandbox?: unknown }): Promise<{ cluster: Cluster; joinToken: string }> {
    requireAdmin(actor);
    const id = parseClusterId(input.id);
    const name = input.name === undefined ? id : input.name;
    if (typeof name !== "string" || name.length < 1 || name.length > 255) throw new AccessError("Invalid", "name must be a string of 1-255 characters");
    if (input.sandbox !== undefined && typeof input.sandbox !== "boolean") throw new AccessError("Invalid", "sandbox must be true or false");
    if (await this.#s.db.selectFrom("clusters").select("id").where("id", "=", id).executeTakeFirst()) {
      throw new AccessError("Conflict", `Cluster ${id} already exists: pick another id`);
    }
    const joinToken = newSecret("wardj_");
    const created_at = this.#s.iso();
    await this.#s.db
      .insertInto("clusters")
      .values({ id, name, sandbox: input.sandbox ? 1 : 0, agent_credential_hash: hashSecret(joinToken), access_generation: 1, last_seen_at: null, created_at })
      .execute();
    this.#s.invalidate({ kind: "cluster", id });
    return { cluster: (await this.getCluster(id))!, joinToken };
  }

  async getCluster(id: string): Promise<Cluster | null> {
    const r = await this.#s.db.selectFrom("clusters").selectAll().where("id", "=", id).executeTakeFirst();
    return r ? toCluster(r) : null;
  }

  /** Admins see every cluster; members only those they hold a live grant on. */
  async listClusters(actor: AuthContext): Promise<Cluster[]> {
    if (actor.member.role !== "admin") return (await this.myClusters(actor)).map((c) => c.cluster);
    const rows = await this.#s.db.selectFrom("clusters").selectAll().orderBy("id").execute();
    return rows.map(toCluster);
  }

  /**
   * Replaces a cluster's agent join credential (returned once). The old one is refused from now
   * on, and the agents connected with it are disconnected (`agentCredentialRotated`).
   */
  async rotateJoinCredential(actor: AuthContext, clusterId: string): Promise<{ joinToken: string }> {
    requireAdmin(actor);
    const id = isValidClusterId(clusterId) ? clusterId : undefined;
    const joinToken = newSecret("wardj_");
    const r = id === undefined ? undefined : await this.#s.db.updateTable("clusters").set({ agent_credential_hash: hashSecret(joinToken) }).where("id", "=", id).executeTakeFirst();
    if (!r || Number(r.numUpdatedRows) === 0) throw new AccessError("NotFound", `No cluster ${clusterId}`);
    this.#s.events.emit("agentCredentialRotated", clusterId);
    return { joinToken };
  }

  /** Checks an agent's join credential (constant-time on the hash). */
  async authenticateAgent(clusterId: string, credential: string): Promise<boolean> {
    const r = await this.#s.db.selectFrom("clusters").select("agent_credential_hash").where("id", "=", clusterId).executeTakeFirst();
    return !!r && secretMatches(credential, r.agent_credential_hash);
  }

  /** Whether the cluster exists (cached, like the verifier's view of it). */
  async clusterExists(clusterId: string): Promise<boolean> {
    return isValidClusterId(clusterId) && (await this.#s.clusterState(clusterId)) !== null;
  }

  async markSeen(clusterId: string): Promise<void> {
    await this.#s.db.updateTable("clusters").set({ last_seen_at: this.#s.iso() }).where("id", "=", clusterId).execute();
  }

  /**
   * The clusters a member can reach, with their own live grants: every cluster for admins
   * (who manage them; using one still needs a grant), else the clusters they hold a grant on.
   */
  async myClusters(actor: AuthContext): Promise<{ cluster: Cluster; grants: Grant[] }[]> {
    const now = this.#s.iso();
    const grants = (await this.#s.db.selectFrom("grants").selectAll().where("member_id", "=", actor.member.id).execute())
      .map(toGrant)
      .filter((g) => g.expires_at === null || g.expires_at > now);
    let q = this.#s.db.selectFrom("clusters").selectAll().orderBy("id");
    if (actor.member.role !== "admin") {
      const ids = [...new Set(grants.map((g) => g.cluster_id))];
      if (!ids.length) return [];
      q = q.where("id", "in", ids);
    }
    return (await q.execute()).map((r) => ({ cluster: toCluster(r), grants: grants.filter((g) => g.cluster_id === r.id) }));
  }
}
