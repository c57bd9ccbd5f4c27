import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { hasNodeFlags, MALLOC_TUNABLES, mallocTunables, NODE_FLAGS, relaunchArgs, relaunchWithNodeFlags } from "./node_flags.ts";

const tsx = ["--require", "/app/node_modules/tsx/dist/preflight.cjs", "--import", "file:///app/node_modules/tsx/dist/loader.mjs"];

test("from source (node or tsx): the flags go first, the loader's options and the script's arguments follow unchanged", () => {
  const argv = relaunchArgs({ execPath: "/usr/bin/node", execArgv: tsx, argv: ["/usr/bin/node", "/app/cmd/ward.ts", "gateway", "--listen", "127.0.0.1:0"], sea: false });
  assert.deepEqual(argv, ["/usr/bin/node", ...NODE_FLAGS, ...tsx, "/app/cmd/ward.ts", "gateway", "--listen", "127.0.0.1:0"]);
  assert.ok(hasNodeFlags(argv.slice(1)));
});

test("the single executable gets them through --node-options, with the options it already had", () => {
  const argv = relaunchArgs({ execPath: "/usr/local/bin/ward", execArgv: ["--max-old-space-size=200", "--require", "/opt/with space/x.cjs"], argv: ["/usr/local/bin/ward", "ward", "agent", "--cluster", "prod"], sea: true });
  assert.deepEqual(argv, ["/usr/local/bin/ward", `--node-options=${NODE_FLAGS.join(" ")} --max-old-space-size=200 --require "/opt/with space/x.cjs"`, "agent", "--cluster", "prod"]);
});

test("a flag already present is not repeated", () => {
  const argv = relaunchArgs({ execPath: "/usr/bin/node", execArgv: [NODE_FLAGS[0]!], argv: ["/usr/bin/node", "x.ts"], sea: false });
  assert.deepEqual(argv, ["/usr/bin/node", ...NODE_FLAGS, "x.ts"]);
});

test("this Node accepts every flag (an unknown V8 flag would stop gateway and agent at start)", () => {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, "-e", "0"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
});

test("relaunchWithNodeFlags replaces the process once: same pid, the flags set, arguments and environment kept", () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-relaunch-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, "probe.ts");
  writeFileSync(script, [
    `import { relaunchWithNodeFlags } from ${JSON.stringify(new URL("./node_flags.ts", import.meta.url).pathname)};`,
    `process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, args: process.argv.slice(2), keep: process.env.KEEP_ME, malloc: process.env.GLIBC_TUNABLES }) + "\\n");`,
    `relaunchWithNodeFlags();`,
  ].join("\n"));
  const r = spawnSync(process.execPath, [script, "a b", "--c"], { encoding: "utf8", env: { ...process.env, KEEP_ME: "yes" } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { pid: number; execArgv: string[]; args: string[]; keep: string; malloc?: string });
  assert.equal(lines.length, 2, `expected one relaunch, got:\n${r.stdout}`);
  const [first, second] = lines as [(typeof lines)[0], (typeof lines)[0]];
  assert.equal(first.pid, second.pid);
  assert.equal(first.pid, r.pid);
  assert.ok(!hasNodeFlags(first.execArgv));
  assert.deepEqual(second.execArgv.slice(0, NODE_FLAGS.length), [...NODE_FLAGS]);
  assert.deepEqual(second.args, ["a b", "--c"]);
  assert.equal(second.keep, "yes");
  assert.equal(second.malloc, mallocTunables(process.env.GLIBC_TUNABLES));
});

test("an exec that fails leaves the process running without the flags, with a warning", () => {
  assert.ok(!hasNodeFlags() && !process.env.WARD_NODE_FLAGS_RELAUNCHED, "the test runner itself runs without the flags");
  const warnings: string[] = [];
  let called = 0;
  relaunchWithNodeFlags(() => {
    called++;
    throw Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
  }, (m) => warnings.push(m));
  assert.equal(called, 1);
  assert.match(warnings.join(""), /could not restart with its V8 flags \(ENOENT: no such file\); running without them/);
});

test("malloc tunables: ours first, so that the ones a user set win", () => {
  assert.equal(mallocTunables(undefined), MALLOC_TUNABLES);
  assert.equal(mallocTunables("glibc.malloc.arena_max=4"), `${MALLOC_TUNABLES}:glibc.malloc.arena_max=4`);
});
