import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  addWardEntry,
  editKubeconfigFile,
  KubeconfigError,
  kubeconfigPaths,
  listWardEntriesAcross,
  readKubeconfig,
  resolveKubeconfigPath,
  writeFileAtomic,
  type AddOptions,
} from "./index.ts";

const tmp = mkdtempSync(join(tmpdir(), "ward-kubeconfig-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const home = "/home/u";
const add = (cluster: string, extra: Partial<AddOptions> = {}) => (t: string) =>
  addWardEntry(t, { cluster, server: `https://gw/k8s/${cluster}`, user: { kind: "token", token: "t" }, ...extra }).text;

test("kubeconfigPaths: --kubeconfig alone > every non-empty $KUBECONFIG entry > ~/.kube/config", () => {
  const paths = (flag: string | undefined, KUBECONFIG: string | undefined) => kubeconfigPaths({ flag, env: { KUBECONFIG }, home });
  assert.deepEqual(paths("/x/flag.yaml", "/a:/b"), ["/x/flag.yaml"], "--kubeconfig wins over $KUBECONFIG");
  assert.deepEqual(paths("~/k.yaml", undefined), ["/home/u/k.yaml"]);
  assert.deepEqual(paths(undefined, "/a/one.yaml:/b/two.yaml:/c/three.yaml"), ["/a/one.yaml", "/b/two.yaml", "/c/three.yaml"]);
  assert.deepEqual(paths(undefined, "::/b/two.yaml::/c:"), ["/b/two.yaml", "/c"], "empty entries are skipped");
  assert.deepEqual(paths(undefined, "~/.kube/work:~:/etc/k"), ["/home/u/.kube/work", "/home/u", "/etc/k"], "~ expands");
  assert.deepEqual(paths(undefined, "/a:/b:/a:/b/../a"), ["/a", "/b"], "repeats are dropped");
  assert.deepEqual(paths(undefined, "rel/cfg"), [join(process.cwd(), "rel/cfg")]);
  for (const k of ["", ":", " : ", undefined]) assert.deepEqual(paths(undefined, k), ["/home/u/.kube/config"]);
  assert.deepEqual(paths("", ""), ["/home/u/.kube/config"], "an empty flag is no flag");
});

test("resolveKubeconfigPath: the file Ward writes is the first of kubeconfigPaths", () => {
  assert.equal(resolveKubeconfigPath({ flag: "/x/flag.yaml", env: { KUBECONFIG: "/a:/b" }, home }), "/x/flag.yaml");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: ":/b/two.yaml:/c" }, home }), "/b/two.yaml");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: "~/w:/c" }, home }), "/home/u/w");
  assert.equal(resolveKubeconfigPath({ env: {}, home }), "/home/u/.kube/config");
});

test("listWardEntriesAcross: all $KUBECONFIG files merged, first file wins; missing files are empty", async () => {
  const dir = join(tmp, "across");
  mkdirSync(dir);
  const [a, b, missing] = ["a", "b", "missing"].map((n) => join(dir, n)) as [string, string, string];
  writeFileSync(a, add("x")(add("y", { use: true })("")).replace("https://gw/k8s/y", "https://a/y"));
  writeFileSync(b, add("y")(add("z", { use: true })("")));
  const paths = kubeconfigPaths({ env: { KUBECONFIG: `${a}::${missing}:${b}` }, home });
  const entries = await listWardEntriesAcross(paths);
  assert.deepEqual(
    entries.map((e) => [e.cluster, e.server, e.current, e.sources]),
    [
      ["x", "https://gw/k8s/x", false, { cluster: a, context: a, user: a }],
      ["y", "https://a/y", true, { cluster: a, context: a, user: a }],
      ["z", "https://gw/k8s/z", false, { cluster: b, context: b, user: b }],
    ],
  );
  writeFileSync(b, "clusters: [\n");
  await assert.rejects(listWardEntriesAcross(paths), (e: unknown) => e instanceof KubeconfigError && e.message.startsWith(`${b}: `));
});

test("editKubeconfigFile keeps the mode of an existing file (0640 stays 0640)", async () => {
  const path = join(tmp, "keep", "config");
  await writeFileAtomic(path, "");
  chmodSync(path, 0o640);
  assert.equal((await editKubeconfigFile(path, add("a"))).changed, true);
  assert.equal(statSync(path).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(join(tmp, "keep")), ["config"], "no temp file is left");
});

test("editKubeconfigFile creates a missing file 0600 with its directories; unchanged content is not rewritten", async () => {
  const path = join(tmp, "new", "nested", ".kube", "config");
  assert.equal(await readKubeconfig(path), "");
  const r = await editKubeconfigFile(path, add("c1", { use: true }));
  assert.equal(r.changed, true);
  assert.equal(readFileSync(path, "utf8"), add("c1", { use: true })(""));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(tmp, "new", "nested", ".kube")).mode & 0o777, 0o700);
  const mtime = statSync(path).mtimeMs;
  assert.equal((await editKubeconfigFile(path, add("c1", { use: true }))).changed, false);
  assert.equal(statSync(path).mtimeMs, mtime);
});

test("writeFileAtomic: a temp file in the same directory renamed over the old file", async () => {
  const dir = join(tmp, "atomic");
  const path = join(dir, "config");
  await writeFileAtomic(path, "old: 1\n");
  const inode = statSync(path).ino;
  const reader = await open(path, "r"); // a reader that opened the old file keeps seeing all of it
  const seen: string[] = [];
  const watcher = watch(dir, (_event, name) => name && seen.push(name));
  try {
    await writeFileAtomic(path, "new: 2\n");
    await new Promise((r) => setTimeout(r, 50)); // let the watcher deliver
    assert.equal((await reader.readFile("utf8")), "old: 1\n");
  } finally {
    watcher.close();
    await reader.close();
  }
  assert.equal(readFileSync(path, "utf8"), "new: 2\n");
  assert.notEqual(statSync(path).ino, inode, "replaced by rename, not rewritten in place");
  assert.ok(seen.some((n) => /^\.config\.\d+\.[0-9a-f]+\.tmp$/.test(n)), `temp file in the directory: ${seen.join(", ")}`);
  assert.deepEqual(readdirSync(dir), ["config"]);
});

test("writeFileAtomic: a failed rename leaves the target as it was and no temp file", async () => {
  const dir = join(tmp, "fail");
  const target = join(dir, "config");
  mkdirSync(join(target, "sub"), { recursive: true }); // a non-empty directory cannot be renamed over
  await assert.rejects(writeFileAtomic(target, "x: 1\n"));
  assert.deepEqual(readdirSync(dir), ["config"]);
  assert.ok(statSync(target).isDirectory());
});

test("writeFileAtomic writes through a symlink: the link stays, its target changes", async () => {
  const dir = join(tmp, "link");
  mkdirSync(join(dir, "dotfiles"), { recursive: true });
  const real = join(dir, "dotfiles", "kubeconfig");
  writeFileSync(real, "a: 1\n", { mode: 0o640 });
  const link = join(dir, "config");
  symlinkSync("dotfiles/kubeconfig", link);
  await writeFileAtomic(link, "a: 2\n");
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readlinkSync(link), "dotfiles/kubeconfig");
  assert.equal(readFileSync(real, "utf8"), "a: 2\n");
  assert.equal(statSync(real).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(join(dir, "dotfiles")), ["kubeconfig"]);
});

test("editKubeconfigFile: invalid YAML → KubeconfigError with its line, and nothing written", async () => {
  const bad = join(tmp, "bad");
  writeFileSync(bad, "clusters:\n- name: [oops\n");
  await assert.rejects(editKubeconfigFile(bad, add("c1")), (e: unknown) => e instanceof KubeconfigError && e.line !== undefined);
  assert.equal(readFileSync(bad, "utf8"), "clusters:\n- name: [oops\n");
});
