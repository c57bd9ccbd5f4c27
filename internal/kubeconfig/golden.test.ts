// Golden tests: every fixture (testdata/<fixture>.input.yaml) through every operation, each output
// checked against its invariants and compared with testdata/<fixture>.<op>.golden.yaml.
// UPDATE_GOLDEN=1 node --test internal/kubeconfig/golden.test.ts rewrites the golden files.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { stringify } from "yaml";
import { addWardEntry, listWardEntries, removeWardEntry, type AddOptions } from "./index.ts";
import { checkAdd, checkRemove, parseKubeconfig } from "./testing.ts";

const dir = new URL("./testdata/", import.meta.url);
const UPDATE = process.env["UPDATE_GOLDEN"] === "1";

interface Fixture {
  name: string;
  /** Add then remove gives back the input's bytes (not where sections were missing or empty). */
  roundTrip: boolean;
  /** A CRLF copy of the fixture, checked against the CRLF form of the same golden files. */
  crlf?: boolean;
}

const FIXTURES: Fixture[] = [
  { name: "mixed", roundTrip: true, crlf: true }, // comments everywhere, indented and flush sequences, a flow list
  { name: "indented", roundTrip: true }, // 4-space mappings and indented sequences
  { name: "blank-lines", roundTrip: true, crlf: true }, // blank lines and comments between entries
  { name: "flow", roundTrip: true }, // flow-style lists over one and several lines
  { name: "kubectl", roundTrip: true }, // as kubectl writes it; the current context is Ward's
  { name: "empty-sections", roundTrip: false }, // `[]`, null and nothing as section values
  { name: "missing-sections", roundTrip: false },
  { name: "comments-only", roundTrip: false },
  { name: "empty", roundTrip: false },
];

const GW = "https://gw.example.com";
const server = `${GW}/k8s/dev`;
const TOKEN: AddOptions = { cluster: "dev", server, certificateAuthorityData: "Q0EtREFUQQ==", user: { kind: "token", token: "s3cret" }, namespace: "team-a", use: true };
const EXEC: AddOptions = {
  cluster: "dev",
  server,
  insecureSkipTlsVerify: true,
  user: { kind: "exec", gateway: GW, command: "/opt/ward/bin/ward", apiVersion: "client.authentication.k8s.io/v1" },
};
/** Default command and apiVersion; no namespace, CA or --use. */
const EXEC_DEFAULTS: AddOptions = { cluster: "dev", server: `${GW}/k8s/dev2`, user: { kind: "exec", gateway: GW } };

const crlf = (s: string) => s.replace(/\n/g, "\r\n");

function input(f: Fixture, variant: "lf" | "crlf"): string {
  const text = readFileSync(new URL(`${f.name}.input.yaml`, dir), "utf8");
  return variant === "crlf" ? crlf(text) : text;
}

/** Compares with testdata/<fixture>.<op>.golden.yaml (CRLF copies against its CRLF form). */
function golden(f: Fixture, op: string, variant: "lf" | "crlf", actual: string): void {
  const url = new URL(goldenName(f, op), dir);
  if (UPDATE && variant === "lf") writeFileSync(url, actual);
  assert.ok(existsSync(url), `missing testdata/${goldenName(f, op)}: run with UPDATE_GOLDEN=1 and review it`);
  const expected = readFileSync(url, "utf8");
  assert.equal(actual, variant === "crlf" ? crlf(expected) : expected, `golden ${goldenName(f, op)} (${variant})`);
}

function goldenName(f: Fixture, op: string): string {
  return `${f.name}.${op}.golden.yaml`;
}

/** The operations each fixture goes through; `remove` and `replace-existing` need a Ward entry in it. */
function operations(f: Fixture): string[] {
  const hasWard = listWardEntries(input(f, "lf")).length > 0;
  return ["add-token", "add-exec", "replace", "list", ...(hasWard ? ["remove", "replace-existing"] : [])];
}

function runFixture(f: Fixture, variant: "lf" | "crlf"): void {
  const text = input(f, variant);
  const existing = listWardEntries(text).map((e) => e.cluster);
  const ops = operations(f);

  const token = addWardEntry(text, TOKEN);
  assert.equal(token.replaced, false);
  checkAdd(text, token.text, TOKEN);
  golden(f, "add-token", variant, token.text);

  const exec = addWardEntry(text, EXEC);
  checkAdd(text, exec.text, EXEC);
  golden(f, "add-exec", variant, exec.text);

  const replace = addWardEntry(token.text, EXEC_DEFAULTS);
  assert.equal(replace.replaced, true);
  checkAdd(text, replace.text, { ...EXEC_DEFAULTS, use: true });
  golden(f, "replace", variant, replace.text);

  golden(f, "list", "lf", stringify(listWardEntries(text))); // the same for both line endings

  // Add then remove: the input again, but for a current-context that --use changed (now cleared).
  const back = removeWardEntry(exec.text, "dev");
  assert.equal(back.removed, true);
  assert.equal(back.currentContextCleared, false);
  if (f.roundTrip) assert.equal(back.text, text, "add-exec then remove gives the input back");
  else checkRemove(exec.text, back.text, "dev");
  const unused = removeWardEntry(token.text, "dev");
  assert.equal(unused.currentContextCleared, true);
  assert.equal(parseKubeconfig(unused.text)["current-context"], "");

  if (ops.includes("remove")) {
    let out = text;
    for (const id of existing) {
      const r = removeWardEntry(out, id);
      assert.equal(r.removed, true);
      checkRemove(out, r.text, id);
      out = r.text;
    }
    assert.deepEqual(listWardEntries(out), []);
    golden(f, "remove", variant, out);
  } else {
    assert.equal(removeWardEntry(text, "dev").changed, false);
  }

  if (ops.includes("replace-existing")) {
    const opts: AddOptions = { ...EXEC_DEFAULTS, cluster: existing[0]!, server: `${GW}/k8s/${existing[0]}` };
    const r = addWardEntry(text, opts);
    assert.equal(r.replaced, true);
    checkAdd(text, r.text, opts);
    golden(f, "replace-existing", variant, r.text);
    assert.equal(addWardEntry(r.text, opts).changed, false, "adding the same again changes nothing");
  }
}

for (const f of FIXTURES) {
  test(`golden: ${f.name}`, () => runFixture(f, "lf"));
  if (f.crlf) test(`golden: ${f.name} (CRLF)`, () => runFixture(f, "crlf"));
}

test("golden: no stale golden files", () => {
  const expected = new Set(FIXTURES.flatMap((f) => operations(f).map((op) => goldenName(f, op))));
  const stale = readdirSync(dir).filter((n) => n.endsWith(".golden.yaml") && !expected.has(n));
  assert.deepEqual(stale, [], "golden files no fixture produces");
});
