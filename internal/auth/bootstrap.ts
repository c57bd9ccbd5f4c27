/**
 * Local admin bootstrap: a one-time code, printed at the first start (or by `ward gateway
 * bootstrap`), that signs the local admin into the portal once, for a first start with no
 * identity provider. Stored hashed; redeeming it or `--no-bootstrap` turns it off.
 */
import { randomInt } from "node:crypto";
import type { Kysely } from "kysely";
import { hashSecret, type AccessService, type Member } from "../access/index.ts";
import type { Database } from "../store/index.ts";

const KEY = "bootstrap.code";
const DIGITS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

export interface BootstrapOptions {
  db: Kysely<Database>;
  access: AccessService;
  now?: () => number;
  /** Default 24 hours. */
  ttlSeconds?: number;
}

export class Bootstrap {
  #db: Kysely<Database>;
  #access: AccessService;
  #now: () => number;
  #ttl: number;

  constructor(opts: BootstrapOptions) {
    this.#db = opts.db;
    this.#access = opts.access;
    this.#now = opts.now ?? Date.now;
    this.#ttl = opts.ttlSeconds ?? 86400;
  }

  /** A new code for `email` (replacing any earlier one). */
  async issue(email: string): Promise<string> {
    let raw = "";
    for (let i = 0; i < 16; i++) raw += DIGITS[randomInt(DIGITS.length)];
    const code = raw.match(/.{4}/g)!.join("-");
    const value = JSON.stringify({ hash: hashSecret(code), email, expires_at: new Date(this.#now() + this.#ttl * 1000).toISOString() });
    const at = new Date(this.#now()).toISOString();
    await this.#db
      .insertInto("settings")
      .values({ key: KEY, value, updated_at: at })
      .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: at }))
      .execute();
    return code;
  }

  async active(): Promise<boolean> {
    const row = await this.#db.selectFrom("settings").select("value").where("key", "=", KEY).executeTakeFirst();
    return !!row && Date.parse((JSON.parse(row.value) as { expires_at: string }).expires_at) > this.#now();
  }

  async disable(): Promise<void> {
    await this.#db.deleteFrom("settings").where("key", "=", KEY).execute();
  }

  /** The admin the code signs in, once; null for a wrong, used or expired code. */
  async redeem(code: string): Promise<Member | null> {
    const row = await this.#db.selectFrom("settings").select("value").where("key", "=", KEY).executeTakeFirst();
    if (!row) return null;
    const v = JSON.parse(row.value) as { hash: string; email: string; expires_at: string };
    const normalized = code.toUpperCase().replace(/[^0-9A-Z]/g, "").match(/.{1,4}/g)?.join("-") ?? "";
    if (hashSecret(normalized) !== v.hash || Date.parse(v.expires_at) <= this.#now()) return null;
    const r = await this.#db.deleteFrom("settings").where("key", "=", KEY).where("value", "=", row.value).executeTakeFirst();
    if (Number(r.numDeletedRows) !== 1) return null; // redeemed concurrently
    return this.#access.ensureAdmin(v.email);
  }
}
