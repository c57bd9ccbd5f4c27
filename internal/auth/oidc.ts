/**
 * The gateway as an OpenID Connect relying party (openid-client): discovery, authorization code
 * with PKCE (S256), state and nonce. Each login attempt is a single-use flow row keyed by the
 * hash of a random cookie value, so a callback only completes in the browser that started it.
 */
import * as oidc from "openid-client";
import type { Kysely } from "kysely";
import { hashSecret, newSecret } from "../access/index.ts";
import type { Database } from "../store/index.ts";
import { AuthError } from "./errors.ts";

export interface OidcOptions {
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only). */
  clientSecret?: string | undefined;
  /** Absolute URL of the gateway's `/auth/callback`. */
  redirectUri: () => string;
  scopes?: string;
  db: Kysely<Database>;
  now?: () => number;
  /** Default 10 minutes. */
  flowTtlSeconds?: number;
}

export interface OidcIdentity {
  sub: string;
  email?: string | undefined;
  /** True only when the provider vouched for `email`: see `identityFromClaims`. */
  emailVerified: boolean;
  name?: string | undefined;
}

/**
 * The identity in a provider's claims. The email counts as verified only when `email_verified`
 * is the boolean `true`: an invitation (the bootstrap admin's address included) binds to the
 * first sign-in with its email, and an allowed domain admits anyone with an address there, so an
 * address the provider never checked must do neither. A missing claim, `false`, and every other
 * value mean unverified. That includes the string "true" a few providers send: OIDC Core defines
 * the claim as a boolean, and reading strings would mean guessing what "1", "yes" or "True" say.
 * Such a provider needs its claim mapping fixed: until then its people can neither bind an
 * invitation nor join by domain (the no-membership page tells them to ask an admin).
 */
export function identityFromClaims(claims: Record<string, unknown>): OidcIdentity {
  const text = (k: string) => (typeof claims[k] === "string" ? (claims[k] as string) : undefined);
  return { sub: claims["sub"] as string, email: text("email"), emailVerified: claims["email_verified"] === true, name: text("name") };
}

function isLoopback(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
}

export class OidcLogin {
  #o: OidcOptions;
  #now: () => number;
  #config: Promise<oidc.Configuration> | undefined;

  constructor(opts: OidcOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    const url = new URL(opts.issuer);
    if (url.protocol !== "https:" && !isLoopback(url)) throw new Error(`OIDC issuer must be https:// (got ${opts.issuer})`);
  }

  /** Discovery, cached; a failed discovery is retried on the next login. */
  #configuration(): Promise<oidc.Configuration> {
    if (!this.#config) {
      const issuer = new URL(this.#o.issuer);
      const auth = this.#o.clientSecret ? oidc.ClientSecretPost(this.#o.clientSecret) : oidc.None();
      this.#config = oidc
        .discovery(issuer, this.#o.clientId, undefined, auth, isLoopback(issuer) && issuer.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : undefined)
        .catch((e: unknown) => {
          this.#config = undefined;
          throw new AuthError("login_failed", `Cannot reach the identity provider ${this.#o.issuer}: ${(e as Error).message}`, { cause: e });
        });
    }
    return this.#config;
  }

  /** Starts a login: the provider URL to redirect to and the flow cookie value to set. */
  async begin(returnTo: string): Promise<{ url: string; flowCookie: string }> {
    const config = await this.#configuration();
    const flowCookie = newSecret("");
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const now = this.#now();
    const ttl = (this.#o.flowTtlSeconds ?? 600) * 1000;
    await this.#o.db.deleteFrom("login_flows").where("expires_at", "<", new Date(now).toISOString()).execute();
    await this.#o.db
      .insertInto("login_flows")
      .values({ id_hash: hashSecret(flowCookie), state, nonce, code_verifier: verifier, return_to: returnTo, created_at: new Date(now).toISOString(), expires_at: new Date(now + ttl).toISOString() })
      .execute();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#o.redirectUri(),
      scope: this.#o.scopes ?? "openid email profile",
      response_type: "code",
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    return { url: url.href, flowCookie };
  }

  /**
   * Completes a login from the callback URL. The flow is consumed first, so a replayed or
   * tampered callback fails; state, nonce and PKCE are checked by openid-client.
   */
  async finish(flowCookie: string | undefined, callbackUrl: URL): Promise<{ identity: OidcIdentity; returnTo: string }> {
    if (!flowCookie) throw new AuthError("login_failed", "This sign-in was not started in this browser (no login cookie): start again");
    const row = await this.#o.db.selectFrom("login_flows").selectAll().where("id_hash", "=", hashSecret(flowCookie)).executeTakeFirst();
    if (!row) throw new AuthError("login_failed", "This sign-in is unknown or was already used: start again");
    await this.#o.db.deleteFrom("login_flows").where("id_hash", "=", row.id_hash).execute();
    if (Date.parse(row.expires_at) <= this.#now()) throw new AuthError("login_failed", "This sign-in took too long: start again");
    const providerError = callbackUrl.searchParams.get("error");
    if (providerError) {
      throw new AuthError("login_failed", `The identity provider refused the sign-in: ${providerError}${callbackUrl.searchParams.get("error_description") ? ` (${callbackUrl.searchParams.get("error_description")})` : ""}`);
    }
    const config = await this.#configuration();
    let claims: Record<string, unknown> | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: row.code_verifier,
        expectedState: row.state,
        expectedNonce: row.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims || typeof idClaims.sub !== "string") throw new AuthError("login_failed", "The identity provider sent no subject");
      claims = { ...idClaims };
      // Many providers put profile claims (email) only in the UserInfo response.
      if (typeof claims["email"] !== "string" && config.serverMetadata().userinfo_endpoint) {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...claims, email: info.email, email_verified: info.email_verified };
      }
    } catch (e) {
      if (e instanceof AuthError) throw e;
      // openid-client's own message is generic ("invalid response encountered"); the cause says which check failed.
      const cause = (e as { cause?: { message?: unknown } }).cause;
      const why = typeof cause?.message === "string" ? cause.message : (e as Error).message;
      throw new AuthError("login_failed", `Sign-in failed: ${why}`, { cause: e });
    }
    return { identity: identityFromClaims(claims), returnTo: row.return_to };
  }
}
