/**
 * The nkey seed files of scale-out mode: the gateway's NATS user (`SU…`), its system-account user
 * (`SU…`) and the auth callout's signing account (`SA…`). One seed per file, as `nk -gen` and `nsc`
 * write them; `ward gateway nats-init` creates a set.
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createAccount, createUser, fromSeed, type KeyPair } from "@nats-io/nkeys";

export type SeedKind = "user" | "account";
const PREFIX: Record<SeedKind, string> = { user: "SU", account: "SA" };

export class NkeyFileError extends Error {
  override name = "NkeyFileError";
}

/**
 * Reads an nkey seed of the given kind. Throws NkeyFileError naming the file and what is wrong,
 * never the seed. `warn` hears about a file others may read.
 */
export function readSeedFile(path: string, kind: SeedKind, what: string, warn?: (msg: string) => void): KeyPair {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
    if ((statSync(path).mode & 0o077) !== 0) warn?.(`${what} ${path} can be read by other users: chmod 600 it`);
  } catch (e) {
    throw new NkeyFileError(`Cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // The seed may sit inside a .creds/.nk file with comments: take the one line that is a seed.
  const seeds = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^S[A-Z][A-Z2-7]{50,}$/.test(l));
  if (seeds.length !== 1) throw new NkeyFileError(`${what} ${path} must hold exactly one nkey seed (a line starting with ${PREFIX[kind]}), found ${seeds.length}`);
  const seed = seeds[0]!;
  if (!seed.startsWith(PREFIX[kind])) throw new NkeyFileError(`${what} ${path} holds an nkey seed of the wrong kind: expected an ${kind} seed (${PREFIX[kind]}…), got ${seed.slice(0, 2)}…`);
  try {
    return fromSeed(new TextEncoder().encode(seed));
  } catch (e) {
    throw new NkeyFileError(`${what} ${path} holds an invalid nkey seed: ${(e as Error).message}`);
  }
}

/** Creates a seed file (mode 600) and returns its public key. */
export function writeSeedFile(path: string, kind: SeedKind): string {
  const kp = kind === "user" ? createUser() : createAccount();
  writeFileSync(path, new TextDecoder().decode(kp.getSeed()) + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return kp.getPublicKey();
}
