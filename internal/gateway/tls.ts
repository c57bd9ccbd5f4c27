/**
 * The gateway's serving certificate: a given cert/key pair, or (for development) a self-signed
 * one generated once into the data directory, with its certificate written out as `ca.crt` so
 * kubeconfigs and agents can trust it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The PEM clients should trust (the self-signed cert), when generated. */
  caFile?: string;
}

export async function loadTls(opts: { certFile?: string; keyFile?: string; dataDir: string; hosts: string[] }): Promise<TlsMaterial> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error("Pass both --tls-cert and --tls-key, or neither for a generated development certificate");
    return { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) };
  }
  const dir = join(opts.dataDir, "tls");
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "tls.key");
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const { generate } = await import("selfsigned");
    const altNames = opts.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h }));
    const pems = await generate([{ name: "commonName", value: "ward-gateway" }], {
      keyType: "ec",
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 825 * 86_400_000),
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyCertSign: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames },
      ],
    } as never);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(`${keyFile}.tmp`, pems.private, { mode: 0o600 });
    renameSync(`${keyFile}.tmp`, keyFile);
    writeFileSync(`${certFile}.tmp`, pems.cert, { mode: 0o644 });
    renameSync(`${certFile}.tmp`, certFile);
  }
  return { cert: readFileSync(certFile), key: readFileSync(keyFile), caFile: certFile };
}
