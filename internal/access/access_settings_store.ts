/** The access settings (feature on/off, the maximum k8s token lifetime), cached until changed. */
import { requireAdmin, type AccessState } from "./_access_state.ts";
import { AccessError } from "./errors.ts";
import type { AccessSettings, AuthContext } from "./types.ts";

export const DEFAULT_MAX_TOKEN_LIFETIME_S = 3600;
const SETTING_ENABLED = "access.enabled";
const SETTING_MAX_LIFETIME = "access.max_token_lifetime_seconds";

export class AccessSettingsStore {
  #s: AccessState;

  constructor(state: AccessState) {
    this.#s = state;
  }

  async get(): Promise<AccessSettings> {
    if (this.#s.settings) return this.#s.settings;
    const rows = await this.#s.db.selectFrom("settings").selectAll().where("key", "in", [SETTING_ENABLED, SETTING_MAX_LIFETIME]).execute();
    const get = (k: string) => rows.find((r) => r.key === k)?.value;
    const s: AccessSettings = {
      enabled: get(SETTING_ENABLED) !== "false",
      maxTokenLifetimeSeconds: Number(get(SETTING_MAX_LIFETIME) ?? DEFAULT_MAX_TOKEN_LIFETIME_S),
    };
    this.#s.settings = s;
    return s;
  }

  async update(actor: AuthContext, patch: { enabled?: unknown; max_token_lifetime_seconds?: unknown }): Promise<AccessSettings> {
    requireAdmin(actor);
    const updates: [string, string][] = [];
    if (patch.enabled !== undefined) {
      if (typeof patch.enabled !== "boolean") throw new AccessError("Invalid", "enabled must be true or false");
      updates.push([SETTING_ENABLED, String(patch.enabled)]);
    }
    if (patch.max_token_lifetime_seconds !== undefined) {
      const v = patch.max_token_lifetime_seconds;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 60 || v > 30 * 86400) {
        throw new AccessError("Invalid", "max_token_lifetime_seconds must be an integer between 60 and 2592000 (30 days)");
      }
      updates.push([SETTING_MAX_LIFETIME, String(v)]);
    }
    const at = this.#s.iso();
    for (const [key, value] of updates) {
      await this.#s.db
        .insertInto("settings")
        .values({ key, value, updated_at: at })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: at }))
        .execute();
    }
    const wasEnabled = this.#s.settings?.enabled ?? true;
    this.#s.invalidate({ kind: "settings" });
    const s = await this.get();
    if (wasEnabled && !s.enabled) this.#s.events.emit("disabled");
    return s;
  }

  async requireEnabled(): Promise<void> {
    if (!(await this.get()).enabled) throw new AccessError("FeatureDisabled", "Not found");
  }
}
