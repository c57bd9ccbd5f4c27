// Invariant checks shared by the kubeconfig tests (not used by the module itself).
import assert from "node:assert/strict";
import { parseDocument } from "yaml";
import { removeWardEntry } from "./edit.ts";
import { listWardEntries } from "./list_ward_entries.ts";
import type { AddOptions } from "./ward_entry.ts";

type Entry = { name: string; [k: string]: unknown };
type Kubeconfig = Record<string, unknown> & { clusters?: Entry[]; contexts?: Entry[]; users?: Entry[] };

/** Parses strictly (any YAML error fails) as a kubeconfig. */
export function parseKubeconfig(text: string): Kubeconfig {
  const doc = parseDocument(text, { logLevel: "error" }); // no warnings for odd keys (the fuzz target writes some)
  assert.deepEqual(doc.errors.map((e) => e.message), [], "output parses");
  return (doc.toJS() ?? {}) as Kubeconfig;
}

/** The text with every Ward entry removed. */
export function stripWard(text: string): string {
  let t = text;
  for (const e of listWardEntries(text)) t = removeWardEntry(t, e.cluster).text;
  return t;
}

/**
 * Every line of `sub` (but those `skip` accepts) appears in `full`, unchanged and in order; a line
 * ending in a flow item may gain a comma and the item added after it; a last line without its
 * line break may gain the CR of a CRLF added after it.
 */
export function assertLinesSubsequence(sub: string, full: string, skip: (line: string) => boolean = () => false): void {
  const lines = full.split("\n");
  const subLines = sub.split("\n");
  const same = (line: string, other: string, last: boolean) => {
    const bare = line.replace(/[ \t]*\r?$/, "");
    return other === line || (last && other === line + "\r") || (other.startsWith(bare) && /^,( \{.*)?\r?$/.test(other.slice(bare.length)));
  };
  let j = 0;
  for (const [i, line] of subLines.entries()) {
    if (skip(line)) continue;
    while (j < lines.length && !same(line, lines[j]!, i === subLines.length - 1)) j++;
    assert.ok(j < lines.length, `line ${JSON.stringify(line)} missing or out of order`);
    j++;
  }
}

const isCurrentContext = (l: string) => /^\s*current-context:/.test(l);
const emptySectionLine = /^(\s*)(clusters|contexts|users):[ \t]*([&!]\S*[ \t]+)*(\[[ \t]*\]|null|~|[&!]\S*)?[ \t]*(#.*)?\r?$/;
/** An empty section's value on a line of its own (`users:` then ` []`), or an empty `[` … `]` over lines. */
const emptyValueLine = /^[ \t]*(\[[ \t]*\]|null|~|\])[ \t]*(#.*)?\r?$/;
const emptyFlowStart = /^\s*(clusters|contexts|users):[ \t]*([&!]\S*[ \t]+)*\[[ \t]*\r?$/;
/** A flow sequence's last line gains or loses items before its `]`. */
const flowEndLine = /\]\s*(#.*)?\r?$/;

/** Lines an add or remove may rewrite: current-context, an emptied or filled section key, a flow end. */
function mayChange(line: string): boolean {
  return isCurrentContext(line) || emptySectionLine.test(line) || emptyFlowStart.test(line) || flowEndLine.test(line);
}

/** Without current-context, empty sections (`[]`, null, nothing and a missing key look alike) and a final line break. */
function normalise(text: string): string {
  return text
    .split("\n")
    .filter((l) => !isCurrentContext(l) && !emptySectionLine.test(l) && !emptyValueLine.test(l) && !emptyFlowStart.test(l))
    .join("\n")
    .replace(/\r?\n?$/, ""); // a final line break the input lacked comes with an edit after it
}

/**
 * The invariants of an add: every other line of the input is in the output, unchanged and in
 * order; without Ward entries both are the same; the output parses and holds exactly one
 * cluster, user and context `ward-<cluster>` with what the options asked for.
 */
export function checkAdd(input: string, output: string, opts: AddOptions): void {
  const name = `ward-${opts.cluster}`;
  // A replaced entry stays in its place: the comparison without Ward entries below covers it.
  if (!listWardEntries(input).some((e) => e.name === name)) assertLinesSubsequence(input, output, mayChange);
  // (An empty input gets a whole fresh kubeconfig: apiVersion, kind and preferences too.)
  const fresh = Object.keys(parseKubeconfig(input)).length === 0;
  if (!fresh) assert.equal(normalise(stripWard(output)), normalise(stripWard(input)));
  const cfg = parseKubeconfig(output);
  const only = (section: "clusters" | "contexts" | "users") => {
    const found = (cfg[section] ?? []).filter((e) => e?.name === name);
    assert.equal(found.length, 1, `one ${section} entry ${name}`);
    return found[0]!;
  };
  assert.deepEqual(only("contexts")["context"], { cluster: name, user: name, ...(opts.namespace ? { namespace: opts.namespace } : {}) });
  const cluster = only("clusters")["cluster"] as Record<string, unknown>;
  assert.equal(cluster["server"], opts.server);
  assert.equal(cluster["certificate-authority-data"], opts.certificateAuthorityData);
  assert.equal(cluster["insecure-skip-tls-verify"], opts.insecureSkipTlsVerify);
  const user = only("users")["user"] as Record<string, { args?: unknown; command?: unknown }>;
  if (opts.user.kind === "token") assert.deepEqual(user, { token: opts.user.token });
  else {
    assert.deepEqual(user["exec"]?.args, ["cluster", "kube-token", "--cluster", opts.cluster, "--gateway", opts.user.gateway]);
    assert.equal(user["exec"]?.command, opts.user.command ?? "ward");
  }
  if (opts.use) assert.equal(cfg["current-context"], name);
}

/**
 * The invariants of a remove: the output's lines are the input's, unchanged and in order, but for
 * emptied section keys, current-context and lines of flow items (the exact expectations cover
 * those); no Ward entry for `cluster` is left.
 */
export function checkRemove(input: string, output: string, cluster: string): void {
  assertLinesSubsequence(output, input, (l) => mayChange(l) || l.includes("{"));
  parseKubeconfig(output);
  assert.deepEqual(
    listWardEntries(output).filter((e) => e.cluster === cluster),
    [],
  );
}
