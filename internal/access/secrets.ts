/** Random ids and bearer secrets; secrets are stored only as SHA-256 hashes (they are 256-bit random, so no KDF is needed). */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export function newId(prefix: string): string {
  return prefix + randomBytes(10).toString("hex");
}

/** A high-entropy bearer secret, e.g. `wardp_…` (API token) or `wardj_…` (agent join credential). */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(hash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
