import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Document, isMap, isSeq, parse } from "yaml";
import { addWardEntry, listWardEntries, removeWardEntry, type AddOptions } from "./index.ts";

// Random foreign kubeconfigs, generated as objects and rendered in several styles; add then remove
// must give back the original bytes, and the add must leave every foreign value in place.

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((s) => !s.startsWith("ward-"));
const anyText = fc.string({ maxLength: 12 }).filter((s) => !s.startsWith("ward-"));
const name = fc.oneof({ weight: 4, arbitrary: word }, { weight: 1, arbitrary: anyText });
const server = fc.oneof(fc.webUrl(), fc.constant("https://127.0.0.1:6443"));

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

const kubeconfig = fc.record(
  {
    apiVersion: fc.constant("v1"),
    kind: fc.constant("Config"),
    clusters: fc.array(clusterEntry, { maxLength: 3 }),
    contexts: fc.array(contextEntry, { maxLength: 3 }),
    users: fc.array(userEntry, { maxLength: 3 }),
    "current-context": word,
    preferences: fc.constant({}),
  },
  { requiredKeys: ["clusters", "contexts", "users"] },
);

interface RenderStyle {
  indentSeq: boolean;
  indent: number;
  flow: boolean[]; // per section: flow style
  comments: boolean;
  blankLines: boolean;
  crlf: boolean;
  shuffleSeed: number;
}

const renderStyle: fc.Arbitrary<RenderStyle> = fc.record({
  indentSeq: fc.boolean(),
  indent: fc.constantFrom(2, 4),
  flow: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  comments: fc.boolean(),
  blankLines: fc.boolean(),
  crlf: fc.boolean(),
  shuffleSeed: fc.nat(),
});

function render(obj: Record<string, unknown>, st: RenderStyle): string {
  // Key order varies with the seed.
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

const addOptions: fc.Arbitrary<AddOptions> = fc.record(
  {
    cluster: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/),
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
  },
  { requiredKeys: ["cluster", "server", "user"] },
);

test("property: add then remove gives back the original bytes; foreign values untouched", () => {
  fc.assert(
    fc.property(kubeconfig, renderStyle, addOptions, (cfg, st, opts) => {
      const text = render(cfg, st);
      const added = addWardEntry(text, opts).text;
      const parsed = parse(added) as Record<string, Array<{ name: string }>>;
      const wardName = `ward-${opts.cluster}`;
      const foreign = Object.fromEntries(
        Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? v.filter((e) => e.name !== wardName) : v]),
      );
      assert.deepEqual(foreign, parse(text));
      // Every line of the input is in the output, unchanged and in order (except a flow sequence's
      // last line, which gains the new item, and `key: []`, which becomes a block sequence).
      const out = added.split("\n");
      let j = 0;
      for (const line of text.split("\n")) {
        if (/\]\s*(#.*)?\r?$/.test(line)) continue;
        while (j < out.length && out[j] !== line) j++;
        assert.ok(j < out.length, `line ${JSON.stringify(line)} missing or out of order`);
        j++;
      }
      assert.equal(listWardEntries(added).filter((e) => e.hasCluster && e.hasUser && e.hasContext).length, 1);
      assert.equal(removeWardEntry(added, opts.cluster).text, text);
      // Replacing in place, then removing, also gives the original back.
      const again = addWardEntry(added, { ...opts, namespace: "other", use: false });
      assert.equal(removeWardEntry(again.text, opts.cluster).text, text);
    }),
    { numRuns: 150 },
  );
});
