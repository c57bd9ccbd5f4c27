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

export class SigningKeys {
  readonly current: SigningKey;
  #byKid: Map<string, SigningKey>;

  private constructor(keys: SigningKey[]) {
    this.current = keys[keys.length - 1]!;
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
  }

  /** Loads every key (newest signs), creating the first one if there is none. */
  static async load(db: Kysely<Database>, now: () => number = Date.now): Promise<SigningKeys> {
    let rows = await db.selectFrom("signing_keys").selectAll().orderBy("created_at").execute();
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
      rows = await db.selectFrom("signing_keys").selectAll().orderBy("created_at").execute();
    }
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
    if (keys.length === 0) throw new Error(`No ${TOKEN_ALG} signing key in the store: remove the signing_keys rows to let the gateway create one`);
    return new SigningKeys(keys);
  }

  get(kid: string | undefined): SigningKey | undefined {
    return kid === undefined ? undefined : this.#byKid.get(kid);
  }
}
