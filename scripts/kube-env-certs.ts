/**
 * Certificates for a throwaway control plane, made with the openssl CLI: a CA, a serving
 * certificate for 127.0.0.1/localhost (used by kube-apiserver and kwok's kubelet endpoint), an admin
 * client certificate in group system:masters, and the service-account key pair.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Certs {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

export const adminUser = "ward-admin";

export function makeCerts(dir: string): Certs {
  const p = (name: string) => join(dir, name);
  const c: Certs = {
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    servingCert: p("serving.crt"),
    servingKey: p("serving.key"),
    adminCert: p("admin.crt"),
    adminKey: p("admin.key"),
    saKey: p("sa.key"),
    saPub: p("sa.pub"),
  };
  // EC P-256 keys: instant to generate, accepted by Go (kube-apiserver, kwok) and both kubectls.
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", c.caKey, "-out", c.caCert, "-days", "30", "-subj", "/CN=ward-test-ca",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);

  signed(c, "serving", "/CN=localhost", [
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "extendedKeyUsage=serverAuth",
    "keyUsage=critical,digitalSignature,keyEncipherment",
  ], c.servingCert, c.servingKey, ec, dir);
  signed(c, "admin", `/O=system:masters/CN=${adminUser}`, [
    "extendedKeyUsage=clientAuth",
    "keyUsage=critical,digitalSignature,keyEncipherment",
  ], c.adminCert, c.adminKey, ec, dir);

  openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", c.saKey]);
  openssl(["pkey", "-in", c.saKey, "-pubout", "-out", c.saPub]);
  return c;
}

function signed(c: Certs, name: string, subj: string, exts: string[], cert: string, key: string, ec: string[], dir: string): void {
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, exts.join("\n") + "\n");
  openssl(["req", "-new", ...ec, "-keyout", key, "-out", csr, "-subj", subj]);
  openssl(["x509", "-req", "-in", csr, "-CA", c.caCert, "-CAkey", c.caKey, "-CAcreateserial", "-out", cert, "-days", "30",
    "-extfile", extFile]);
}

function openssl(args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}. Is openssl installed (bash scripts/setup)?`);
  }
}
