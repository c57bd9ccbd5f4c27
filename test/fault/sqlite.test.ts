/**
 * Fault injection on the embedded store: the gateway's data dir (its SQLite file) on a small tmpfs
 * that the test fills up, and another process holding SQLite's write lock during grant writes.
 * Proven: the API answers a clear error (507 StoreFull / 503 with the cause), never hangs or
 * crashes; reads and kubectl keep working; no grant or token record is lost or half-written (the
 * API and the SQLite file itself agree, every created grant and minted token has its audit row);
 * the next write succeeds once space is back or the lock is released.
 *
 * Needs root to mount the tmpfs (the CI container runs as root); elsewhere it fails and says so.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { eventually } from "../helpers/eventually.ts";
import type { KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream } from "../helpers/kubectl.ts";
import { run } from "../helpers/process.ts";
import { useWard, wardBinary, type ApiResult, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "full";
let kube: KubeEnv;
let w: Ward;
let dev: WardMember;
let mnt = "";
let mounted = false;

/** A tmpfs of `size` at a fresh directory; fails with the reason when this process may not mount. */
function mountTmpfs(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), "ward-fault-fs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const why = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
    throw new Error(`This suite mounts a small tmpfs for the gateway's data dir and needs root for it (uid ${process.getuid?.()}): mount -t tmpfs failed: ${why}`);
  }
  return dir;
}

useWard({
  ward: () => {
    mnt = mountTmpfs("24m");
    mounted = true;
    return { cluster: CLUSTER, dataDir: join(mnt, "gw") };
  },
  finally: () => {
    if (mounted) execFileSync("umount", [mnt]);
    if (mnt) rmSync(mnt, { recursive: true, force: true });
  },
}, (s) => ({ kube, w, dev } = s));

const dbFile = () => join(w.dataDir, "ward.db");
const grantsPath = `/api/v1/clusters/${CLUSTER}/access/grants`;

/** Fills the filesystem holding `dir` to the last byte; returns the filler file (delete it to free the space). */
function fill(dir: string): string {
  const file = join(dir, "filler");
  const fd = openSync(file, "w");
  const buf = Buffer.alloc(1 << 20, 0x5a);
  let size = buf.length;
  try {
    for (;;) {
      try {
        writeSync(fd, buf, 0, size);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
        if (size === 1) break;
        size = Math.max(1, size >> 4);
      }
    }
  } finally {
    closeSync(fd);
  }
  assert.equal(statfsSync(dir).bavail, 0, "the filesystem is full");
  return file;
}

/** An API call that must answer (not hang): its time is checked too. */
async function timed(call: () => Promise<ApiResult>, what: string, limitMs = 15_000): Promise<ApiResult> {
  const t0 = Date.now();
  const r = await call();
  assert.ok(Date.now() - t0 < limitMs, `${what} took ${Date.now() - t0} ms`);
  return r;
}

/** The SQLite file, read by another connection (as an operator would, with the sqlite3 shell). */
function readDb<T>(f: (db: Database.Database) => T): T {
  const db = new Database(dbFile(), { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok", "the SQLite file is intact");
    return f(db);
  } finally {
    db.close();
  }
}

test("a full disk: grant writes and token mints answer 507 StoreFull, reads and kubectl keep working, nothing is lost or half-written, and the next write succeeds once space returns", { timeout: 120_000 }, async () => {
  const m = await w.member("filler@example.com");
  const target = { kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig };
  const created: string[] = [];
  const minted: string[] = [];
  const refused: ApiResult[] = [];
  const filler = fill(w.dataDir);
  let freed = false;
  try {
    // SQLite appends to its write-ahead log: a few writes may still fit in space it already holds.
    let i = 0;
    const exhaust = async () => {
      for (const end = i + 200; i < end; i++) {
        const r = await timed(() => w.api(w.adminToken, "POST", grantsPath, { member_id: m.id, role: "view", scope: "namespace", namespace: `full-${i}` }), `grant write ${i}`);
        if (r.status === 201) created.push(r.json.grant.id);
        else return void refused.push(r);
      }
    };
    await exhaust();
    assert.ok(refused.length > 0, `every one of ${created.length} grant writes succeeded on a full disk`);
    // Token mints (5 at most: they are rate-limited per member), each right after a refused grant write.
    let mintRefused: ApiResult | undefined;
    for (let n = 0; n < 5 && !mintRefused; n++) {
      const r = await timed(() => w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {}), `token mint ${n}`);
      if (r.status === 200) {
        minted.push(r.json.token_id);
        await exhaust();
      } else mintRefused = r;
    }
    assert.ok(mintRefused, "a token mint was refused on a full disk");
    assert.equal(mintRefused.status, 507, JSON.stringify(mintRefused.json));
    assert.equal(mintRefused.json.reason, "StoreFull");
    assert.match(mintRefused.json.error, /out of disk space/);
    for (const r of refused) {
      assert.equal(r.status, 507, JSON.stringify(r.json));
      assert.equal(r.json.reason, "StoreFull");
      assert.match(r.json.error, /out of disk space, so nothing was changed: free space on the disk/);
    }
    // The CLI says the same, and exits non-zero.
    const cli = await run(wardBinary, ["cluster", "access", "grant", "--cluster", CLUSTER, "--member", m.email, "--role", "view", "--namespace", "full-cli"], {
      env: { ...process.env, WARD_GATEWAY: w.url, WARD_TOKEN: w.adminToken, WARD_GATEWAY_CA: w.caFile }, timeoutMs: 30_000,
    });
    assert.notEqual(cli.code, 0, cli.stderr);
    assert.match(cli.stderr, /out of disk space/, cli.stderr);
    // The gateway is up and serves reads and kubectl (tokens and grants answer from memory and reads).
    const list = await timed(() => w.api(w.adminToken, "GET", grantsPath), "grant list");
    assert.equal(list.status, 200, JSON.stringify(list.json));
    assert.match(await kubectlOk(target, ["get", "pods", "-n", kube.namespace]), new RegExp(kube.pod));
    assert.equal(w.gateway.child.exitCode, null, "the gateway is running");

    unlinkSync(filler);
    freed = true;
    const after = await timed(() => w.api(w.adminToken, "POST", grantsPath, { member_id: m.id, role: "view", scope: "namespace", namespace: "after-full" }), "grant write after space returned");
    assert.equal(after.status, 201, JSON.stringify(after.json));
    created.push(after.json.grant.id);
    const mint = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
    assert.equal(mint.status, 200, JSON.stringify(mint.json));
    assert.equal((await w.api(mint.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods`)).status, 200, "the token minted after the outage works");
  } finally {
    if (!freed) unlinkSync(filler);
  }

  // Exactly the acknowledged grants exist (the refused ones left no row), by the API and in the file.
  const apiGrants = ((await w.api(w.adminToken, "GET", grantsPath)).json.grants as { id: string; member_id: string }[]).filter((g) => g.member_id === m.id).map((g) => g.id).sort();
  assert.deepEqual(apiGrants, [...created].sort());
  const tokens = (await w.api(w.adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/tokens`)).json.tokens as { id: string }[];
  for (const id of minted) assert.ok(tokens.some((t) => t.id === id), `minted token ${id} is listed`);
  await eventually("every created grant and minted token has its audit row", () => readDb((db) => {
    const fileGrants = (db.prepare("select id from grants where member_id = ? order by id").all(m.id) as { id: string }[]).map((r) => r.id);
    assert.deepEqual(fileGrants, [...created].sort(), "the SQLite file holds exactly the acknowledged grants");
    const fileTokens = new Set((db.prepare("select id from issued_tokens where cluster_id = ?").all(CLUSTER) as { id: string }[]).map((r) => r.id));
    for (const id of minted) assert.ok(fileTokens.has(id), `token ${id} is in the file`);
    const audited = new Set((db.prepare("select grant_ids from audit_events where action = 'grant.create'").all() as { grant_ids: string }[]).map((r) => r.grant_ids));
    const auditedTokens = new Set((db.prepare("select token_id from audit_events where action = 'token.mint'").all() as { token_id: string }[]).map((r) => r.token_id));
    return created.every((id) => audited.has(id)) && minted.every((id) => auditedTokens.has(id));
  }), { timeoutMs: 10_000, intervalMs: 250 });
});

test("another process holds SQLite's write lock: a grant write waits and succeeds when it is released, or answers 503 naming the lock; kubectl and a live watch carry on meanwhile", { timeout: 120_000 }, async (t) => {
  const m = await w.member("busy@example.com");
  const target = { kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig };
  const watch = kubectlStream(target, ["get", "pods", "-w", "-n", kube.namespace]);
  t.after(() => watch.stop());
  await watch.waitFor(kube.pod);
  const grant = (ns: string) => w.api(w.adminToken, "POST", grantsPath, { member_id: m.id, role: "view", scope: "namespace", namespace: ns });
  const locker = new Database(dbFile(), { fileMustExist: true });
  try {
    // Released within the gateway's busy timeout (5 s): the write waits for it and lands.
    locker.exec("BEGIN IMMEDIATE");
    const t0 = Date.now();
    const waiting = grant("busy-waits");
    const k0 = Date.now();
    assert.match(await kubectlOk(target, ["get", "pods", "-n", kube.namespace]), new RegExp(kube.pod));
    const kubectlMs = Date.now() - k0;
    await new Promise((r) => setTimeout(r, 1500 - (Date.now() - t0)));
    locker.exec("COMMIT");
    const ok = await waiting;
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    assert.ok(Date.now() - t0 >= 1400, "the write waited for the lock");
    assert.ok(kubectlMs < 3000, `kubectl took ${kubectlMs} ms while a write waited for the lock`);

    // Held past it: a clear 503, nothing written; the gateway keeps serving kubectl.
    locker.exec("BEGIN IMMEDIATE");
    const t1 = Date.now();
    const refused = await grant("busy-refused");
    const waitedMs = Date.now() - t1;
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.equal(refused.json.reason, "StoreUnavailable");
    assert.match(refused.json.error, /locked by another process, so nothing was changed; try again shortly/);
    assert.equal(refused.headers["retry-after"], "5");
    assert.ok(waitedMs >= 4000 && waitedMs < 12_000, `answered after ${waitedMs} ms (the busy timeout is 5 s)`);
    const k1 = Date.now();
    assert.match(await kubectlOk(target, ["get", "pods", "-n", kube.namespace]), new RegExp(kube.pod));
    assert.ok(Date.now() - k1 < 3000, `kubectl took ${Date.now() - k1} ms while the lock was held`);
  } finally {
    if (locker.inTransaction) locker.exec("COMMIT");
    locker.close();
  }
  const next = await grant("busy-after");
  assert.equal(next.status, 201, JSON.stringify(next.json));
  // The watch lived through it, and exactly the acknowledged grants exist.
  assert.equal(await Promise.race([watch.exited.then(() => "exited"), new Promise((r) => setTimeout(() => r("open"), 100))]), "open", `the watch ended: ${watch.stderr()}`);
  const names = ((await w.api(w.adminToken, "GET", grantsPath)).json.grants as { member_id: string; namespace: string }[]).filter((g) => g.member_id === m.id).map((g) => g.namespace).sort();
  assert.deepEqual(names, ["busy-after", "busy-waits"]);
  readDb((db) => assert.deepEqual((db.prepare("select namespace from grants where member_id = ? order by namespace").all(m.id) as { namespace: string }[]).map((r) => r.namespace), ["busy-after", "busy-waits"]));
});
