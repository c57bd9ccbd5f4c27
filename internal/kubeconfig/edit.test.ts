// Unit tests of the pure editor: entry shapes, removal layout, current-context, odd inputs, errors.
// The fixture-by-operation matrix lives in golden.test.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { addWardEntry, KubeconfigError, listWardEntries, mergeWardEntries, removeWardEntry, type AddOptions } from "./index.ts";
import { checkAdd, checkRemove } from "./testing.ts";

function fixture(name: string): string {
  return readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8");
}

const execDev: AddOptions = {
  cluster: "dev",
  server: "https://gw.example.com/k8s/dev",
  user: { kind: "exec", gateway: "https://gw.example.com" },
  namespace: "team-a",
  use: true,
};

function userOf(text: string, name: string): unknown {
  return (parse(text) as { users: Array<{ name: string; user: unknown }> }).users.find((u) => u.name === name)?.user;
}

test("exec user: v1beta1 by default (kubectl 1.20 has no v1), v1 on request; the args contract", () => {
  const args = ["cluster", "kube-token", "--cluster", "dev", "--gateway", "https://gw.example.com"];
  assert.deepEqual(userOf(addWardEntry("", execDev).text, "ward-dev"), {
    exec: { apiVersion: "client.authentication.k8s.io/v1beta1", args, command: "ward", interactiveMode: "Never", provideClusterInfo: false },
  });
  const v1 = addWardEntry("", { ...execDev, user: { kind: "exec", gateway: "https://gw.example.com", command: "/bin/ward", apiVersion: "client.authentication.k8s.io/v1" } });
  assert.deepEqual(userOf(v1.text, "ward-dev"), {
    exec: { apiVersion: "client.authentication.k8s.io/v1", args, command: "/bin/ward", interactiveMode: "Never", provideClusterInfo: false },
  });
  assert.deepEqual(userOf(addWardEntry("", { ...execDev, user: { kind: "token", token: "t0k" } }).text, "ward-dev"), { token: "t0k" });
  const bad = { kind: "exec", gateway: "https://gw", apiVersion: "client.authentication.k8s.io/v1alpha1" } as unknown as AddOptions["user"];
  assert.throws(() => addWardEntry("", { ...execDev, user: bad }), /Unsupported exec apiVersion/);
});

test("exec user with a fast path: /bin/sh -c SCRIPT COMMAND KEY args…, the script byte-exact in block and flow files", () => {
  const script = `# a comment: 'quoted' "double"\nd=\${X:-\${Y:-$HOME/.c}}/k/$1\nshift\ncase $v in\n*'a"'*) v= ;;\nesac\n  for f in "$d/"*.json; do :; done\nexec "$0" "$@"\n`;
  const args = ["cluster", "kube-token", "--cluster", "dev", "--gateway", "https://gw.example.com"];
  const user = { kind: "exec" as const, gateway: "https://gw.example.com", command: "/opt/ward bin/ward", fastPath: { script, key: "gw.example.com_dev" } };
  for (const input of ["", fixture("flow.input.yaml"), fixture("indented.input.yaml")]) {
    const text = addWardEntry(input, { ...execDev, user }).text;
    assert.deepEqual(userOf(text, "ward-dev"), {
      exec: { apiVersion: "client.authentication.k8s.io/v1beta1", args: ["-c", script, "/opt/ward bin/ward", "gw.example.com_dev", ...args], command: "/bin/sh", interactiveMode: "Never", provideClusterInfo: false },
    });
  }
  for (const key of ["../x", "x y", "..", ".", "-x", "x/y", ""]) {
    assert.throws(() => addWardEntry("", { ...execDev, user: { ...user, fastPath: { script, key } } }), /Invalid cache key/, key);
  }
});

test("fresh kubeconfig for empty, null, {} and comment-only input, in the input's line endings", () => {
  const opts: AddOptions = { cluster: "x", server: "https://gw/k8s/x", user: { kind: "token", token: "t" }, use: true };
  const fresh = addWardEntry("", opts).text;
  assert.deepEqual(parse(fresh), {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    "current-context": "ward-x",
    clusters: [{ name: "ward-x", cluster: { server: "https://gw/k8s/x" } }],
    contexts: [{ name: "ward-x", context: { cluster: "ward-x", user: "ward-x" } }],
    users: [{ name: "ward-x", user: { token: "t" } }],
  });
  assert.equal(addWardEntry("null\n", opts).text, fresh);
  assert.equal(addWardEntry("{}\n", opts).text, fresh);
  assert.equal(addWardEntry("---\n", opts).text, "---\n" + fresh);
  assert.equal(addWardEntry("# c\r\n", opts).text, "# c\r\n" + fresh.replace(/\n/g, "\r\n"));
  assert.deepEqual(listWardEntries(""), []);
  assert.equal(removeWardEntry("", "x").text, "");
});

test("replace keeps the entry's place and changes nothing when it is already so", () => {
  const input = fixture("mixed.input.yaml");
  const opts: AddOptions = { cluster: "old", server: "https://gw.example.com/k8s/old", insecureSkipTlsVerify: true, user: { kind: "token", token: "s3cret" } };
  const out = addWardEntry(input, opts);
  assert.equal(out.replaced, true);
  assert.deepEqual((parse(out.text) as { clusters: Array<{ name: string }> }).clusters.map((c) => c.name), ["prod", "ward-old", "kind"]);
  assert.equal(addWardEntry(out.text, opts).changed, false);
});

test("--use changes only the current-context line", () => {
  const input = fixture("indented.input.yaml");
  const opts: AddOptions = { cluster: "prod", server: "https://gw.example.com/k8s/prod", user: { kind: "token", token: "old-token" } };
  const base = addWardEntry(input, opts).text;
  const used = addWardEntry(base, { ...opts, use: true });
  const a = base.split("\n");
  const b = used.text.split("\n");
  assert.equal(a.length, b.length);
  const diff = a.map((l, i) => [l, b[i]] as const).filter(([x, y]) => x !== y);
  assert.deepEqual(diff, [["current-context: staging", "current-context: ward-prod"]]);
  // Already current: nothing changes.
  assert.equal(addWardEntry(used.text, { ...opts, use: true }).changed, false);
});

test("duplicates: the first is replaced, the others removed", () => {
  const input = "clusters:\n- name: ward-a\n  cluster: {server: 'https://1'}\n- name: foo\n  cluster: {server: 'https://f'}\n- name: ward-a\n  cluster: {server: 'https://2'}\ncontexts: []\nusers: []\n";
  const out = addWardEntry(input, { cluster: "a", server: "https://3", user: { kind: "token", token: "t" } });
  assert.deepEqual((parse(out.text) as { clusters: Array<{ name: string }> }).clusters.map((c) => c.name), ["ward-a", "foo"]);
  assert.match(out.text, /^clusters:\n- name: ward-a\n  cluster:\n    server: https:\/\/3\n- name: foo\n  cluster: \{server: 'https:\/\/f'\}\ncontexts:/);
  const rm = removeWardEntry(out.text, "a").text;
  assert.match(rm, /^clusters:\n- name: foo\n  cluster: \{server: 'https:\/\/f'\}\ncontexts: \[\]\nusers: \[\]\n$/);
});

test("flow sequences: add, replace and remove keep the rest of the line", () => {
  const input = "clusters: [{name: a, cluster: {server: 'https://a'}}, {name: ward-z, cluster: {server: 'https://z'}}, {name: b, cluster: {server: 'https://b'}}]\ncontexts: [{name: ward-z, context: {cluster: ward-z, user: ward-z}}, {name: c, context: {cluster: a, user: u}}]\nusers: [{name: u, user: {token: x}}, {name: ward-z, user: {token: y}}]\n";
  const rm = removeWardEntry(input, "z").text;
  assert.equal(
    rm,
    "clusters: [{name: a, cluster: {server: 'https://a'}}, {name: b, cluster: {server: 'https://b'}}]\ncontexts: [{name: c, context: {cluster: a, user: u}}]\nusers: [{name: u, user: {token: x}}]\n",
  );
  const opts: AddOptions = { cluster: "z", server: "https://z2", user: { kind: "token", token: "y2" } };
  const add = addWardEntry(rm, opts).text;
  checkAdd(rm, add, opts);
  assert.equal(removeWardEntry(add, "z").text, rm);
  const rep = addWardEntry(input, opts).text;
  checkAdd(input, rep, opts);
  assert.ok(rep.startsWith("clusters: [{name: a, cluster: {server: 'https://a'}}, {name: ward-z, cluster: {server: https://z2}}, {name: b,"));
});

test("a flow sequence whose last item is followed by blanks, its `]` on the next line, CRLF: the entry goes after the item", () => {
  // Found by `npm run fuzz` (kubeconfig-editor, property 2): the edit was right, the line check too strict.
  const input = "users: [ {name: a, user: {token: x}} \r\n]\r\n";
  const opts: AddOptions = { cluster: "z", server: "https://z", user: { kind: "token", token: "y" } };
  const out = addWardEntry(input, opts).text;
  checkAdd(input, out, opts);
  assert.ok(out.includes("users: [ {name: a, user: {token: x}}, {name: ward-z, user: {token: y}} \r\n]\r\n"), out);
  assert.equal(removeWardEntry(out, "z").text, `${input}clusters: []\r\ncontexts: []\r\n`); // the keys it added stay, empty
});

test("flow items with an anchor or tag: a bare `!!map` is an item; a replaced Ward item keeps its anchor; a removal that would orphan an alias is refused", () => {
  // Found by `npm run fuzz` (kubeconfig-editor, property 2, seed -985044960): `[!!map ]` was a "CST/document mismatch (bug)".
  const opts: AddOptions = { cluster: "z", server: "https://z", user: { kind: "token", token: "t" } };
  const bare = "clusters: [!!map ]\ncontexts: []\nusers: []\n";
  const added = addWardEntry(bare, opts).text;
  checkAdd(bare, added, opts);
  assert.ok(added.startsWith("clusters: [!!map, {name: ward-z, cluster: {server: https://z}} ]\n"), added);
  const tied = "users: [&u {name: ward-z, user: {token: y}}, {name: b}]\nextensions: [*u]\n";
  assert.equal(addWardEntry(tied, opts).text.split("\n")[0], "users: [&u {name: ward-z, user: {token: t}}, {name: b}]");
  assert.throws(() => removeWardEntry(tied, "z"), (e: unknown) => e instanceof KubeconfigError && /without breaking it .*alias \*u/.test(e.message));
  const free = "users: [!!map {name: ward-z, user: {token: y}}, {name: b}]\n";
  assert.equal(removeWardEntry(free, "z").text, "users: [{name: b}]\n");
});

test("invalid input: clear errors naming the line", () => {
  const bad = "apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: x\nusers: []\n";
  assert.throws(() => addWardEntry(bad, execDev), (e: unknown) => e instanceof KubeconfigError && e.line !== undefined && /line \d+/.test(e.message));
  assert.throws(() => removeWardEntry("a: 1\na: 2\n", "x"), (e: unknown) => e instanceof KubeconfigError && e.line === 2);
  assert.throws(() => listWardEntries("- a\n- b\n"), /mapping/);
  assert.throws(() => addWardEntry("clusters: 3\n", execDev), /'clusters' must be a list/);
  assert.throws(() => addWardEntry("a: 1\n---\nb: 2\n", execDev), /more than one/);
  // An alias without its anchor parses, but kubectl refuses the file (found by the kubeconfig-editor fuzz target).
  for (const text of ["<<: *a\nclusters: []\n", "users:\n- name: u\n  user:\n    exec: {command: *cmd}\n"]) {
    assert.throws(() => addWardEntry(text, execDev), (e: unknown) => e instanceof KubeconfigError && /alias \*\w+ has no anchor/.test(e.message) && e.line !== undefined);
    assert.throws(() => removeWardEntry(text, "dev"), KubeconfigError);
    assert.throws(() => listWardEntries(text), KubeconfigError);
  }
  assert.doesNotThrow(() => addWardEntry("base: &a {x: 1}\nother: *a\nclusters: []\n", execDev));
  // A ':' with no key, which the parser lets through (found by the fuzz target: the edit left `users::`).
  for (const text of ["users: []:\nclusters: []\n", "users: [a]: x\n", "a: 1\n: x\n"]) {
    assert.throws(() => addWardEntry(text, execDev), (e: unknown) => e instanceof KubeconfigError && /a ':' with no key/.test(e.message) && e.line !== undefined);
  }
  assert.doesNotThrow(() => addWardEntry("? a\n: x\nclusters: []\n", execDev));
  for (const id of ["", "UPPER", "a_b", "a.b", "x".repeat(64), "ward/x"]) {
    assert.throws(() => addWardEntry("", { ...execDev, cluster: id }), /Invalid cluster id/);
    assert.throws(() => removeWardEntry("", id), /Invalid cluster id/);
  }
  assert.doesNotThrow(() => addWardEntry("", { ...execDev, cluster: "x".repeat(63) }));
  assert.throws(() => addWardEntry("", { ...execDev, server: "not a url" }), /server URL/);
  assert.throws(() => addWardEntry("", { ...execDev, certificateAuthorityData: "QQ==", insecureSkipTlsVerify: true }), /cannot both/);
});

test("current-context: empty, quoted or missing values; list ignores non-Ward names", () => {
  const opts: AddOptions = { cluster: "c", server: "https://gw/k8s/c", user: { kind: "token", token: "t" }, use: true };
  const base = "clusters: []\ncontexts: []\nusers: []\n";
  assert.match(addWardEntry(base + "current-context:\n", opts).text, /\ncurrent-context: ward-c\n$/);
  assert.match(addWardEntry(base + "current-context: '' # none\n", opts).text, /\ncurrent-context: ward-c # none\n$/);
  assert.match(addWardEntry(base + "current-context: other\n", opts).text, /\ncurrent-context: ward-c\n$/);
  assert.match(addWardEntry(base, opts).text, /\ncurrent-context: ward-c\n$/);
  // After an anchor or tag, not before it (found by the fuzz target: the value became `ward-c !!str`).
  assert.match(addWardEntry(base + "current-context: !!str\n", opts).text, /\ncurrent-context: !!str ward-c\n$/);
  assert.match(addWardEntry(base + "current-context: &cc\n", opts).text, /\ncurrent-context: &cc ward-c\n$/);
  assert.match(addWardEntry("clusters: []\ncontexts: []\nusers: []", opts).text, /^clusters:\n- name: ward-c\n[^]*\ncurrent-context: ward-c\n$/);
  const listed = listWardEntries("clusters:\n- name: ward-Upper\n  cluster: {server: x}\n- name: wardx\n  cluster: {server: y}\n- name: ward-ok\n  cluster: {server: z}\ncurrent-context: ward-ok\n");
  assert.deepEqual(listed.map((e) => [e.cluster, e.current, e.hasCluster, e.hasUser]), [["ok", true, true, false]]);
});

test("odd but valid files: BOM, document markers, directives, literal blocks, dash on its own line", () => {
  const opts: AddOptions = { cluster: "z", server: "https://g/z", user: { kind: "exec", gateway: "https://g" }, use: true };
  const cases = [
    "\uFEFFapiVersion: v1\nclusters:\n- name: a\n  cluster: {server: x}\ncontexts: []\nusers: []\ncurrent-context: a\n",
    "%YAML 1.2\n---\napiVersion: v1\nclusters:\n- name: a\n  cluster: {server: x}\ncontexts: []\nusers: []\ncurrent-context: a\n...\n",
    "clusters:\n  - name: a\n    cluster: |\n      literal\n      block\n\n\ncontexts: []\nusers: []\ncurrent-context: a\n",
    "clusters:\n-\n  name: a\n  cluster: {server: x}\ncontexts: []\nusers: []\ncurrent-context: a",
  ];
  for (const input of cases) {
    const out = addWardEntry(input, opts).text;
    checkAdd(input, out, opts);
    assert.equal(removeWardEntry(out, "z").text.replace('current-context: ""', "current-context: a"), input);
  }
});

test("removing the last entries: the key stays with `[]`, blank lines do not pile up", () => {
  const cases: Array<[string, string]> = [
    // the only item, with its comment and the blank line above it
    ["clusters:   # mine\n\n  # ours\n  - name: ward-w\n    cluster: {server: 'https://w'}\n\nusers: []\n", "clusters: []   # mine\n\nusers: []\n"],
    ["clusters: &c !!seq\n- name: ward-w\n", "clusters: &c !!seq []\n"],
    // the last of several: the blank line that set it apart goes too
    ["clusters:\n- name: a\n\n- name: ward-w\ncontexts: []\n", "clusters:\n- name: a\ncontexts: []\n"],
    ["clusters:\n- name: a\n\n- name: ward-w\n\ncontexts: []\n", "clusters:\n- name: a\n\ncontexts: []\n"],
    // between two: one gap stays
    ["clusters:\n- name: a\n\n# about w\n- name: ward-w\n\n- name: b\n", "clusters:\n- name: a\n\n- name: b\n"],
    // a literal block above keeps the trailing blank lines that are its content
    ["clusters:\n- name: a\n  cluster: |+\n    x\n\n- name: ward-w\n", "clusters:\n- name: a\n  cluster: |+\n    x\n\n"],
    // flow: `[` and `]` close up; a comment inside stays
    ["users: [\n  {name: ward-w, user: {token: t}}\n]\n", "users: []\n"],
    ["users: [ # c\n  {name: ward-w}\n]\n", "users: [ # c\n]\n"],
    ["users: [{name: a},  # about a\n  {name: ward-w}, {name: b}\n]\n", "users: [{name: a},  # about a\n  {name: b}\n]\n"],
    ["users: [{name: a}, {name: ward-w}, # c\n {name: ward-w}, {name: b}]\n", "users: [{name: a},  # c\n {name: b}]\n"],
    ["users: [{name: ward-w}, {name: ward-w}, {name: b}]\n", "users: [{name: b}]\n"],
  ];
  for (const [input, expected] of cases) {
    const out = removeWardEntry(input, "w");
    assert.equal(out.text, expected, JSON.stringify(input));
    checkRemove(input, out.text, "w");
  }
});

test("removing the current context clears current-context to \"\" and says so", () => {
  const entry = "contexts:\n- name: ward-w\n  context: {cluster: ward-w, user: ward-w}\n";
  const cases: Array<[string, string]> = [
    ["current-context: ward-w\n", 'current-context: ""\n'],
    ["current-context: 'ward-w'   # pinned\n", 'current-context: ""   # pinned\n'],
    ['current-context: "ward-w"\n', 'current-context: ""\n'],
  ];
  for (const [cc, cleared] of cases) {
    const out = removeWardEntry(cc + entry, "w");
    assert.deepEqual([out.text, out.removed, out.currentContextCleared], [cleared + "contexts: []\n", true, true]);
  }
  // Another current context is left alone; a dangling one naming ward-w is cleared even so.
  assert.equal(removeWardEntry("current-context: prod\n" + entry, "w").currentContextCleared, false);
  const dangling = removeWardEntry("current-context: ward-w\nclusters: []\n", "w");
  assert.deepEqual([dangling.text, dangling.removed, dangling.currentContextCleared], ['current-context: ""\nclusters: []\n', false, true]);
});

test("mergeWardEntries: per part the first file wins, as does the first non-empty current-context", () => {
  const a = "current-context: ''\nclusters:\n- name: ward-x\n  cluster: {server: 'https://a/x'}\n- name: other\n  cluster: {server: 'https://o'}\n";
  const b =
    "current-context: ward-x\nclusters:\n- name: ward-x\n  cluster: {server: 'https://b/x'}\n- name: ward-y\n  cluster: {server: 'https://b/y'}\n" +
    "contexts:\n- name: ward-x\n  context: {cluster: ward-x, user: ward-x, namespace: nb}\nusers:\n- name: ward-x\n  user: {token: t}\n";
  const c = "current-context: ward-y\ncontexts:\n- name: ward-x\n  context: {cluster: ward-x, user: ward-x, namespace: nc}\n";
  assert.deepEqual(mergeWardEntries([{ path: "/a", text: a }, { path: "/b", text: b }, { path: "/c", text: c }, { path: "/d", text: "" }]), [
    {
      cluster: "x",
      name: "ward-x",
      hasCluster: true,
      hasUser: true,
      hasContext: true,
      server: "https://a/x",
      namespace: "nb",
      userKind: "token",
      current: true,
      sources: { cluster: "/a", context: "/b", user: "/b" },
    },
    { cluster: "y", name: "ward-y", hasCluster: true, hasUser: false, hasContext: false, server: "https://b/y", current: false, sources: { cluster: "/b" } },
  ]);
  assert.throws(
    () => mergeWardEntries([{ path: "/a", text: a }, { path: "/bad", text: "clusters: [\n" }]),
    (e: unknown) => e instanceof KubeconfigError && e.message.startsWith("/bad: Invalid kubeconfig YAML"),
  );
});

test("adding to an empty list keeps its anchor and tag (an alias elsewhere may name it)", () => {
  // Found by the kubeconfig-editor fuzz target: `users: &u []` lost `&u`, leaving `*u` unresolved.
  const opts: AddOptions = { cluster: "a", server: "https://gw/k8s/a", user: { kind: "token", token: "t" } };
  for (const [input, users] of [["users: &u []\nother: *u\n", "users: &u\n- name: ward-a\n"], ["users: !!seq []\n", "users: !!seq\n- name: ward-a\n"]]) {
    const out = addWardEntry(input!, opts).text;
    assert.ok(out.startsWith(users!), out);
    checkAdd(input!, out, opts);
    assert.equal(removeWardEntry(out, "a").text.split("\n")[0], input!.split("\n")[0]);
  }
});

test("a missing section or current-context is indented as the top-level keys, whatever precedes the first one", () => {
  // Found by the kubeconfig-editor fuzz target: after `!!map a: 1` the new keys were indented 6.
  const opts: AddOptions = { cluster: "a", server: "https://gw/k8s/a", user: { kind: "token", token: "t" }, use: true };
  for (const input of ["!!map apiVersion: v1\n", "&k apiVersion: v1\nother: *k\n", "  apiVersion: v1\n  kind: Config\n"]) {
    const out = addWardEntry(input, opts).text;
    checkAdd(input, out, opts);
    listWardEntries(out);
  }
});

test("a missing section goes after what the last section gains at the end of the file", () => {
  // Found by the kubeconfig-editor fuzz target: the new context landed in the new `clusters:` list.
  const opts: AddOptions = { cluster: "a", server: "https://gw/k8s/a", user: { kind: "token", token: "t" } };
  for (const input of ["contexts: []\n", "users: []\ncontexts:\n- name: c\n  context: {cluster: x, user: y}\n", "users: []\n", "clusters: []\nusers:\n  - name: u\n"]) {
    const out = addWardEntry(input, opts).text;
    checkAdd(input, out, opts);
    assert.equal(removeWardEntry(out, "a").text.replace(/^(clusters|contexts|users): \[\]\n/gm, ""), input.replace(/^(clusters|contexts|users): \[\]\n/gm, ""));
  }
});

test("flow items written as pairs (`name: ward-z`, `? k : v`, a bare `?` or `:`) are edited whole", () => {
  // Found by the kubeconfig-editor fuzz target: `? k` made the editor throw a bug error, and an
  // item `name: ward-z` was replaced by `name: {…}`, which lost the entry.
  const opts: AddOptions = { cluster: "z", server: "https://z2", user: { kind: "token", token: "y2" } };
  const cases: Array<[string, string]> = [
    ["contexts: [ {name: b}, name: ward-z, {name: c} ]\n", "contexts: [ {name: b}, {name: ward-z, context: {cluster: ward-z, user: ward-z}}, {name: c} ]\n"],
    ["contexts: [ ? name : ward-z ]\n", "contexts: [ {name: ward-z, context: {cluster: ward-z, user: ward-z}} ]\n"],
    ["contexts: [ {name: b}, ? {x: 1} ]\n", "contexts: [ {name: b}, ? {x: 1}, {name: ward-z, context: {cluster: ward-z, user: ward-z}} ]\n"],
    ["contexts: [ {name: b}, ? ]\n", "contexts: [ {name: b}, ?, {name: ward-z, context: {cluster: ward-z, user: ward-z}} ]\n"],
    ["contexts: [: ]\n", "contexts: [:, {name: ward-z, context: {cluster: ward-z, user: ward-z}} ]\n"],
    ["contexts: [ {name: b}, : x ]\n", "contexts: [ {name: b}, : x, {name: ward-z, context: {cluster: ward-z, user: ward-z}} ]\n"],
  ];
  for (const [input, contexts] of cases) {
    const out = addWardEntry(input, opts).text;
    assert.ok(out.startsWith(contexts), out);
    checkAdd(input, out, opts);
    checkRemove(out, removeWardEntry(out, "z").text, "z");
  }
  assert.equal(removeWardEntry("contexts: [ {name: b}, name: ward-z, {name: c} ]\n", "z").text, "contexts: [ {name: b}, {name: c} ]\n");
});
