import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { addWardEntry, editKubeconfigFile, KubeconfigError, readKubeconfig, resolveKubeconfigPath, writeFileAtomic } from "./index.ts";

const tmp = mkdtempSync(join(tmpdir(), "ward-kubeconfig-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("resolveKubeconfigPath: --kubeconfig > first $KUBECONFIG entry > ~/.kube/config", () => {
  const home = "/home/u";
  assert.equal(resolveKubeconfigPath({ flag: "/x/flag.yaml", env: { KUBECONFIG: "/a:/b" }, home }), "/x/flag.yaml");
  assert.equal(resolveKubeconfigPath({ flag: "~/k.yaml", env: {}, home }), "/home/u/k.yaml");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: "/a/one.yaml:/b/two.yaml:/c/three.yaml" }, home }), "/a/one.yaml");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: "::/b/two.yaml:/c" }, home }), "/b/two.yaml");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: "~/.kube/work:/etc/k" }, home }), "/home/u/.kube/work");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: "" }, home }), "/home/u/.kube/config");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: ":" }, home }), "/home/u/.kube/config");
  assert.equal(resolveKubeconfigPath({ env: {}, home }), "/home/u/.kube/config");
  assert.equal(resolveKubeconfigPath({ flag: "", env: {}, home }), "/home/u/.kube/config");
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: "rel/cfg" }, home }), join(process.cwd(), "rel/cfg"));
});

test("writeFileAtomic keeps the mode of an existing file and leaves no temp files", async () => {
  const dir = join(tmp, "keep");
  const path = join(dir, "config");
  await writeFileAtomic(path, "a: 1\n");
  chmodSync(path, 0o640);
  await writeFileAtomic(path, "a: 2\n");
  assert.equal(readFileSync(path, "utf8"), "a: 2\n");
  assert.equal(statSync(path).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir), ["config"]);
});

test("writeFileAtomic creates the directory and new files with mode 0600", async () => {
  const path = join(tmp, "new", "nested", ".kube", "config");
  await writeFileAtomic(path, "x: y\n");
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, "utf8"), "x: y\n");
});

test("editKubeconfigFile: missing file → fresh kubeconfig; invalid YAML → error and nothing written", async () => {
  const path = join(tmp, "edit", "config");
  assert.equal(await readKubeconfig(path), "");
  const add = (t: string) => addWardEntry(t, { cluster: "c1", server: "https://gw/k8s/c1", user: { kind: "token", token: "t" }, use: true }).text;
  const r = await editKubeconfigFile(path, add);
  assert.equal(r.changed, true);
  assert.equal(readFileSync(path, "utf8"), add(""));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const mtime = statSync(path).mtimeMs;
  assert.equal((await editKubeconfigFile(path, add)).changed, false, "unchanged content is not rewritten");
  assert.equal(statSync(path).mtimeMs, mtime);

  const bad = join(tmp, "edit", "bad");
  writeFileSync(bad, "clusters:\n- name: [oops\n");
  await assert.rejects(editKubeconfigFile(bad, add), (e: unknown) => e instanceof KubeconfigError && e.line !== undefined);
  assert.equal(readFileSync(bad, "utf8"), "clusters:\n- name: [oops\n");
  assert.deepEqual(readdirSync(join(tmp, "edit")).sort(), ["bad", "config"]);
});
