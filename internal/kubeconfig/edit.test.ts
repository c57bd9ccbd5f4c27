import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { addWardEntry, KubeconfigError, listWardEntries, removeWardEntry, type AddOptions } from "./index.ts";

const dir = new URL("./testdata/", import.meta.url);
const UPDATE = process.env["UPDATE_GOLDEN"] === "1";

function fixture(name: string): string {
  return readFileSync(new URL(name, dir), "utf8");
}

/** Compares with testdata/<name>; UPDATE_GOLDEN=1 rewrites the file. */
function golden(name: string, actual: string): void {
  const url = new URL(name, dir);
  if (UPDATE || !existsSync(url)) writeFileSync(url, actual);
  assert.equal(actual, readFileSync(url, "utf8"), `golden ${name}`);
}

/** The text with every Ward entry removed. */
function stripWard(text: string): string {
  let t = text;
  for (const e of listWardEntries(text)) t = removeWardEntry(t, e.cluster).text;
  return t;
}

/** Every line of `sub` appears in `full`, unchanged and in order. */
function assertLinesSubsequence(sub: string, full: string, skip: (line: string) => boolean = () => false): void {
  const lines = full.split("\n");
  let j = 0;
  for (const line of sub.split("\n")) {
    if (skip(line)) continue;
    while (j < lines.length && lines[j] !== line) j++;
    assert.ok(j < lines.length, `line ${JSON.stringify(line)} missing or out of order`);
    j++;
  }
}

const isCurrentContext = (l: string) => /^\s*current-context:/.test(l);

const emptySectionLine = /^(\s*)(clusters|contexts|users):\s*(\[\]|null|~)?(\s*#.*)?\r?$/;

/** Section keys whose value was empty are normalised; `current-context` lines dropped when `use`. */
function normalise(text: string, use: boolean | undefined): string {
  return text
    .split("\n")
    .filter((l) => !(use && isCurrentContext(l)))
    .map((l) => l.replace(emptySectionLine, "$1$2: []"))
    .join("\n");
}

/**
 * Checks the invariants of an add: every foreign line of the input is in the output, unchanged and
 * in order; the output without Ward entries is the input without them; the entries are there.
 */
function checkAdd(input: string, output: string, opts: AddOptions, sectionsMissing = false): void {
  // Lines ending a flow sequence gain the new item before their `]`.
  const skip = (l: string) => (opts.use === true && isCurrentContext(l)) || emptySectionLine.test(l) || /\]\s*(#.*)?$/.test(l);
  assertLinesSubsequence(stripWard(input), output, skip);
  if (!sectionsMissing) assert.equal(normalise(stripWard(output), opts.use), normalise(stripWard(input), opts.use));
  const cfg = parse(output) as Record<string, Array<{ name: string; [k: string]: unknown }>>;
  const name = `ward-${opts.cluster}`;
  const cl = cfg["clusters"]!.filter((c) => c.name === name);
  const us = cfg["users"]!.filter((c) => c.name === name);
  const cx = cfg["contexts"]!.filter((c) => c.name === name);
  assert.equal(cl.length, 1);
  assert.equal(us.length, 1);
  assert.equal(cx.length, 1);
  assert.deepEqual(cx[0]!["context"], { cluster: name, user: name, ...(opts.namespace ? { namespace: opts.namespace } : {}) });
  assert.equal((cl[0]!["cluster"] as { server: string }).server, opts.server);
  if (opts.use) assert.equal((cfg as unknown as Record<string, unknown>)["current-context"], name);
}

const execDev: AddOptions = {
  cluster: "dev",
  server: "https://gw.example.com/k8s/dev",
  user: { kind: "exec", gateway: "https://gw.example.com" },
  namespace: "team-a",
  use: true,
};

test("mixed: add exec user with --namespace and --use", () => {
  const input = fixture("mixed.input.yaml");
  const out = addWardEntry(input, execDev);
  assert.equal(out.replaced, false);
  golden("mixed.add-exec-use.golden.yaml", out.text);
  checkAdd(input, out.text, execDev);
  const users = (parse(out.text) as { users: Array<{ name: string; user: unknown }> }).users;
  assert.deepEqual(users.find((u) => u.name === "ward-dev")!.user, {
    exec: {
      apiVersion: "client.authentication.k8s.io/v1",
      args: ["cluster", "kube-token", "--cluster", "dev", "--gateway", "https://gw.example.com"],
      command: "ward",
      interactiveMode: "Never",
      provideClusterInfo: false,
    },
  });
  // Removing what was added gives the input back, except current-context which --use changed.
  const back = removeWardEntry(out.text, "dev");
  assert.equal(back.removed, true);
  assert.equal(back.currentContextRemoved, true);
  assert.equal(back.text, input.replace('current-context: "prod"', "current-context: ward-dev"));
});

test("mixed: replace an existing Ward entry in place (token, insecure)", () => {
  const input = fixture("mixed.input.yaml");
  const opts: AddOptions = { cluster: "old", server: "https://gw.example.com/k8s/old", insecureSkipTlsVerify: true, user: { kind: "token", token: "s3cret" } };
  const out = addWardEntry(input, opts);
  assert.equal(out.replaced, true);
  golden("mixed.replace-token.golden.yaml", out.text);
  checkAdd(input, out.text, opts);
  const cfg = parse(out.text) as { clusters: Array<{ name: string; cluster: unknown }>; users: Array<{ name: string; user: unknown }> };
  assert.deepEqual(cfg.clusters.map((c) => c.name), ["prod", "ward-old", "kind"], "replaced in place");
  assert.deepEqual(cfg.clusters[1]!.cluster, { "insecure-skip-tls-verify": true, server: "https://gw.example.com/k8s/old" });
  assert.deepEqual(cfg.users.find((u) => u.name === "ward-old")!.user, { token: "s3cret" });
  // Idempotent.
  const again = addWardEntry(out.text, opts);
  assert.equal(again.text, out.text);
  assert.equal(again.changed, false);
});

test("mixed: remove and list", () => {
  const input = fixture("mixed.input.yaml");
  assert.deepEqual(listWardEntries(input), [
    { cluster: "old", name: "ward-old", hasCluster: true, hasUser: false, hasContext: false, server: "https://gw.example.com/k8s/old", current: false },
  ]);
  const out = removeWardEntry(input, "old");
  assert.equal(out.removed, true);
  assert.equal(out.currentContextRemoved, false);
  golden("mixed.remove.golden.yaml", out.text);
  assert.deepEqual(listWardEntries(out.text), []);
  // Everything but the Ward item (and nothing else) is gone.
  assert.equal(out.text, input.replace('  - name: ward-old\n    cluster: {server: "https://gw.example.com/k8s/old"}\n', ""));
  const none = removeWardEntry(out.text, "old");
  assert.equal(none.removed, false);
  assert.equal(none.text, out.text);
});

test("indented sequences: CA data, v1beta1 exec with a custom command, replaces ward-prod", () => {
  const input = fixture("indented.input.yaml");
  const opts: AddOptions = {
    cluster: "prod",
    server: "https://gw.example.com/k8s/prod",
    certificateAuthorityData: "Q0EtREFUQQ==",
    user: { kind: "exec", gateway: "https://gw.example.com", command: "/usr/local/bin/ward", apiVersion: "client.authentication.k8s.io/v1beta1" },
  };
  const out = addWardEntry(input, opts);
  assert.equal(out.replaced, true);
  golden("indented.add.golden.yaml", out.text);
  checkAdd(input, out.text, opts);
  const cfg = parse(out.text) as { users: Array<{ name: string; user: { exec: Record<string, unknown> } }>; contexts: Array<{ name: string; context: unknown }> };
  const exec = cfg.users.find((u) => u.name === "ward-prod")!.user.exec;
  assert.equal(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
  assert.equal(exec["command"], "/usr/local/bin/ward");
  // The namespace is gone because it was not asked for this time.
  assert.deepEqual(cfg.contexts.find((c) => c.name === "ward-prod")!.context, { cluster: "ward-prod", user: "ward-prod" });
  // New entries in this file follow its indented style.
  const added = addWardEntry(out.text, { ...opts, cluster: "qa", server: "https://gw.example.com/k8s/qa" });
  assert.match(added.text, /\n {4}- name: ward-qa\n {6}cluster:\n/);
  assert.match(added.text, /\n {14}args:\n {18}- cluster\n/);
  assert.equal(removeWardEntry(added.text, "qa").text, out.text);
  const removed = removeWardEntry(input, "prod");
  golden("indented.remove.golden.yaml", removed.text);
  assert.doesNotMatch(removed.text, /ward-prod/);
  assert.match(removed.text, /\n\n {4}# a lab cluster, kept last\n {4}- name: lab\n/);
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

test("empty sections: [] and null become block sequences; removal leaves []", () => {
  const input = fixture("empty-sections.input.yaml");
  const opts: AddOptions = { cluster: "a-1", server: "https://gw/k8s/a-1", user: { kind: "token", token: "t" }, use: true };
  const out = addWardEntry(input, opts);
  golden("empty-sections.add.golden.yaml", out.text);
  checkAdd(input, out.text, opts);
  const back = removeWardEntry(out.text, "a-1");
  golden("empty-sections.remove.golden.yaml", back.text);
  assert.deepEqual(parse(back.text), { apiVersion: "v1", kind: "Config", clusters: [], contexts: [], users: [], "current-context": "ward-a-1" });
  // Adding again after removal, and removing again, is stable.
  assert.equal(removeWardEntry(addWardEntry(back.text, opts).text, "a-1").text, back.text);
});

test("missing sections are appended", () => {
  const input = fixture("missing-sections.input.yaml");
  const opts: AddOptions = { cluster: "x", server: "https://gw/k8s/x", user: { kind: "exec", gateway: "https://gw" }, use: true };
  const out = addWardEntry(input, opts);
  golden("missing-sections.add.golden.yaml", out.text);
  checkAdd(input, out.text, opts, true);
  assert.ok(out.text.startsWith(input));
});

test("empty and comments-only files get a fresh kubeconfig", () => {
  const opts: AddOptions = { cluster: "x", server: "https://gw/k8s/x", user: { kind: "token", token: "t" }, use: true };
  const fresh = addWardEntry(fixture("empty.input.yaml"), opts);
  golden("empty.add.golden.yaml", fresh.text);
  assert.deepEqual(parse(fresh.text), {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    "current-context": "ward-x",
    clusters: [{ name: "ward-x", cluster: { server: "https://gw/k8s/x" } }],
    contexts: [{ name: "ward-x", context: { cluster: "ward-x", user: "ward-x" } }],
    users: [{ name: "ward-x", user: { token: "t" } }],
  });
  const comments = addWardEntry(fixture("comments-only.input.yaml"), opts);
  golden("comments-only.add.golden.yaml", comments.text);
  assert.ok(comments.text.startsWith("# just a comment\n\n# and another\n"));
  assert.equal(addWardEntry("null\n", opts).text, fresh.text);
  assert.equal(addWardEntry("{}\n", opts).text, fresh.text);
  assert.equal(addWardEntry("---\n", opts).text, "---\n" + fresh.text);
  assert.deepEqual(listWardEntries(""), []);
  assert.equal(removeWardEntry("", "x").text, "");
});

test("CRLF files stay CRLF", () => {
  const input = fixture("mixed.input.yaml").replace(/\n/g, "\r\n");
  const out = addWardEntry(input, execDev).text;
  assert.doesNotMatch(out.replace(/\r\n/g, ""), /\n/);
  assert.equal(out, fixture("mixed.add-exec-use.golden.yaml").replace(/\n/g, "\r\n"));
  assert.equal(removeWardEntry(out, "dev").text, input.replace('current-context: "prod"', "current-context: ward-dev"));
  const fresh = addWardEntry("# c\r\n", execDev).text;
  assert.doesNotMatch(fresh.replace(/\r\n/g, ""), /\n/);
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

test("invalid input: clear errors naming the line", () => {
  const bad = "apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: x\nusers: []\n";
  assert.throws(() => addWardEntry(bad, execDev), (e: unknown) => e instanceof KubeconfigError && e.line !== undefined && /line \d+/.test(e.message));
  assert.throws(() => removeWardEntry("a: 1\na: 2\n", "x"), (e: unknown) => e instanceof KubeconfigError && e.line === 2);
  assert.throws(() => listWardEntries("- a\n- b\n"), /mapping/);
  assert.throws(() => addWardEntry("clusters: 3\n", execDev), /'clusters' must be a list/);
  assert.throws(() => addWardEntry("a: 1\n---\nb: 2\n", execDev), /more than one/);
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
    assert.equal(removeWardEntry(out, "z").text.replace("current-context: ward-z", "current-context: a"), input);
  }
});
