/**
 * Smoke test of what users run: dist/ward copied alone into an empty directory (no
 * node_modules, no Node on its PATH), and the same commands under `deno run`.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { start } from "../helpers/process.ts";
import { VERSION } from "../../internal/version.ts";
import { NODE_FLAGS } from "../../cmd/node_flags.ts";

const root = new URL("../..", import.meta.url).pathname;
const binary = join(root, "dist", "ward");
const deno = join(root, "node_modules", ".bin", "deno");

interface Launcher {
  name: string;
  cwd: string;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

function launchers(): Launcher[] {
  const empty = mkdtempSync(join(tmpdir(), "ward-smoke-"));
  after(() => rmSync(empty, { recursive: true, force: true }));
  assert.ok(existsSync(binary), `${binary} is missing: run 'npm run build' first`);
  copyFileSync(binary, join(empty, "ward"));
  assert.deepEqual(readdirSync(empty), ["ward"]);
  assert.ok(existsSync(deno), "The deno npm package is missing: run 'npm ci'");
  return [
    // No Node on PATH, nothing beside the binary.
    { name: "dist/ward alone", cwd: empty, cmd: join(empty, "ward"), args: [], env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME } },
    { name: "deno run", cwd: root, cmd: deno, args: ["run", "-A", "cmd/ward.ts"], env: { ...process.env, NO_COLOR: "1" } },
  ];
}

for (const l of launchers()) {
  describe(l.name, () => {
    test("--version prints the version", () => {
      const out = execFileSync(l.cmd, [...l.args, "--version"], { cwd: l.cwd, env: l.env, encoding: "utf8" });
      assert.equal(out.trim(), `ward ${VERSION}`);
    });

    test("an unknown command exits 2 with a clear error", () => {
      try {
        execFileSync(l.cmd, [...l.args, "frobnicate"], { cwd: l.cwd, env: l.env, encoding: "utf8", stdio: "pipe" });
        assert.fail("expected a non-zero exit");
      } catch (e) {
        const err = e as { status: number; stderr: string };
        assert.equal(err.status, 2);
        assert.match(err.stderr, /Unknown command "frobnicate"/);
      }
    });

    test("gateway serves /healthz on a fresh SQLite file and stops cleanly on SIGTERM", async () => {
      const data = mkdtempSync(join(tmpdir(), "ward-data-"));
      after(() => rmSync(data, { recursive: true, force: true }));
      const gw = start(l.cmd, [...l.args, "gateway", "--plain-http", "--listen", "127.0.0.1:0", "--data-dir", data], { cwd: l.cwd, env: l.env });
      try {
        const [, url] = await gw.waitFor(/"gateway listening".*?"url":"([^"]+)"/, 30_000);
        const health = await fetch(`${url}/healthz`);
        assert.equal(health.status, 200);
        assert.deepEqual(await health.json(), { status: "ok", version: VERSION });
        const ready = await fetch(`${url}/readyz`);
        assert.equal(ready.status, 200);
        assert.ok(existsSync(join(data, "ward.db")), "the SQLite store was created");
      } finally {
        const code = await gw.stop("SIGTERM");
        assert.equal(code, 0, `gateway exit code; output:\n${gw.output()}`);
      }
      assert.match(gw.output(), /"gateway stopped"/);
    });
  });
}

describe("dist/ward runtime", () => {
  // `--node-options` adds Node options to the executable: here a preload that reports what each process runs with.
  const dir = mkdtempSync(join(tmpdir(), "ward-flags-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, "report.cjs");
  writeFileSync(report, 'process.stderr.write("runtime=" + JSON.stringify({ pid: process.pid, execArgv: process.execArgv }) + "\\n");');
  const env = { PATH: "/usr/bin:/bin", HOME: dir, WARD_DEBUG: "1" };
  const reports = (text: string) => [...text.matchAll(/^runtime=(.*)$/gm)].map((m) => JSON.parse(m[1]!) as { pid: number; execArgv: string[] });

  test("client commands run without the daemons' V8 flags, and V8 accepts their code caches", () => {
    for (const args of [["--version"], ["cluster", "list"]]) {
      // `cluster list` loads the client part (then fails: nobody is signed in here).
      const r = spawnSync(binary, [`--node-options=--require ${report}`, ...args], { env, encoding: "utf8" });
      const seen = reports(r.stderr);
      assert.equal(seen.length, 1, `${args.join(" ")}: one process, not relaunched:\n${r.stderr}`);
      for (const f of NODE_FLAGS) assert.ok(!seen[0]!.execArgv.includes(f), `${args.join(" ")} runs with ${f}`);
      assert.doesNotMatch(r.stderr, /code cache/i, `${args.join(" ")}: a code cache was rejected`);
    }
  });

  test("gateway relaunches itself (same pid) with NODE_FLAGS and the options it was given, and V8 accepts its code cache", async () => {
    const data = mkdtempSync(join(dir, "data-"));
    const gw = start(binary, [`--node-options=--require ${report}`, "gateway", "--plain-http", "--listen", "127.0.0.1:0", "--data-dir", data], { env });
    try {
      const [, url] = await gw.waitFor(/"gateway listening".*?"url":"([^"]+)"/, 30_000);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      assert.equal(await gw.stop("SIGTERM"), 0, gw.output());
    }
    const seen = reports(gw.output());
    assert.equal(seen.length, 2, gw.output());
    assert.equal(seen[0]!.pid, gw.child.pid);
    assert.equal(seen[1]!.pid, gw.child.pid);
    assert.deepEqual(seen[1]!.execArgv, [...NODE_FLAGS, "--require", report]);
    assert.doesNotMatch(gw.output(), /code cache/i);
  });
});
