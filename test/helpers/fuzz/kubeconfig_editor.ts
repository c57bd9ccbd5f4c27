/**
 * Fuzz target `kubeconfig-editor`: the lossless kubeconfig editor (`internal/kubeconfig/`). Random
 * foreign kubeconfigs (comments, unknown fields, flow and block styles, CRLF) rendered as text, then
 * edited. The arbitraries are also used by `internal/kubeconfig/property.test.ts`.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Document, isMap, isSeq, parseAllDocuments } from "yaml";
import { addWardEntry, editKubeconfigFile, KubeconfigError, removeWardEntry, type AddOptions } from "../../../internal/kubeconfig/index.ts";
import { checkAdd, checkRemove } from "../../../internal/kubeconfig/testing.ts";
import { fuzzProperty, type FuzzTarget } from "./fuzz_target.ts";

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((s) => !s.startsWith("ward-"));
const anyText = fc.string({ maxLength: 12 }).filter((s) => !s.startsWith("ward-"));
const name = fc.oneof({ weight: 4, arbitrary: word }, { weight: 1, arbitrary: anyText });
const server = fc.oneof(fc.webUrl(), fc.constant("https://127.0.0.1:6443"));
/** A small value of any YAML shape (kept small: shrinking a failure re-runs the editor many times). */
const anyValue = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), anyText, fc.array(word, { maxLength: 2 }), fc.dictionary(word, anyText, { maxKeys: 2 }));
/** Fields Ward does not know, which must survive every edit as they are. */
const unknown = fc.dictionary(fc.constantFrom("extensions", "x-note", "proxy-url", "tls-server-name", "disable-compression", "0", "~"), anyValue, { maxKeys: 2 });

const clusterEntry = fc.record(
  {
    name,
    cluster: fc.record({ server, "certificate-authority-data": fc.base64String({ maxLength: 40 }), "insecure-skip-tls-verify": fc.boolean() }, { requiredKeys: ["server"] }),
  },
  { requiredKeys: ["name", "cluster"] },
);
const userEntry = fc.record({
  name,
  user: fc.oneof(
    fc.record({ token: fc.string({ maxLength: 20 }) }),
    fc.record({ exec: fc.record({ apiVersion: fc.constant("client.authentication.k8s.io/v1beta1"), command: word, args: fc.array(word, { maxLength: 3 }) }) }),
    fc.record({ username: word, password: anyText }),
  ),
});
const contextEntry = fc.record({ name, context: fc.record({ cluster: word, user: word, namespace: word }, { requiredKeys: ["cluster", "user"] }) });
/** An entry with fields of its own that Ward does not know. */
const withUnknown = <T extends object>(entry: fc.Arbitrary<T>) => fc.tuple(entry, unknown).map(([e, u]) => ({ ...u, ...e }));

/** A foreign kubeconfig (no Ward entries) as an object. */
export const kubeconfig = fc.record(
  {
    apiVersion: fc.constant("v1"),
    kind: fc.constant("Config"),
    clusters: fc.array(withUnknown(clusterEntry), { maxLength: 3 }),
    contexts: fc.array(withUnknown(contextEntry), { maxLength: 3 }),
    users: fc.array(withUnknown(userEntry), { maxLength: 3 }),
    "current-context": word,
    preferences: fc.oneof(fc.constant({}), unknown),
    extensions: fc.array(fc.record({ name: word, extension: anyValue }), { maxLength: 2 }),
  },
  { requiredKeys: ["clusters", "contexts", "users"] },
);

export interface RenderStyle {
  indentSeq: boolean;
  indent: number;
  flow: boolean[]; // per section: flow style
  comments: boolean;
  blankLines: boolean;
  crlf: boolean;
  shuffleSeed: number;
}

export const renderStyle: fc.Arbitrary<RenderStyle> = fc.record({
  indentSeq: fc.boolean(),
  indent: fc.constantFrom(2, 4),
  flow: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  comments: fc.boolean(),
  blankLines: fc.boolean(),
  crlf: fc.boolean(),
  shuffleSeed: fc.nat(),
});

/** `obj` as a kubeconfig file in style `st`: key order, flow or block sections, comments, blank lines, line ends. */
export function render(obj: Record<string, unknown>, st: RenderStyle): string {
  const keys = Object.keys(obj);
  const rot = st.shuffleSeed % keys.length;
  const ordered = Object.fromEntries([...keys.slice(rot), ...keys.slice(0, rot)].map((k) => [k, obj[k]]));
  const doc = new Document(ordered);
  if (st.comments) doc.commentBefore = " a foreign kubeconfig";
  ["clusters", "contexts", "users"].forEach((s, i) => {
    const seq = doc.get(s, true);
    if (!isSeq(seq)) return;
    if (st.flow[i]) seq.flow = true;
    seq.items.forEach((item, j) => {
      if (!isMap(item)) return;
      if (st.comments && !seq.flow && j % 2 === 0) item.commentBefore = ` item ${j} of ${s}`;
      if (st.blankLines && j > 0 && !seq.flow) item.spaceBefore = true;
      if (st.comments && j === 0) {
        const inner = item.items[1];
        if (inner && isMap(inner.value) && !seq.flow) inner.value.comment = " trailing";
      }
    });
  });
  if (st.comments) doc.comment = " end";
  const text = doc.toString({ indentSeq: st.indentSeq, indent: st.indent, lineWidth: 0 });
  return st.crlf ? text.replace(/\n/g, "\r\n") : text;
}

const clusterId = fc.oneof(fc.constantFrom("a", "b", "dev-1"), fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/));

export const addOptions: fc.Arbitrary<AddOptions> = fc.record(
  {
    cluster: clusterId,
    server: fc.constant("https://gw.example.com/k8s/c"),
    certificateAuthorityData: fc.base64String({ minLength: 4, maxLength: 40 }),
    user: fc.oneof(
      fc.record({ kind: fc.constant("token" as const), token: fc.string({ minLength: 1, maxLength: 30 }) }),
      fc.record(
        { kind: fc.constant("exec" as const), gateway: fc.constant("https://gw.example.com"), command: word, apiVersion: fc.constantFrom("client.authentication.k8s.io/v1" as const, "client.authentication.k8s.io/v1beta1" as const) },
        { requiredKeys: ["kind", "gateway"] },
      ),
    ),
    namespace: word,
    use: fc.boolean(),
  },
  { requiredKeys: ["cluster", "server", "user"] },
);

type Edit = { op: "add"; opts: AddOptions } | { op: "remove"; cluster: string };
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 2, arbitrary: addOptions.map((opts) => ({ op: "add" as const, opts })) },
  { weight: 1, arbitrary: clusterId.map((cluster) => ({ op: "remove" as const, cluster })) },
);

/**
 * Edit after edit: every foreign line stays as it was and in order, the output parses, the entry
 * asked for is there exactly once (or gone); the same add again changes nothing; removing every
 * entry added (no `--use` on the way) gives back the input byte for byte.
 */
const editSequence = fc.property(kubeconfig, renderStyle, fc.array(edit, { minLength: 1, maxLength: 4 }), (cfg, st, edits) => {
  const input = render(cfg, st);
  let text = input;
  for (const e of edits) {
    if (e.op === "add") {
      const out = addWardEntry(text, e.opts).text;
      checkAdd(text, out, e.opts);
      assert.equal(addWardEntry(out, e.opts).changed, false, "the same add again changes nothing");
      text = out;
    } else {
      const out = removeWardEntry(text, e.cluster).text;
      checkRemove(text, out, e.cluster);
      text = out;
    }
  }
  if (edits.some((e) => e.op === "add" && e.opts.use)) return;
  for (const e of edits) if (e.op === "add") text = removeWardEntry(text, e.opts.cluster).text;
  assert.equal(text, input, "removing what was added gives back the input");
});

/** Text that breaks YAML, or kubeconfig's shape, or is merely odd. */
const SPLINTERS = [
  "[", "]", "{", "}", ": ", ":", "- ", "-", "\t", "  ", "#", "'", '"', "&a ", "*a", "!!str ", "!!map ", "? ", "---\n", "...\n", "%YAML 1.2\n",
  "\n", "\r\n", "|\n", ">-\n", "@", "`", "\u00a0", "\ufeff", "<<: *a\n", "clusters: 3\n", "users:\n", "- name: ward-a\n", "current-context: [x]\n",
  "contexts: {}\n", "clusters: &s\n", "name: ward-dev-1\n", ",", "\\", "\0", "\u2028", "null\n", "~",
];
const splinter = fc.record({ at: fc.nat(), text: fc.constantFrom(...SPLINTERS), drop: fc.nat(3) });
const hostileText = fc
  .tuple(kubeconfig, renderStyle, fc.array(splinter, { minLength: 1, maxLength: 3 }))
  .map(([cfg, st, splinters]) => splinters.reduce((t, s) => {
    const at = s.at % (t.length + 1);
    return t.slice(0, at) + s.text + t.slice(at + s.drop);
  }, render(cfg, st)));

/**
 * Broken or odd files: the edit is a KubeconfigError (always, when the YAML does not parse) or a
 * correct edit; through `editKubeconfigFile`, a failed edit leaves the file byte for byte and mode
 * as it was, with no temp file beside it, and a successful one writes exactly the edit's text.
 */
const hostileFile = fc.asyncProperty(hostileText, addOptions, async (text, opts) => {
  const yamlBroken = parseAllDocuments(text).some((d) => d.errors.length > 0);
  let want: string | undefined;
  let failure: unknown;
  try {
    want = addWardEntry(text, opts).text;
    checkAdd(text, want, opts);
  } catch (e) {
    if (!(e instanceof KubeconfigError)) throw e;
    failure = e;
  }
  assert.ok(!yamlBroken || failure, "a file that is not YAML is refused with a KubeconfigError");
  try {
    const removed = removeWardEntry(text, opts.cluster).text;
    checkRemove(text, removed, opts.cluster);
  } catch (e) {
    if (!(e instanceof KubeconfigError)) throw e;
  }
  const dir = await mkdtemp(join(tmpdir(), "ward-fuzz-kubeconfig-"));
  try {
    const path = join(dir, "config");
    await writeFile(path, text, { mode: 0o640 });
    const edited = editKubeconfigFile(path, (t) => addWardEntry(t, opts).text);
    if (failure) await assert.rejects(edited, (e: unknown) => e instanceof KubeconfigError);
    else await edited;
    assert.equal(await readFile(path, "utf8"), failure ? text : want);
    assert.equal((await stat(path)).mode & 0o777, 0o640);
    assert.deepEqual(await readdir(dir), ["config"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

export const kubeconfigEditorTarget: FuzzTarget = {
  name: "kubeconfig-editor",
  what: "kubeconfig edits on random foreign files: foreign bytes kept, the entry present, reversible; broken files refused and left alone",
  properties: [
    fuzzProperty("edit sequences keep every foreign byte", 40, editSequence),
    fuzzProperty("broken files: KubeconfigError and the file untouched, or a correct edit", 60, hostileFile),
  ],
};
