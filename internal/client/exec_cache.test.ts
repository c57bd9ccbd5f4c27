import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { clearExecCache, EXEC_CACHE_DIR, execCacheKey, FAST_PATH_SCRIPT, readServed, writeExecCredential, writeServed } from "./exec_cache.ts";

const V1 = JSON.stringify({ kind: "ExecCredential", apiVersion: "client.authentication.k8s.io/v1", spec: { interactive: false } });
const V1BETA1 = JSON.stringify({ kind: "ExecCredential", apiVersion: "client.authentication.k8s.io/v1beta1", spec: { interactive: false } });

/** The shells kubectl may meet as /bin/sh: Debian's dash and bash in POSIX mode (macOS). */
const shells = [["/bin/sh"], ["bash", "--posix"], ["dash"]].filter(([s]) => spawnSync(s!, ["-c", "exit 0"]).status === 0);

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "ward fast path "));
  // A stand-in for `ward`: says it ran, with its arguments.
  const ward = join(dir, "fake ward");
  writeFileSync(ward, '#!/bin/sh\necho "SLOW $*"\n', { mode: 0o755 });
  const cache = join(dir, "xdg cache");
  const env: Record<string, string> = { PATH: process.env["PATH"]!, HOME: dir, XDG_CACHE_HOME: cache };
  const key = execCacheKey("https://ward.example.com:8443", "prod");
  const cacheEnv = { WARD_CACHE_DIR: join(cache, "ward") };
  return { dir, ward, env, key, cacheEnv };
}

function run(shell: string[], s: ReturnType<typeof setup>, extra: Record<string, string> = {}) {
  const args = ["cluster", "kube-token", "--cluster", "prod", "--gateway", "https://ward.example.com:8443"];
  const r = spawnSync(shell[0]!, [...shell.slice(1), "-c", FAST_PATH_SCRIPT, s.ward, s.key, ...args], { env: { ...s.env, ...extra }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "", "nothing on stderr");
  return r.stdout;
}

for (const shell of shells) {
  test(`fast path (${shell.join(" ")}): serves a good cached credential, hands everything else to ward`, () => {
    const s = setup();
    const slow = "SLOW cluster kube-token --cluster prod --gateway https://ward.example.com:8443\n";
    assert.equal(run(shell, s, { KUBERNETES_EXEC_INFO: V1 }), slow, "no cache entry yet");

    const expires = new Date(Date.now() + 600_000).toISOString();
    writeExecCredential(s.cacheEnv, s.key, "tok-1", expires, Date.now() + 540_000);
    const v1 = JSON.parse(run(shell, s, { KUBERNETES_EXEC_INFO: V1 }));
    assert.deepEqual(v1, { apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "tok-1", expirationTimestamp: expires.replace(/\.\d{3}Z$/, "Z") } });
    assert.equal(readServed(s.cacheEnv, s.key), process.pid, "records the kubectl (its parent) it served");

    assert.equal(run(shell, s, { KUBERNETES_EXEC_INFO: V1 }), slow, "the same kubectl asking again (after a 401) goes to ward");

    writeServed(s.cacheEnv, s.key, 1);
    assert.equal(JSON.parse(run(shell, s, { KUBERNETES_EXEC_INFO: V1BETA1 })).apiVersion, "client.authentication.k8s.io/v1beta1");
    writeServed(s.cacheEnv, s.key, 1);
    assert.equal(JSON.parse(run(shell, s)).apiVersion, "client.authentication.k8s.io/v1beta1", "no KUBERNETES_EXEC_INFO means v1beta1");

    writeServed(s.cacheEnv, s.key, 1);
    assert.equal(run(shell, s, { KUBERNETES_EXEC_INFO: V1, WARD_TOKEN: "robot-token" }), slow, "a WARD_TOKEN always goes to ward");
    assert.equal(run(shell, s, { KUBERNETES_EXEC_INFO: V1.replace("/v1", "/v1alpha1") }), slow, "an apiVersion it does not know goes to ward");
    assert.equal(run(shell, s, { KUBERNETES_EXEC_INFO: V1, WARD_CACHE_DIR: join(s.dir, "elsewhere") }), slow, "WARD_CACHE_DIR is honoured like cacheDir()");
    assert.equal(run(shell, s, { KUBERNETES_EXEC_INFO: V1, XDG_CACHE_HOME: "" }), slow, "an empty XDG_CACHE_HOME means ~/.cache, like cacheDir()");

    writeExecCredential(s.cacheEnv, s.key, "tok-2", expires, Date.now() - 1000);
    assert.equal(run(shell, s, { KUBERNETES_EXEC_INFO: V1 }), slow, "a credential past its good-until goes to ward");
  });
}

test("fast path: at least Debian's /bin/sh and bash --posix were exercised", () => {
  assert.ok(shells.length >= 2, `shells found: ${shells.map((s) => s[0]).join(", ")}`);
});

test("exec cache: one file per apiVersion, replaced (not accumulated), private; cleared as a whole", () => {
  const s = setup();
  const exp = new Date(Date.now() + 600_000).toISOString();
  writeExecCredential(s.cacheEnv, s.key, "a", exp, Date.now() + 100_000);
  writeExecCredential(s.cacheEnv, s.key, "b", exp, Date.now() + 200_000);
  writeServed(s.cacheEnv, s.key, 42);
  const dir = join(s.cacheEnv.WARD_CACHE_DIR, EXEC_CACHE_DIR, s.key);
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 3, files.join(" "));
  assert.match(files[0]!, /^served$/);
  assert.match(files[1]!, /^v1-\d+\.json$/);
  assert.match(files[2]!, /^v1beta1-\d+\.json$/);
  for (const f of files) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(JSON.parse(readFileSync(join(dir, files[1]!), "utf8")).status.token, "b");
  assert.equal(readServed(s.cacheEnv, s.key), 42);
  clearExecCache(s.cacheEnv);
  assert.equal(existsSync(join(s.cacheEnv.WARD_CACHE_DIR, EXEC_CACHE_DIR)), false);
  assert.equal(readServed(s.cacheEnv, s.key), undefined);
});

test("exec cache key: readable, filesystem-safe, one-to-one per gateway and cluster", () => {
  assert.equal(execCacheKey("https://ward.example.com:8443", "prod"), "prod_https_3A_2F_2Fward.example.com_3A8443");
  // URLs that a lossy stem would fold together stay apart.
  const urls = ["https://h.example.com:1", "http://h.example.com:1", "https://h/ward", "https://h-ward", "https://h_ward", "https://h/ward/", "https://h/wärd"];
  const keys = new Set<string>();
  for (const u of urls) for (const c of ["a", "a-b", "b"]) {
    const k = execCacheKey(u, c);
    assert.match(k, /^[a-z0-9][A-Za-z0-9._-]*$/);
    keys.add(k);
  }
  assert.equal(keys.size, urls.length * 3);
});
