import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { createServer, get } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { generate } from "selfsigned";
import { createLogger } from "../log/index.ts";
import { loadTls, subjectAltNames, type TlsMaterial } from "./tls.ts";

const LOCAL = ["127.0.0.1", "localhost"];

function withDataDir(fn: (dataDir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "ward-tls-"));
    try {
      await fn(join(dir, "data"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }) };
}

/** The first certificate of a PEM chain: the one the server presents as its own. */
const leafOf = (m: TlsMaterial) => new X509Certificate(m.cert);
/** What `tls.connect` checks a host against, for the leaf of `m`. */
const identityError = (m: TlsMaterial, host: string) => checkServerIdentity(host, leafOf(m).toLegacyObject() as PeerCertificate);

/** A real handshake: a server with `m`, a client trusting only `ca`, asking for `servername`. */
async function handshake(m: TlsMaterial, servername: string, ca: Buffer | string): Promise<number | undefined> {
  const server = createServer({ cert: m.cert, key: m.key }, (_req, res) => res.end("ok"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      get({ host: "127.0.0.1", port, servername, ca, agent: false, path: "/" }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on("error", reject);
    });
  } finally {
    server.close();
  }
}

test("each host goes into the SAN as its type: IPv4 and IPv6 addresses as IPs, the rest as DNS names", () => {
  assert.deepEqual(subjectAltNames(["127.0.0.1", "::1", "[2001:db8::1]", "fe80::1%eth0", "Ward.Example.COM.", "localhost", "", "1.2.3", "::1"]), [
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
    { type: 7, ip: "2001:db8::1" },
    { type: 7, ip: "fe80::1" },
    { type: 2, value: "ward.example.com" },
    { type: 2, value: "localhost" },
    { type: 2, value: "1.2.3" },
  ]);
});

test("a generated certificate names every host (DNS, IPv4, IPv6) and a client trusting ca.crt connects by the public name", withDataDir(async (dataDir) => {
  const m = await loadTls({ dataDir, hosts: [...LOCAL, "::1", "ward.example.com"], logger: capture().logger });
  for (const host of [...LOCAL, "::1", "ward.example.com"]) assert.equal(identityError(m, host), undefined, host);
  assert.ok(identityError(m, "other.example.com"));
  assert.equal(m.caFile, join(dataDir, "tls", "ca.crt"));
  assert.deepEqual(m.ca, readFileSync(m.caFile!));
  assert.equal(await handshake(m, "ward.example.com", readFileSync(m.caFile!)), 200);
}));

test("a host the certificate does not name re-issues the serving certificate with the same CA, and says so", withDataDir(async (dataDir) => {
  const first = await loadTls({ dataDir, hosts: LOCAL, logger: capture().logger });
  const caBefore = readFileSync(first.caFile!);
  assert.ok(identityError(first, "ward.example.com"), "not named yet");

  const { lines, logger } = capture();
  const second = await loadTls({ dataDir, hosts: [...LOCAL, "ward.example.com"], logger });
  assert.equal(identityError(second, "ward.example.com"), undefined);
  assert.deepEqual(readFileSync(second.caFile!), caBefore, "ca.crt is unchanged");
  const ca = new X509Certificate(caBefore);
  assert.ok(leafOf(second).checkIssued(ca) && leafOf(second).verify(ca.publicKey), "signed by the same CA");
  assert.equal(await handshake(second, "ward.example.com", caBefore), 200);
  assert.equal(lines.length, 1);
  assert.match(String(lines[0]!.msg), /issued a serving certificate signed by the gateway's development CA/);
  assert.equal(lines[0]!.reason, "the certificate does not name ward.example.com");

  const third = await loadTls({ dataDir, hosts: [...LOCAL, "ward.example.com"], logger });
  assert.deepEqual(third.cert, second.cert, "the same hosts again: nothing re-issued");
  assert.equal(lines.length, 1);
}));

test("a serving certificate near its end is re-issued by the same CA", withDataDir(async (dataDir) => {
  const first = await loadTls({ dataDir, hosts: LOCAL, logger: capture().logger });
  const tlsDir = join(dataDir, "tls");
  const ca = { cert: readFileSync(join(tlsDir, "ca.crt"), "utf8"), key: readFileSync(join(tlsDir, "ca.key"), "utf8") };
  const soon = await generate([{ name: "commonName", value: "soon" }], {
    keyType: "ec", algorithm: "sha256", ca, notAfterDate: new Date(Date.now() + 10 * 86_400_000),
    extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] }],
  });
  writeFileSync(join(tlsDir, "tls.crt"), soon.cert);
  writeFileSync(join(tlsDir, "tls.key"), soon.private);
  const { lines, logger } = capture();
  const second = await loadTls({ dataDir, hosts: LOCAL, logger });
  assert.notDeepEqual(second.cert, first.cert);
  assert.ok(Date.parse(leafOf(second).validTo) > Date.now() + 800 * 86_400_000);
  assert.match(String(lines[0]!.reason), /^the certificate expires on /);
}));

/** What gateways before ca.key wrote: one self-signed CA certificate, served as is, its key as tls.key. */
async function writeLegacy(dataDir: string, hosts: string[]): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: "commonName", value: "ward-gateway" }], {
    keyType: "ec",
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + 825 * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h })) },
    ],
  });
  const tlsDir = join(dataDir, "tls");
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(tlsDir, "tls.key"), pems.private, { mode: 0o644 });
  chmodSync(join(tlsDir, "tls.key"), 0o644); // as a wide umask or a copy may have left it
  writeFileSync(join(tlsDir, "ca.crt"), pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private };
}

test("a legacy self-signed certificate that names every host is still served as is", withDataDir(async (dataDir) => {
  const legacy = await writeLegacy(dataDir, LOCAL);
  const { lines, logger } = capture();
  const m = await loadTls({ dataDir, hosts: LOCAL, logger });
  assert.equal(m.cert.toString(), legacy.cert);
  assert.equal(m.key.toString(), legacy.key);
  assert.equal(statSync(join(dataDir, "tls", "tls.key")).mode & 0o777, 0o600, "its key made private");
  assert.deepEqual(lines.map((l) => l.file), [join(dataDir, "tls", "tls.key")]);
}));

test("a legacy self-signed certificate becomes the CA of a new serving certificate when a host is missing", withDataDir(async (dataDir) => {
  const legacy = await writeLegacy(dataDir, LOCAL);
  const m = await loadTls({ dataDir, hosts: [...LOCAL, "ward.example.com"], logger: capture().logger });
  const tlsDir = join(dataDir, "tls");
  assert.equal(readFileSync(join(tlsDir, "ca.crt"), "utf8"), legacy.cert, "ca.crt is unchanged");
  assert.equal(readFileSync(join(tlsDir, "ca.key"), "utf8"), legacy.key, "its key is kept as ca.key");
  assert.notEqual(m.key.toString(), legacy.key);
  assert.equal(identityError(m, "ward.example.com"), undefined);
  // Kubeconfigs made before carry the legacy certificate as their CA: they keep connecting.
  assert.equal(await handshake(m, "ward.example.com", legacy.cert), 200);
  assert.equal(await handshake(m, "localhost", legacy.cert), 200);
  const again = await loadTls({ dataDir, hosts: [...LOCAL, "ward.example.com"], logger: capture().logger });
  assert.deepEqual(again.cert, m.cert, "migrated once");
}));

test("generated keys and certificates are 0600 in a 0700 directory", withDataDir(async (dataDir) => {
  const old = process.umask(0);
  try {
    await loadTls({ dataDir, hosts: LOCAL, logger: capture().logger });
  } finally {
    process.umask(old);
  }
  const tlsDir = join(dataDir, "tls");
  for (const d of [dataDir, tlsDir]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
  for (const f of ["ca.key", "ca.crt", "tls.key", "tls.crt"]) assert.equal(statSync(join(tlsDir, f)).mode & 0o777, 0o600, f);
}));

test("a data directory others can enter is refused before any key is written", withDataDir(async (dataDir) => {
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  await assert.rejects(loadTls({ dataDir, hosts: LOCAL, logger: capture().logger }), new RegExp(`directory ${dataDir} \\(mode 0755\\).*run 'chmod 700 ${dataDir}'`));
  assert.ok(!existsSync(join(dataDir, "tls")));
}));
