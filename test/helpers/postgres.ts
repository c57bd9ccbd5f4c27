/**
 * A real PostgreSQL server for tests: Debian's server binaries, a fresh data directory under /tmp
 * (initdb as an unprivileged user: `postgres` when the tests run as root), password authentication,
 * listening on 127.0.0.1 only, durability off (tests do not need it). It fails loudly when the
 * server binaries are missing: `scripts/setup` installs them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, type Started } from "./process.ts";
import { freePort } from "../../scripts/kube-env-procs.ts";

export interface Postgres {
  readonly port: number;
  /** With `{ tls: true }`: the CA (PEM file) that signed the server's certificate for 127.0.0.1. */
  readonly caFile: string | undefined;
  /** `postgres://ward:…@127.0.0.1:PORT/DB`. */
  url(database?: string): string;
  /** A new, empty database. */
  createDatabase(name?: string): Promise<string>;
  /** SQL as the superuser (psql), for setup and inspection. */
  psql(sqlText: string, database?: string): string;
  /** Fast shutdown (SIGINT), data kept: `start()` brings it back on the same port. */
  stop(): Promise<void>;
  /** SIGKILL, data kept. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes the data directory. */
  destroy(): Promise<void>;
}

/** The newest Debian PostgreSQL server's bin directory (or WARD_PG_BIN). */
export function postgresBin(): string {
  if (process.env.WARD_PG_BIN) return process.env.WARD_PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql: install Debian's postgresql package (scripts/setup does, as root)");
  return join(root, versions[0]!, "bin");
}


let seq = 0;

/** A CA and a server certificate for 127.0.0.1 it signs (openssl), readable by `owner`. */
function serverCertificate(dir: string, owner: { uid: number; gid: number } | undefined): { caFile: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=ward-test-db-ca", "-keyout", f("ca.key"), "-out", f("ca.crt"));
  ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f("server.key"), "-out", f("server.csr"));
  writeFileSync(f("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", f("san.ext"), "-out", f("server.crt"));
  chmodSync(f("server.key"), 0o600);
  if (owner) for (const n of ["server.key", "server.crt"]) chownSync(f(n), owner.uid, owner.gid);
  return { caFile: f("ca.crt"), cert: f("server.crt"), key: f("server.key") };
}

export async function startPostgres(opts: { tls?: boolean } = {}): Promise<Postgres> {
  const bin = postgresBin();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "ward-pg-"));
  const data = join(dir, "data");
  const password = `pw-${crypto.randomUUID()}`;
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, password + "\n", { mode: 0o600 });
  // As root, the server's commands run as the `postgres` user (spawn's uid/gid: signals reach the server itself).
  let as: { uid: number; gid: number } | undefined;
  if (root) {
    // initdb and postgres refuse to run as root: the files belong to the `postgres` user.
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chmodSync(dir, 0o700);
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
    as = { uid, gid };
  }
  const env = { ...process.env, ...(as && { HOME: dir, USER: "postgres", LOGNAME: "postgres" }) };
  const init = spawnSync(join(bin, "initdb"), ["-D", data, "-U", "ward", `--pwfile=${pwfile}`, "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"], { encoding: "utf8", cwd: dir, env, ...as });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  const port = await freePort();
  const tls = opts.tls ? serverCertificate(dir, as) : undefined;
  let proc: Started | undefined;
  const url = (database = "postgres") => `postgres://ward:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

  const psql = (sqlText: string, database = "postgres"): string => {
    const r = spawnSync(join(bin, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url(database), "-c", sqlText], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };

  const pg: Postgres = {
    port,
    caFile: tls?.caFile,
    url,
    psql,
    async createDatabase(name = `ward_t${process.pid}_${++seq}`) {
      psql(`create database ${name}`);
      return name;
    },
    async start() {
      proc = start(join(bin, "postgres"), [
        "-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`,
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
        "-c", "shared_buffers=32MB", "-c", "log_min_error_statement=panic",
        ...(tls ? ["-c", "ssl=on", "-c", `ssl_cert_file=${tls.cert}`, "-c", `ssl_key_file=${tls.key}`] : []),
      ], { cwd: dir, env, ...as });
      await proc.waitFor(/ready to accept connections/, 30_000);
    },
    async stop() {
      await proc?.stop("SIGINT", 15_000);
      proc = undefined;
    },
    async kill() {
      await proc?.stop("SIGKILL");
      proc = undefined;
    },
    async destroy() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}
