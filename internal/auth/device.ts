/**
 * Device authorization (RFC 8628 shape) for `ward login`: the CLI gets a device code and a short
 * user code, a person confirms the user code in the portal after signing in, the CLI polls and
 * receives a CLI session. Codes are single-use and expire in minutes; polling faster than the
 * interval gets `slow_down` (and a longer interval); guessing user codes is rate-limited by the caller.
 */
import type { Kysely } from "kysely";
import { hashSecret, newSecret, type AccessService } from "../access/index.ts";
import type { Database } from "../store/index.ts";
import type { CliSessions, CliTokens } from "./cli_sessions.ts";
import { displayText } from "./display_text.ts";
import { AuthError } from "./errors.ts";
import { newUserCode, normalizeUserCode } from "./user_code.ts";

export const DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface PendingDevice {
  user_code: string;
  client_name: string;
  /** Where `ward login` asked from (null: not recorded), so the approver can tell it is theirs. */
  client_address: string | null;
  created_at: string;
  expires_at: string;
}

export interface DeviceFlowOptions {
  db: Kysely<Database>;
  access: AccessService;
  sessions: CliSessions;
  /** The portal page where people enter the code (absolute URL). */
  verificationUri: () => string;
  now?: () => number;
  /** Default 600 s. */
  ttlSeconds?: number;
  /** Default 5 s (RFC 8628's default). */
  intervalSeconds?: number;
}

export interface DeviceStartOptions {
  /** The address the request came from, shown on the approval page. */
  clientAddress?: string | undefined;
}

const MAX_CLIENT_NAME = 100;
const MAX_CLIENT_ADDRESS = 64;

export class DeviceFlow {
  #o: Required<Omit<DeviceFlowOptions, "now">> & { now: () => number };

  constructor(opts: DeviceFlowOptions) {
    this.#o = { ttlSeconds: 600, intervalSeconds: 5, now: Date.now, ...opts };
  }

  #iso(ms = this.#o.now()): string {
    return new Date(ms).toISOString();
  }

  /** A new code pair. The self-chosen name is stored already cleaned: sessions and pages show it. */
  async start(clientName: unknown, opts: DeviceStartOptions = {}): Promise<DeviceAuthorization> {
    const name = typeof clientName === "string" ? displayText(clientName, MAX_CLIENT_NAME) : "";
    const address = opts.clientAddress ? displayText(opts.clientAddress, MAX_CLIENT_ADDRESS) : "";
    const deviceCode = newSecret("wardd_");
    const now = this.#o.now();
    // Prune what expired a while ago so the table stays small.
    await this.#o.db.deleteFrom("device_codes").where("expires_at", "<", this.#iso(now - 3600_000)).execute();
    for (let attempt = 0; ; attempt++) {
      const userCode = newUserCode();
      try {
        await this.#o.db
          .insertInto("device_codes")
          .values({
            device_code_hash: hashSecret(deviceCode), user_code: userCode, client_name: name || "unnamed device", client_address: address || null, status: "pending", member_id: null,
            interval_s: this.#o.intervalSeconds, last_poll_at: null, created_at: this.#iso(now), expires_at: this.#iso(now + this.#o.ttlSeconds * 1000),
          })
          .execute();
        const uri = this.#o.verificationUri();
        return {
          device_code: deviceCode, user_code: userCode, verification_uri: uri, verification_uri_complete: `${uri}?user_code=${userCode}`,
          expires_in: this.#o.ttlSeconds, interval: this.#o.intervalSeconds,
        };
      } catch (e) {
        if (attempt >= 3) throw e; // a user-code collision, retried with a new code
      }
    }
  }

  /** The token endpoint's answer for a device code: tokens once approved, else the RFC 8628 error. */
  async poll(deviceCode: unknown): Promise<CliTokens> {
    if (typeof deviceCode !== "string" || deviceCode === "") throw new AuthError("invalid_request", "device_code is required");
    const hash = hashSecret(deviceCode);
    const row = await this.#o.db.selectFrom("device_codes").selectAll().where("device_code_hash", "=", hash).executeTakeFirst();
    if (!row || row.status === "consumed") throw new AuthError("invalid_grant", "Unknown or already used device code: run 'ward login' again");
    const now = this.#o.now();
    if (Date.parse(row.expires_at) <= now) throw new AuthError("expired_token", "The code expired before it was approved: run 'ward login' again");
    if (row.status === "denied") throw new AuthError("access_denied", "The sign-in was denied in the portal");
    if (row.status === "pending") {
      const tooSoon = row.last_poll_at !== null && now - Date.parse(row.last_poll_at) < row.interval_s * 1000;
      const interval = tooSoon ? row.interval_s + 5 : row.interval_s;
      await this.#o.db.updateTable("device_codes").set({ last_poll_at: this.#iso(now), interval_s: interval }).where("device_code_hash", "=", hash).execute();
      if (tooSoon) throw new AuthError("slow_down", `Polling too fast: wait ${interval} seconds between polls`);
      throw new AuthError("authorization_pending", "Waiting for the code to be confirmed in the portal");
    }
    // approved: hand out a session exactly once
    const r = await this.#o.db.updateTable("device_codes").set({ status: "consumed" }).where("device_code_hash", "=", hash).where("status", "=", "approved").executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new AuthError("invalid_grant", "Device code already used: run 'ward login' again");
    const member = await this.#o.access.member(row.member_id!);
    if (!member || member.status !== "active") throw new AuthError("access_denied", "This member is disabled: ask an admin");
    return this.#o.sessions.create(member, row.client_name);
  }

  /** A pending, unexpired code for the approval page, or null (unknown, used, expired, malformed). */
  async lookup(userCode: string): Promise<PendingDevice | null> {
    const code = normalizeUserCode(userCode);
    if (!code) return null;
    const row = await this.#o.db.selectFrom("device_codes").select(["user_code", "client_name", "client_address", "created_at", "expires_at", "status"]).where("user_code", "=", code).executeTakeFirst();
    if (!row || row.status !== "pending" || Date.parse(row.expires_at) <= this.#o.now()) return null;
    return { user_code: row.user_code, client_name: row.client_name, client_address: row.client_address, created_at: row.created_at, expires_at: row.expires_at };
  }

  /** Approves (for `memberId`) or denies a pending code; false when it is no longer pending. */
  async decide(userCode: string, memberId: string, approve: boolean): Promise<boolean> {
    const code = normalizeUserCode(userCode);
    if (!code) return false;
    const r = await this.#o.db
      .updateTable("device_codes")
      .set({ status: approve ? "approved" : "denied", member_id: approve ? memberId : null })
      .where("user_code", "=", code)
      .where("status", "=", "pending")
      .where("expires_at", ">", this.#iso())
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
