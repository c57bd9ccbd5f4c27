import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parse } from "yaml";
import { addWardEntry, listWardEntries, removeWardEntry } from "./index.ts";
// The arbitraries are the kubeconfig-editor fuzz target's (test/helpers/fuzz/), which adds edit
// sequences and broken files.
import { addOptions, kubeconfig, render, renderStyle } from "../../test/helpers/fuzz/kubeconfig_editor.ts";

// Random foreign kubeconfigs, generated as objects and rendered in several styles; add then remove
// must give back the original bytes, and the add must leave every foreign value in place.

test("property: add then remove gives back the original bytes; foreign values untouched", () => {
  fc.assert(
    fc.property(kubeconfig, renderStyle, addOptions.map((o) => ({ ...o, use: false })), (cfg, st, opts) => {
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
