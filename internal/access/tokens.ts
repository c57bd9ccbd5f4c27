/** Signing and checking k8s tokens: EdDSA only, `kid` picks the key, claims are strict. */
import { errors, jwtVerify, SignJWT, type JWTHeaderParameters, type FlattenedJWSInput } from "jose";
import { TokenRejectedError } from "./errors.ts";
import { TOKEN_ALG, type SigningKey, type SigningKeys } from "./signing_keys.ts";

export interface TokenClaims {
  sub: string;
  aud: string;
  jti: string;
  gen: number;
  exp: number;
}

export async function signToken(
  key: SigningKey,
  c: { issuer: string; subject: string; audience: string; generation: number; jti: string; issuedAt: number; expiresAt: number },
): Promise<string> {
  return new SignJWT({ gen: c.generation })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: key.kid, typ: "JWT" })
    .setIssuer(c.issuer)
    .setSubject(c.subject)
    .setAudience(c.audience)
    .setJti(c.jti)
    .setIssuedAt(c.issuedAt)
    .setNotBefore(c.issuedAt)
    .setExpirationTime(c.expiresAt)
    .sign(key.privateKey);
}

/** Checks signature, algorithm, issuer, audience and time; returns the claims the caller checks further. */
export async function verifyTokenSignature(
  token: string,
  o: { keys: SigningKeys; issuer: string; audience: string; now: number },
): Promise<{ sub: string; jti: string; generation: number; exp: number }> {
  if (token.length > 4096) throw new TokenRejectedError("token too long");
  let payload;
  try {
    ({ payload } = await jwtVerify(
      token,
      async (header: JWTHeaderParameters, _t: FlattenedJWSInput) => {
        if (header.alg !== TOKEN_ALG) throw new TokenRejectedError(`algorithm ${String(header.alg)} not allowed`);
        const k = o.keys.get(header.kid) ?? (await o.keys.find(header.kid));
        if (!k) throw new TokenRejectedError("unknown kid");
        return k.publicKey;
      },
      { algorithms: [TOKEN_ALG], issuer: o.issuer, audience: o.audience, currentDate: new Date(o.now), requiredClaims: ["exp", "nbf", "jti", "sub"], clockTolerance: 5 },
    ));
  } catch (e) {
    if (e instanceof TokenRejectedError) throw e;
    if (e instanceof errors.JWTExpired) throw new TokenRejectedError("token expired", e);
    if (e instanceof errors.JWTClaimValidationFailed) throw new TokenRejectedError(`claim ${e.claim} invalid: ${e.reason}`, e);
    // jose's stable code (ERR_JWS_SIGNATURE_VERIFICATION_FAILED…): class names are minified in the executable.
    throw new TokenRejectedError(`bad token: ${(e as { code?: string }).code ?? (e as Error).name}`, e);
  }
  const gen = payload.gen;
  if (typeof gen !== "number" || !Number.isInteger(gen)) throw new TokenRejectedError("missing generation");
  return { sub: payload.sub!, jti: payload.jti!, generation: gen, exp: payload.exp! };
}
