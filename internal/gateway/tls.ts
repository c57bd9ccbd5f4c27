/**
 * The gateway's serving certificate: a given cert/key pair, or (for development) one generated
 * into `<data-dir>/tls`: a CA clients trust (`ca.crt`, `ca.key`) and a serving certificate it signs
 * for every host the gateway is reached by (`tls.crt`, `tls.key`). When the hosts change (a new
 * --public-url) or the serving certificate nears its end, only that one is re-issued, by the same
 * CA, so kubeconfigs and agents that trust ca.crt keep working.
 *
 * Gateways before this layout wrote one self-signed CA certificate as ca.crt, its key as tls.key,
 * and served it directly. That pair keeps being served while it covers the hosts; the first time
 * it does not, it is adopted as the CA (its key copied to ca.key) and signs a serving certificate.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { createLogger, type Logger } from "../log/index.ts";
import { ensurePrivateDir, tightenPrivateFile, writePrivateFile } from "../store/index.ts";

export interface TlsMaterial {
  /** The serving certificate, followed by its CA when generated. */
  cert: Buffer;
  key: Buffer;
  /** The CA clients should trust (ca.crt's PEM), when generated. */
  ca?: Buffer;
  /** Where that CA is, when generated. */
  caFile?: string;
}

export interface LoadTlsOptions {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  dataDir: string;
  /** Every host clients reach the gateway by: DNS names, IPv4 and IPv6 addresses (bracketed or not). */
  hosts: readonly string[];
  /** Where to say that a certificate was issued or a key file made private. Default: stderr. */
  logger?: Logger;
}

const DAY = 86_400_000;
/** The longest TLS server certificate Apple platforms accept. */
const LEAF_DAYS = 825;
const CA_DAYS = 3650;
/** A certificate this close to its end is replaced at start, before clients start failing. */
const RENEW_DAYS = 30;
/** Not the legacy CA's "ward-gateway": a leaf named like its issuer would look self-signed to OpenSSL. */
const LEAF_NAME = "Ward gateway server";
const CA_NAME = "Ward gateway development CA";

export async function loadTls(opts: LoadTlsOptions): Promise<TlsMaterial> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error("Pass both --tls-cert and --tls-key, or neither for a generated development certificate");
    return { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) };
  }
  return generatedTls(opts.dataDir, opts.hosts, opts.logger ?? createLogger({ base: { area: "tls" } }));
}

interface Pair {
  cert: string;
  key: string;
}

interface TlsFiles {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

async function generatedTls(dataDir: string, hosts: readonly string[], log: Logger): Promise<TlsMaterial> {
  const dir = join(dataDir, "tls");
  ensurePrivateDir(dataDir);
  ensurePrivateDir(dir);
  const files: TlsFiles = { caCert: join(dir, "ca.crt"), caKey: join(dir, "ca.key"), cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
  tightenPrivateFile(files.caKey, log);
  tightenPrivateFile(files.key, log);
  const names = subjectAltNames(hosts);
  const legacy = readLegacyPair(files);
  const ca = await loadCa(files, legacy, log);
  const current = legacy ?? readPair(files.cert, files.key);
  const problem = current ? leafProblem(current, ca, names, Date.now()) : "there is none yet";
  if (current && !problem) return material(current, ca, files.caCert);
  // The legacy key in tls.key is the CA's: keep it as ca.key before tls.key is replaced.
  if (legacy && legacy.key === ca.key) writePrivateFile(files.caKey, legacy.key);
  const leaf = await issueLeaf(ca, names);
  writePrivateFile(files.key, leaf.key);
  writePrivateFile(files.cert, leaf.cert);
  // A first certificate is no news (the gateway names its CA file at start); a replaced one is.
  log[current ? "info" : "debug"]("issued a serving certificate signed by the gateway's development CA; clients that trust its ca.crt trust it too", {
    reason: problem,
    hosts: names.map(sanText),
    caFile: files.caCert,
  });
  return material(leaf, ca, files.caCert);
}

function material(leaf: Pair, ca: Pair, caFile: string): TlsMaterial {
  const chain = leaf.cert === ca.cert ? leaf.cert : leaf.cert.trimEnd() + "\n" + ca.cert;
  return { cert: Buffer.from(chain), key: Buffer.from(leaf.key), ca: Buffer.from(ca.cert), caFile };
}

/** A gateway from before ca.key: the self-signed ca.crt, served with its key in tls.key. */
function readLegacyPair(files: TlsFiles): Pair | undefined {
  if (existsSync(files.caKey) || existsSync(files.cert)) return undefined;
  return readPair(files.caCert, files.key);
}

function readPair(certFile: string, keyFile: string): Pair | undefined {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

/** The CA on disk while it can still sign; otherwise a new one, which clients must be given. */
async function loadCa(files: TlsFiles, legacy: Pair | undefined, log: Logger): Promise<Pair> {
  const existing = legacy ?? readPair(files.caCert, files.caKey);
  const problem = existing ? caProblem(existing, Date.now()) : undefined;
  if (existing && !problem) return existing;
  const ca = await createCa();
  writePrivateFile(files.caKey, ca.key);
  writePrivateFile(files.caCert, ca.cert);
  if (existsSync(files.cert) || legacy) {
    log.warn("generated a new development CA: give clients the new ca.crt (new kubeconfigs carry it)", { reason: problem ?? "its key is missing", caFile: files.caCert });
  }
  return ca;
}

function caProblem(ca: Pair, now: number): string | undefined {
  return checked(() => {
    const x = new X509Certificate(ca.cert);
    if (!x.ca) return "ca.crt is not a CA certificate";
    if (!x.checkPrivateKey(createPrivateKey(ca.key))) return "ca.crt does not match its key";
    if (Date.parse(x.validTo) - now < RENEW_DAYS * DAY) return `the CA expires on ${x.validTo}`;
    return undefined;
  });
}

/** Why `leaf` cannot be served for `names`, or undefined when it can. */
function leafProblem(leaf: Pair, ca: Pair, names: readonly SanEntry[], now: number): string | undefined {
  return checked(() => {
    const x = new X509Certificate(leaf.cert);
    const issuer = new X509Certificate(ca.cert);
    if (!x.checkPrivateKey(createPrivateKey(leaf.key))) return "the certificate does not match its key";
    if (!x.checkIssued(issuer) || !x.verify(issuer.publicKey)) return "the certificate was not signed by the CA";
    if (Date.parse(x.validTo) - now < RENEW_DAYS * DAY) return `the certificate expires on ${x.validTo}`;
    const missing = names.filter((n) => !covers(x, n));
    if (missing.length) return `the certificate does not name ${missing.map(sanText).join(", ")}`;
    return undefined;
  });
}

/** A damaged file is a reason to issue a new certificate, not a crash. */
function checked(check: () => string | undefined): string | undefined {
  try {
    return check();
  } catch (e) {
    return `it cannot be read (${(e as Error).message})`;
  }
}

/** Subject Alternative Name entries as `selfsigned` takes them: 7 is an IP address, 2 a DNS name. */
export type SanEntry = { type: 7; ip: string } | { type: 2; value: string };

/**
 * Each host as the SAN entry a client matches it against: an address (IPv4, or IPv6 with or
 * without brackets) as an IP entry, anything else as a lower-case DNS name. Duplicates dropped.
 */
export function subjectAltNames(hosts: readonly string[]): SanEntry[] {
  const out = new Map<string, SanEntry>();
  for (const host of hosts) {
    const h = host.trim().replace(/^\[(.*)\]$/, "$1");
    if (!h) continue;
    const ip = h.replace(/%.*$/, ""); // an IPv6 zone (fe80::1%eth0) names a local interface, not the host
    const entry: SanEntry = isIP(ip) ? { type: 7, ip } : { type: 2, value: h.toLowerCase().replace(/\.$/, "") };
    out.set(sanText(entry), entry);
  }
  return [...out.values()];
}

function sanText(n: SanEntry): string {
  return n.type === 7 ? n.ip : n.value;
}

function covers(x: X509Certificate, n: SanEntry): boolean {
  return n.type === 7 ? x.checkIP(n.ip) !== undefined : x.checkHost(n.value, { subject: "never" }) !== undefined;
}

async function createCa(): Promise<Pair> {
  const { generate } = await import("selfsigned");
  const pems = await generate([{ name: "commonName", value: CA_NAME }], {
    keyType: "ec",
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + CA_DAYS * DAY),
    extensions: [
      { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A serving certificate for `names`, signed by `ca`, ending no later than the CA. */
async function issueLeaf(ca: Pair, names: readonly SanEntry[]): Promise<Pair> {
  const { generate } = await import("selfsigned");
  const caEnd = Date.parse(new X509Certificate(ca.cert).validTo);
  const pems = await generate([{ name: "commonName", value: LEAF_NAME }], {
    keyType: "ec",
    algorithm: "sha256",
    notAfterDate: new Date(Math.min(Date.now() + LEAF_DAYS * DAY, caEnd)),
    ca,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [...names] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
