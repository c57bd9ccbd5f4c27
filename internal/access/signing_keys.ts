/**
 * The gateway's token signing keys (Ed25519, alg pinned to EdDSA), kept in the store so every
 * gateway of a deployment shares them. Created at first start; `kid` = the JWK thumbprint.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";

export const TOKEN_ALG = "EdDSA";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

/** A kid this gateway does not know makes it re-read the store at most this often. */
const RELOAD_INTERVAL_MS = 10_000;

export class SigningKeys {
  readonly current: SigningKey;
  #byKid: Map<string, SigningKey>;
  #db: Kysely<Database> | undefined;
  #now: () => number;
  #reloadedAt = -Infinity;
  #reloading: Promise<void> | undefined;

  private constructor(keys: SigningKey[], db?: Kysely<Database>, now: () => number = Date.now) {
    this.current = keys[keys.length - 1]!;
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
    this.#db = db;
    this.#now = now;
  }

  /**
   * The key of `kid`, re-reading the store when it is unknown here (another gateway of the
   * deployment created it), at most once per 10 s so unknown kids cannot load the store.
   */
  async find(kid: string | undefined): Promise<SigningKey | undefined> {
    if (kid === undefined) return undefined;
    const hit = this.#byKid.get(kid);
    if (hit || !this.#db) return hit;
    if (!this.#reloading && this.#now() - this.#reloadedAt >= RELOAD_INTERVAL_MS) {
      this.#reloadedAt = this.#now();
      const db = this.#db;
      this.#reloading = readKeys(db)
        .then((keys) => {
          for (const k of keys) if (!this.#byKid.has(k.kid)) this.#byKid.set(k.kid, k);
        })
        .catch(() => {})
        .finally(() => (this.#reloading = undefined));
    }
    await this.#reloading;
    return this.#byKid.get(kid);
  }

  /** Loads every key (newest signs), creating the first one if there is none. */
  static async load(db: Kysely<Database>, now: () => number = Date.now): Promise<SigningKeys> {
    const rows = await db.selectFrom("signing_keys").select("kid").limit(1).execute();
    if (rows.length === 0) {
      const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALG, { extractable: true });
      const priv = await exportJWK(privateKey);
      const pub = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(pub);
      await db
        .insertInto("signing_keys")
        .values({ kid, alg: TOKEN_ALG, private_jwk: JSON.stringify(priv), public_jwk: JSON.stringify(pub), created_at: new Date(now()).toISOString() })
        .onConflict((oc) => oc.column("kid").doNothing())
        .execute();
    }
    const keys = await readKeys(db);
    if (keys.length === 0) throw new Error(`No ${TOKEN_ALG} signing key in the store: remove the signing_keys rows to let the gateway create one`);
    return new SigningKeys(keys, db, now);
  }

  get(kid: string | undefined): SigningKey | undefined {
    return kid === undefined ? undefined : this.#byKid.get(kid);
  }
}

/** Every key of the store, oldest first (the newest signs). */
async function readKeys(db: Kysely<Database>): Promise<SigningKey[]> {
  const rows = await db.selectFrom("signing_keys").selectAll().orderBy("created_at").orderBy("kid").execute();
  const keys: SigningKey[] = [];
  for (const r of rows) {
    if (r.alg !== TOKEN_ALG) continue;
    const publicJwk = JSON.parse(r.public_jwk) as JWK;
    keys.push({
      kid: r.kid,
      privateKey: (await importJWK(JSON.parse(r.private_jwk) as JWK, TOKEN_ALG)) as CryptoKey,
      publicKey: (await importJWK(publicJwk, TOKEN_ALG)) as CryptoKey,
      publicJwk,
    });
  }
  return keys;
}
