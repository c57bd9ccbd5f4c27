// Pure kubeconfig editing: add, replace, remove and list Ward-managed entries (`ward-<cluster>`)
// while every other byte of the file stays as it was. Semantics come from the yaml Document API;
// positions come from the CST (Parser tokens with offsets); edits are splices of the source text.
import { isMap, isSeq, parseAllDocuments, Parser, stringify, type CST, type Document } from "yaml";
import { CLUSTER_ID_RULE, isValidClusterId } from "../validate/index.ts";

export class KubeconfigError extends Error {
  /** 1-based line of the problem in the input, when known. */
  line: number | undefined;
  constructor(message: string, line?: number) {
    super(message);
    this.name = "KubeconfigError";
    this.line = line;
  }
}

export const WARD_PREFIX = "ward-";
export type ExecApiVersion = "client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1";
/** v1beta1: kubectl 1.20 rejects v1 ("invalid apiVersion"); every newer kubectl accepts v1beta1. */
export const DEFAULT_EXEC_API_VERSION: ExecApiVersion = "client.authentication.k8s.io/v1beta1";

export type WardUser =
  | { kind: "token"; token: string }
  | {
      kind: "exec";
      /** Gateway URL passed as `--gateway`. */
      gateway: string;
      /** Default `ward`. */
      command?: string;
      /** Default v1beta1 (DEFAULT_EXEC_API_VERSION); v1 needs kubectl >= 1.22. */
      apiVersion?: ExecApiVersion;
      /**
       * A POSIX sh script kubectl runs instead (`/bin/sh -c script command key args…`): it may answer
       * from a cache entry named `key`, else it must exec `"$0" "$@"` (the command with its args).
       */
      fastPath?: { script: string; key: string };
    };

export interface AddOptions {
  /** Ward cluster id: lowercase letters, digits and `-`, 1–63 characters. */
  cluster: string;
  /** API server URL kubectl talks to (the gateway's proxy URL for this cluster). */
  server: string;
  /** Base64 PEM bundle for `certificate-authority-data`. */
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
  user: WardUser;
  /** Default namespace of the context. */
  namespace?: string;
  /** Set `current-context` to this entry. */
  use?: boolean;
}

export interface AddResult {
  text: string;
  /** An existing `ward-<cluster>` entry set was replaced (rather than added). */
  replaced: boolean;
  changed: boolean;
}

export interface RemoveResult {
  text: string;
  /** At least one of cluster, user or context `ward-<cluster>` existed and was removed. */
  removed: boolean;
  changed: boolean;
  /**
   * `current-context` named `ward-<cluster>` and is now `""` (as `kubectl config unset
   * current-context` leaves it), so kubectl has no current context until one is chosen.
   */
  currentContextCleared: boolean;
}

export interface WardEntryInfo {
  /** Ward cluster id (name without the `ward-` prefix). */
  cluster: string;
  name: string;
  hasCluster: boolean;
  hasUser: boolean;
  hasContext: boolean;
  server?: string;
  namespace?: string;
  userKind?: "token" | "exec" | "other";
  current: boolean;
}

/** A Ward entry seen across several files, with the file each of its parts comes from. */
export interface MergedWardEntry extends WardEntryInfo {
  sources: { cluster?: string; user?: string; context?: string };
}

export function validateClusterId(id: string): void {
  if (!isValidClusterId(id)) {
    throw new KubeconfigError(`Invalid cluster id ${JSON.stringify(id)}: use ${CLUSTER_ID_RULE}`);
  }
}

export function wardName(cluster: string): string {
  validateClusterId(cluster);
  return WARD_PREFIX + cluster;
}

type Section = "clusters" | "contexts" | "users";
const SECTIONS: readonly Section[] = ["clusters", "contexts", "users"];

// ---------------------------------------------------------------------------------------------
// Rendering of the new entries

function checkUrl(what: string, value: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new KubeconfigError(`Invalid ${what} URL ${JSON.stringify(value)}`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new KubeconfigError(`Invalid ${what} URL ${JSON.stringify(value)}: must be http(s)`);
}

function entryObjects(opts: AddOptions): Record<Section, Record<string, unknown>> {
  const name = wardName(opts.cluster);
  checkUrl("server", opts.server);
  if (opts.certificateAuthorityData && opts.insecureSkipTlsVerify) {
    throw new KubeconfigError("certificate-authority-data and insecure-skip-tls-verify cannot both be set");
  }
  const cluster: Record<string, unknown> = {};
  if (opts.certificateAuthorityData) cluster["certificate-authority-data"] = opts.certificateAuthorityData;
  if (opts.insecureSkipTlsVerify) cluster["insecure-skip-tls-verify"] = true;
  cluster["server"] = opts.server;

  let user: Record<string, unknown>;
  if (opts.user.kind === "token") {
    if (!opts.user.token) throw new KubeconfigError("empty token");
    user = { token: opts.user.token };
  } else {
    checkUrl("gateway", opts.user.gateway);
    const apiVersion = opts.user.apiVersion ?? DEFAULT_EXEC_API_VERSION;
    if (apiVersion !== "client.authentication.k8s.io/v1" && apiVersion !== "client.authentication.k8s.io/v1beta1") {
      throw new KubeconfigError(`Unsupported exec apiVersion ${JSON.stringify(apiVersion)}`);
    }
    const command = opts.user.command || "ward";
    const args = ["cluster", "kube-token", "--cluster", opts.cluster, "--gateway", opts.user.gateway];
    const fast = opts.user.fastPath;
    if (fast && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(fast.key)) throw new KubeconfigError(`Invalid cache key ${JSON.stringify(fast.key)}`);
    user = {
      exec: {
        apiVersion,
        args: fast ? ["-c", fast.script, command, fast.key, ...args] : args,
        command: fast ? "/bin/sh" : command,
        interactiveMode: "Never",
        provideClusterInfo: false,
      },
    };
  }
  const context: Record<string, unknown> = { cluster: name };
  if (opts.namespace) context["namespace"] = opts.namespace;
  context["user"] = name;
  return {
    clusters: { name, cluster },
    contexts: { name, context },
    users: { name, user },
  };
}

interface Style {
  /** Block sequences indented under their key (`key:\n  - a`) rather than not (`key:\n- a`). */
  indentSeq: boolean;
  /** Columns a sequence is indented under its key when `indentSeq`. */
  seqIndent: number;
  /** Indentation of nested mappings. */
  indent: number;
  eol: string;
}

/** Renders one sequence item (`- name: ...`) as lines, each prefixed by `indent` spaces, ending in a newline. */
function renderItem(obj: Record<string, unknown>, indent: number, style: Style): string {
  const text = stringify([obj], { indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 });
  const pad = " ".repeat(indent);
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => pad + l + style.eol)
    .join("");
}

function renderFlowItem(obj: Record<string, unknown>): string {
  // JSON-style double quotes: a multi-line string (the fast-path script) stays on the one line.
  return stringify(obj, { collectionStyle: "flow", flowCollectionPadding: false, lineWidth: 0, doubleQuotedAsJSON: true }).replace(/\n$/, "");
}

function renderScalar(value: string): string {
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, "");
}

function renderFresh(objs: Record<Section, Record<string, unknown>>, current: string | undefined, style: Style): string {
  // The key order kubectl itself writes.
  const item = (s: Section) => renderItem(objs[s], style.indentSeq ? style.seqIndent : 0, { ...style, eol: "\n" }).replace(/\n$/, "");
  const lines: string[] = ["apiVersion: v1", "clusters:", item("clusters"), "contexts:", item("contexts")];
  if (current !== undefined) lines.push(`current-context: ${renderScalar(current)}`);
  lines.push("kind: Config", "preferences: {}", "users:", item("users"));
  return lines.join("\n").replace(/\n/g, style.eol) + style.eol;
}

// ---------------------------------------------------------------------------------------------
// Parsing and locating

type Token = CST.Token;
type SourceToken = CST.SourceToken;

interface Parsed {
  text: string;
  /** Undefined for an empty stream (empty file or comments only). */
  doc: Document | undefined;
  cst: CST.Document | undefined;
  eol: string;
}

function parse(text: string): Parsed {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const line = err.linePos?.[0].line;
      const first = err.message.split("\n")[0];
      throw new KubeconfigError(`Invalid kubeconfig YAML${line ? ` at line ${line}` : ""}: ${first}`, line);
    }
  }
  if (docs.length > 1) throw new KubeconfigError("Invalid kubeconfig: more than one YAML document");
  let cst: CST.Document | undefined;
  for (const t of new Parser().parse(text)) if (t.type === "document") cst = t;
  return { text, doc: docs[0], cst, eol: detectEol(text) };
}

function docOf(p: Parsed): Document {
  if (!p.doc) throw new Error("kubeconfig: no document (bug)");
  return p.doc;
}

function detectEol(text: string): string {
  const i = text.indexOf("\n");
  return i > 0 && text[i - 1] === "\r" ? "\r\n" : "\n";
}

const TRIVIA = new Set(["space", "newline", "comment"]);

/** End offset of the last non-trivia source token inside `node` (−1 if none). */
function contentEnd(node: unknown): number {
  let max = -1;
  const walk = (n: unknown): void => {
    if (!n || typeof n !== "object") return;
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    const o = n as Record<string, unknown>;
    if (o["type"] === "block-scalar") {
      // Its offset is the header's; the source (kept trailing blank lines too) follows the header line.
      const b = o as unknown as CST.BlockScalar;
      const last = b.props.at(-1) as SourceToken | undefined;
      max = Math.max(max, (last ? last.offset + last.source.length : b.offset) + b.source.length);
    } else if (typeof o["offset"] === "number" && typeof o["source"] === "string" && typeof o["type"] === "string") {
      if (!TRIVIA.has(o["type"])) max = Math.max(max, (o["offset"] as number) + (o["source"] as string).length);
    }
    for (const k of ["start", "key", "sep", "value", "items", "end", "props"]) if (k in o) walk(o[k]);
  };
  walk(node);
  return max;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset just after the newline ending the line that contains `offset` (or the text length). */
function lineEnd(text: string, offset: number): number {
  const i = text.indexOf("\n", offset);
  return i < 0 ? text.length : i + 1;
}

function isBlankLine(line: string): boolean {
  return /^[ \t]*\r?\n?$/.test(line);
}

function isCommentLine(line: string): boolean {
  return /^[ \t]*#/.test(line);
}

/** Moves the line start `start` up over the lines matching `take`, never above `floor`. */
function linesAbove(text: string, start: number, floor: number, take: (line: string) => boolean): number {
  let s = start;
  while (s > floor) {
    const prev = lineStart(text, s - 1);
    if (prev < floor || !take(text.slice(prev, s))) break;
    s = prev;
  }
  return s;
}

function column(text: string, offset: number): number {
  const ls = lineStart(text, offset);
  // A byte-order mark is not indentation.
  return offset - ls - (ls === 0 && offset > 0 && text.charCodeAt(0) === 0xfeff ? 1 : 0);
}

function scalarSource(t: Token | undefined): string | undefined {
  if (!t) return undefined;
  if (t.type === "scalar") return t.source;
  if (t.type === "single-quoted-scalar") return t.source.slice(1, -1).replace(/''/g, "'");
  if (t.type === "double-quoted-scalar") {
    try {
      return JSON.parse(t.source) as string;
    } catch {
      return t.source.slice(1, -1);
    }
  }
  return undefined;
}

interface TopItem {
  item: CST.BlockMap["items"][number];
  keyName: string;
}

function topItems(map: CST.BlockMap): TopItem[] {
  const out: TopItem[] = [];
  for (const item of map.items) {
    const keyName = scalarSource(item.key ?? undefined);
    if (keyName !== undefined) out.push({ item, keyName });
  }
  return out;
}

function colonEnd(item: CST.BlockMap["items"][number]): number | undefined {
  for (const t of item.sep ?? []) if (t.type === "map-value-ind") return t.offset + t.source.length;
  return undefined;
}

function isNullScalar(t: Token | undefined): boolean {
  if (!t) return true;
  if (t.type !== "scalar") return false;
  return t.source === "" || t.source === "~" || /^(null|Null|NULL)$/.test(t.source);
}

/**
 * The file's own style: whether block sequences are indented under their key (`key:\n  - a`) and
 * by how much, and the indentation of nested mappings. Undefined parts: nothing to look at.
 */
function detectStyle(text: string, node: unknown): { seqIndent?: number; mapIndent?: number } {
  let seqIndent: number | undefined;
  let mapIndent: number | undefined;
  const walk = (n: unknown, keyCol: number | undefined): void => {
    if ((seqIndent !== undefined && mapIndent !== undefined) || !n || typeof n !== "object") return;
    const o = n as { type?: string; items?: unknown[]; offset?: number };
    if (o.type === "block-seq" && keyCol !== undefined && typeof o.offset === "number" && seqIndent === undefined) {
      seqIndent = Math.max(0, column(text, o.offset) - keyCol);
    }
    if (o.type === "block-map" && keyCol !== undefined && typeof o.offset === "number" && mapIndent === undefined) {
      const d = column(text, o.offset) - keyCol;
      if (d >= 2 && d <= 8) mapIndent = d;
    }
    if (o.type === "block-map" && Array.isArray(o.items)) {
      for (const it of o.items as CST.BlockMap["items"]) {
        const kc = it.key && "offset" in it.key ? column(text, it.key.offset) : undefined;
        walk(it.value, kc);
      }
    } else if (o.type === "block-seq" && Array.isArray(o.items)) {
      for (const it of o.items as CST.BlockSequence["items"]) walk(it.value, undefined);
    }
  };
  walk(node, undefined);
  return { seqIndent, mapIndent };
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  // Stable sort by start; edits at the same position apply in the order they were made.
  const sorted = edits.map((e, i) => ({ e, i })).sort((a, b) => a.e.start - b.e.start || a.i - b.i);
  let out = "";
  let pos = 0;
  for (const { e } of sorted) {
    if (e.start < pos) throw new Error("kubeconfig: overlapping edits (bug)");
    out += text.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + text.slice(pos);
}

/** An insertion at `offset`, which is at a line start or the end of the text; adds a missing final newline. */
function insertLines(text: string, offset: number, lines: string, eol: string): Edit {
  const needNl = offset === text.length && text.length > 0 && !text.endsWith("\n");
  return { start: offset, end: offset, text: (needNl ? eol : "") + lines };
}

function nameOf(node: unknown): string | undefined {
  if (!isMap(node)) return undefined;
  const n = node.get("name");
  return typeof n === "string" ? n : undefined;
}

interface SectionPlan {
  /** Names to remove entirely (all of them), or to replace (first one) when `replacement` is set. */
  name: string;
  replacement: Record<string, unknown> | undefined;
}

interface Ctx {
  p: Parsed;
  style: Style;
  edits: Edit[];
  topMap: CST.BlockMap;
}

/** Consecutive runs `[first, last]` of the sorted indices. */
function runs(indices: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const i of indices) {
    const last = out.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

interface BlockItems {
  text: string;
  /** Start of each item's own lines: its dash line and the comment lines directly above it. */
  ownStart: number[];
  /** Offset each item's lines can reach up to: the end of the previous item, or of the key's line. */
  floors: number[];
  /** End of the line holding the sequence's last content. */
  seqEnd: number;
}

/**
 * The removal of the block items `a..b`. The blank lines that set the run apart go with it unless
 * they are still needed: between two remaining items one blank line gap stays; at the end of the
 * sequence the gap above the run goes (what follows the sequence keeps its own separation).
 */
function removeBlockRun(block: BlockItems, a: number, b: number): Edit {
  const { text, ownStart, floors, seqEnd } = block;
  const isLast = b + 1 === ownStart.length;
  let start = ownStart[a]!;
  let end = isLast ? seqEnd : ownStart[b + 1]!;
  if (isLast) {
    start = linesAbove(text, start, floors[a]!, isBlankLine);
  } else if (a > 0 && linesAbove(text, start, floors[a]!, isBlankLine) === start) {
    // No blank line above: the blank lines below keep separating the neighbours.
    while (end > start && isBlankLine(text.slice(lineStart(text, end - 1), end))) end = lineStart(text, end - 1);
  }
  return { start, end, text: "" };
}

interface FlowItems {
  text: string;
  items: CST.FlowCollection["items"];
  /** Start and end of each item's own text. */
  starts: number[];
  ends: number[];
}

/** What lies between the items within `[start, end)`: commas, spaces, line breaks and comments. */
function gapsOf(flow: FlowItems, start: number, end: number): string {
  let out = "";
  let pos = start;
  flow.starts.forEach((s, k) => {
    if (s >= pos && flow.ends[k]! <= end) {
      out += flow.text.slice(pos, s);
      pos = flow.ends[k]!;
    }
  });
  return out + flow.text.slice(pos, end);
}

/**
 * The removal of the flow items `a..b` with one separating comma. Comments between them stay (in
 * a flow sequence they cannot be told apart from the neighbours'); a line left empty goes.
 */
function removeFlowRun(flow: FlowItems, a: number, b: number): Edit[] {
  const { text, items, starts, ends } = flow;
  const hasNext = b + 1 < items.length;
  const start = a > 0 ? ends[a - 1]! : starts[a]!;
  const end = a === 0 && hasNext ? starts[b + 1]! : ends[b]!;
  const cuts: Array<[number, number]> = [];
  if (!gapsOf(flow, start, end).includes("#")) {
    cuts.push([start, end]);
  } else {
    for (let k = a; k <= b; k++) cuts.push([starts[k]!, ends[k]!]);
    const commaOwners = [...Array.from({ length: b - a }, (_, i) => a + 1 + i), hasNext ? b + 1 : a];
    for (const k of commaOwners) {
      const comma = items[k]?.start.find((t) => t.type === "comma");
      if (comma && k > 0) cuts.push([comma.offset, comma.offset + 1]);
    }
  }
  return mergeCuts(text, cuts).map(([s, e]) => ({ start: s, end: e, text: "" }));
}

/** What goes before an item added last: nothing, `, `, or a line break when the items have a line each. */
function flowSeparator(flow: FlowItems, open: number, eol: string): string {
  const last = flow.starts.at(-1);
  if (last === undefined) return "";
  const ls = lineStart(flow.text, last);
  const indent = flow.text.slice(ls, last);
  if (ls < open || !/^[ \t]*$/.test(indent)) return ", ";
  return "," + eol + indent;
}

/** Sorted cuts, joined over the spaces between them; a cut that empties its line takes the line. */
function mergeCuts(text: string, cuts: Array<[number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [s, e] of cuts.sort((x, y) => x[0] - y[0])) {
    const last = merged.at(-1);
    if (last && /^[ \t]*$/.test(text.slice(last[1], s))) last[1] = e;
    else merged.push([s, e]);
  }
  return merged.map(([s, e]) => {
    const ls = lineStart(text, s);
    const le = lineEnd(text, e);
    const lineRest = text.slice(e, le);
    if (/^[ \t]*$/.test(text.slice(ls, s))) {
      // The cut begins the line: what follows moves into its place, or the emptied line goes.
      return /^[ \t]*\r?\n?$/.test(lineRest) ? [ls, le] : [s, e + /^[ \t]*/.exec(lineRest)![0].length];
    }
    return [s, e];
  });
}

/** Plans the edits for one section; returns whether anything matching `name` existed. */
function editSection(ctx: Ctx, section: Section, plan: SectionPlan): boolean {
  const { p, style, edits, topMap } = ctx;
  const text = p.text;
  const top = topItems(topMap).find((t) => t.keyName === section);
  const docValue = docOf(p).get(section, true);
  const seqIndentFor = (keyOffset: number) => column(text, keyOffset) + (style.indentSeq ? style.seqIndent : 0);

  if (!top) {
    if (!plan.replacement) return false;
    const mapEnd = contentEnd(topMap);
    const at = lineEnd(text, Math.max(mapEnd - 1, 0));
    const keyCol = column(text, topMap.offset);
    const lines = " ".repeat(keyCol) + section + ":" + style.eol + renderItem(plan.replacement, keyCol + (style.indentSeq ? style.seqIndent : 0), style);
    edits.push(insertLines(text, at, lines, p.eol));
    return false;
  }

  const { item } = top;
  const value = item.value;
  const keyOffset = (item.key as SourceToken).offset;
  const colon = colonEnd(item);
  if (colon === undefined) throw new KubeconfigError(`Invalid kubeconfig: '${section}' has no value`);

  // Null or empty flow sequence: replace by a block sequence (only when adding).
  const emptyFlow = value?.type === "flow-collection" && value.start.source === "[" && value.items.length === 0;
  if (isNullScalar(value ?? undefined) || emptyFlow) {
    if (!plan.replacement) return false;
    const valueEnd = value ? contentEnd(value) : colon;
    if (valueEnd > colon) edits.push({ start: colon, end: valueEnd, text: "" });
    const at = lineEnd(text, Math.max(valueEnd - 1, colon - 1));
    edits.push(insertLines(text, at, renderItem(plan.replacement, seqIndentFor(keyOffset), style), p.eol));
    return false;
  }

  if (!isSeq(docValue)) throw new KubeconfigError(`Invalid kubeconfig: '${section}' must be a list`);
  const names = docValue.items.map(nameOf);
  const matches = names.map((n, i) => (n === plan.name ? i : -1)).filter((i) => i >= 0);
  // The first match is replaced when adding; every other match is removed.
  const replaceAt = plan.replacement ? matches[0] : undefined;
  const removed = matches.filter((i) => i !== replaceAt);
  const allRemoved = removed.length === names.length && names.length > 0;

  if (value?.type === "block-seq") {
    const items = value.items.filter((it) => it.start.some((t) => t.type === "seq-item-ind"));
    if (items.length !== names.length) throw new Error(`kubeconfig: CST/document mismatch in '${section}' (bug)`);
    const dashes = items.map((it) => it.start.find((t) => t.type === "seq-item-ind")!.offset);
    // Where each item's own lines may begin: after the previous item's content (or the key's line).
    const floors = items.map((_, i) => (i > 0 ? lineEnd(text, contentEnd(items[i - 1]) - 1) : lineEnd(text, colon)));
    const block: BlockItems = {
      text,
      ownStart: dashes.map((d, i) => linesAbove(text, lineStart(text, d), floors[i]!, isCommentLine)),
      floors,
      seqEnd: lineEnd(text, Math.max(contentEnd(value) - 1, 0)),
    };
    if (replaceAt !== undefined && plan.replacement) {
      const s = lineStart(text, dashes[replaceAt]!);
      const e = lineEnd(text, Math.max(contentEnd(items[replaceAt]) - 1, s));
      edits.push({ start: s, end: e, text: renderItem(plan.replacement, column(text, dashes[replaceAt]!), style) });
    }
    for (const [a, b] of runs(removed)) edits.push(removeBlockRun(block, a, b));
    if (plan.replacement && replaceAt === undefined) {
      const indent = dashes.length ? column(text, dashes[0]!) : seqIndentFor(keyOffset);
      // Items set apart by blank lines: so is the new one.
      const n = items.length;
      const spaced = n >= 2 && linesAbove(text, block.ownStart[n - 1]!, floors[n - 1]!, isBlankLine) < block.ownStart[n - 1]!;
      edits.push(insertLines(text, block.seqEnd, (spaced ? style.eol : "") + renderItem(plan.replacement, indent, style), p.eol));
    }
    // Everything goes: leave an explicit empty list behind (kubectl reads `[]`, `null` and a
    // missing key alike; `[]` keeps the key, its comment and its place).
    if (allRemoved) {
      const props = (item.sep ?? []).filter((t) => t.type === "anchor" || t.type === "tag").at(-1); // `&a []`, not `[] &a`
      const at = props ? props.offset + props.source.length : colon;
      edits.push({ start: at, end: at, text: " []" });
    }
    return matches.length > 0;
  }

  if (value?.type === "flow-collection" && value.start.source === "[") {
    const items = value.items.filter((it) => it.value);
    if (items.length !== names.length) throw new Error(`kubeconfig: CST/document mismatch in '${section}' (bug)`);
    const starts = items.map((it) => (it.value as SourceToken).offset);
    const ends = items.map((it) => contentEnd(it.value));
    if (replaceAt !== undefined && plan.replacement) {
      edits.push({ start: starts[replaceAt]!, end: ends[replaceAt]!, text: renderFlowItem(plan.replacement) });
    }
    const flow: FlowItems = { text, items, starts, ends };
    const open = value.start.offset + 1;
    const close = value.end.find((t) => t.type === "flow-seq-end")?.offset;
    if (allRemoved && close !== undefined && !gapsOf(flow, open, close).includes("#")) {
      edits.push({ start: open, end: close, text: "" }); // `[` and `]` close up, also over several lines
    } else {
      for (const [a, b] of runs(removed)) edits.push(...removeFlowRun(flow, a, b));
    }
    if (plan.replacement && replaceAt === undefined) {
      const at = items.length ? ends.at(-1)! : open;
      edits.push({ start: at, end: at, text: flowSeparator(flow, open, p.eol) + renderFlowItem(plan.replacement) });
    }
    return matches.length > 0;
  }
  throw new KubeconfigError(`Invalid kubeconfig: '${section}' must be a list`);
}

function topBlockMap(p: Parsed): CST.BlockMap | undefined {
  const v = p.cst?.value;
  if (!v) return undefined;
  if (v.type === "block-map") return v;
  if (isNullScalar(v)) return undefined;
  if (v.type === "flow-collection" && v.start.source === "{" && v.items.length === 0) return undefined;
  if (v.type === "flow-collection") throw new KubeconfigError("Unsupported kubeconfig: flow-style top-level mapping");
  throw new KubeconfigError("Invalid kubeconfig: the top level must be a mapping");
}

function styleFor(p: Parsed, topMap: CST.BlockMap | undefined): Style {
  const d = topMap ? detectStyle(p.text, topMap) : {};
  const seqIndent = d.seqIndent ?? 0;
  return { indentSeq: seqIndent > 0, seqIndent: seqIndent || 2, indent: d.mapIndent ?? 2, eol: p.eol };
}

// ---------------------------------------------------------------------------------------------
// Public operations

/**
 * Adds the Ward entry set for `opts.cluster` (cluster, user and context `ward-<cluster>`), replacing
 * an existing one in place. Optionally sets `current-context`. Everything else stays byte-identical.
 * Throws KubeconfigError on invalid input (YAML or options); nothing is returned then.
 */
export function addWardEntry(text: string, opts: AddOptions): AddResult {
  const objs = entryObjects(opts);
  const name = wardName(opts.cluster);
  const p = parse(text);
  const topMap = topBlockMap(p);
  const style = styleFor(p, topMap);
  if (!topMap) {
    // Empty file, comments only, `null` or `{}`: write a fresh kubeconfig (keeping any comments).
    const fresh = renderFresh(objs, opts.use ? name : undefined, style);
    const v = p.cst?.value;
    let out: string;
    if (v && contentEnd(v) > 0) {
      const s = (v as SourceToken).offset;
      const e = contentEnd(v);
      const before = text.slice(0, s);
      out = before + fresh + text.slice(lineEnd(text, e - 1)).replace(/^\r?\n/, "");
    } else {
      out = text.length && !text.endsWith("\n") ? text + style.eol + fresh : text + fresh;
    }
    return { text: out, replaced: false, changed: out !== text };
  }
  const ctx: Ctx = { p, style, edits: [], topMap };
  let replaced = false;
  for (const s of SECTIONS) if (editSection(ctx, s, { name, replacement: objs[s] })) replaced = true;
  if (opts.use && docOf(p).get("current-context") !== name) setCurrentContext(ctx, name);
  const out = applyEdits(text, ctx.edits);
  return { text: out, replaced, changed: out !== text };
}

/** Sets `current-context` to `name`, in place when the key exists. */
function setCurrentContext(ctx: Ctx, name: string): void {
  const { p, edits, topMap } = ctx;
  const top = topItems(topMap).find((t) => t.keyName === "current-context");
  const rendered = renderScalar(name);
  if (!top) {
    const at = lineEnd(p.text, Math.max(contentEnd(topMap) - 1, 0));
    edits.push(insertLines(p.text, at, " ".repeat(column(p.text, topMap.offset)) + "current-context: " + rendered + p.eol, p.eol));
    return;
  }
  const v = top.item.value;
  const colon = colonEnd(top.item);
  if (colon === undefined) throw new KubeconfigError("Invalid kubeconfig: 'current-context' has no value");
  if (v && (v.type === "scalar" || v.type === "single-quoted-scalar" || v.type === "double-quoted-scalar") && v.source !== "") {
    edits.push({ start: v.offset, end: v.offset + v.source.length, text: rendered });
  } else if (!v || (v.type === "scalar" && v.source === "")) {
    edits.push({ start: colon, end: colon, text: " " + rendered });
  } else {
    throw new KubeconfigError("Invalid kubeconfig: 'current-context' must be a string");
  }
}

/**
 * Removes every cluster, user and context named `ward-<cluster>`, and clears `current-context` when
 * it names that context. Everything else stays byte-identical.
 */
export function removeWardEntry(text: string, cluster: string): RemoveResult {
  const name = wardName(cluster);
  const p = parse(text);
  const topMap = topBlockMap(p);
  if (!topMap) return { text, removed: false, changed: false, currentContextCleared: false };
  const ctx: Ctx = { p, style: styleFor(p, topMap), edits: [], topMap };
  let removed = false;
  for (const s of SECTIONS) if (editSection(ctx, s, { name, replacement: undefined })) removed = true;
  // A current-context naming a context that no longer exists makes every kubectl command fail
  // ("context was not found"); cleared, kubectl just reports that none is set.
  const currentContextCleared = docOf(p).get("current-context") === name;
  if (currentContextCleared) setCurrentContext(ctx, "");
  const out = applyEdits(text, ctx.edits);
  return { text: out, removed, changed: out !== text, currentContextCleared };
}

/** Lists the Ward-managed entries (named `ward-<valid cluster id>`), sorted by cluster id. */
export function listWardEntries(text: string): WardEntryInfo[] {
  return scanWardEntries(text).entries;
}

/**
 * The Ward entries of several kubeconfig files (the `$KUBECONFIG` list, in order), merged as kubectl
 * merges them: for each name, the cluster, the user and the context each come from the first file
 * that has one; the first non-empty `current-context` is the current one. Sorted by cluster id.
 * A file that does not parse throws a KubeconfigError naming its path.
 */
export function mergeWardEntries(files: ReadonlyArray<{ path: string; text: string }>): MergedWardEntry[] {
  let current: string | undefined;
  const byName = new Map<string, MergedWardEntry>();
  for (const { path, text } of files) {
    let scan: WardScan;
    try {
      scan = scanWardEntries(text);
    } catch (e) {
      if (e instanceof KubeconfigError) throw new KubeconfigError(`${path}: ${e.message}`, e.line);
      throw e;
    }
    current ||= scan.currentContext;
    for (const e of scan.entries) {
      const m = byName.get(e.name) ?? { ...newEntry(e.name), sources: {} };
      byName.set(e.name, m);
      if (e.hasCluster && !m.hasCluster) {
        m.hasCluster = true;
        m.sources.cluster = path;
        if (e.server !== undefined) m.server = e.server;
      }
      if (e.hasContext && !m.hasContext) {
        m.hasContext = true;
        m.sources.context = path;
        if (e.namespace !== undefined) m.namespace = e.namespace;
      }
      if (e.hasUser && !m.hasUser) {
        m.hasUser = true;
        m.sources.user = path;
        if (e.userKind !== undefined) m.userKind = e.userKind;
      }
    }
  }
  for (const m of byName.values()) m.current = m.name === current;
  return sortByCluster([...byName.values()]);
}

interface WardScan {
  /** The file's `current-context` when it is a non-empty string. */
  currentContext: string | undefined;
  entries: WardEntryInfo[];
}

function newEntry(name: string): WardEntryInfo {
  return { cluster: name.slice(WARD_PREFIX.length), name, hasCluster: false, hasUser: false, hasContext: false, current: false };
}

function sortByCluster<T extends WardEntryInfo>(entries: T[]): T[] {
  return entries.sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
}

function scanWardEntries(text: string): WardScan {
  const p = parse(text);
  if (!p.doc || !isMap(p.doc.contents)) {
    topBlockMap(p); // throws for non-mapping top levels
    return { currentContext: undefined, entries: [] };
  }
  const cc = p.doc.get("current-context");
  const currentContext = typeof cc === "string" && cc !== "" ? cc : undefined;
  const byName = new Map<string, WardEntryInfo>();
  for (const section of SECTIONS) {
    const seq = p.doc.get(section, true);
    if (!isSeq(seq)) continue;
    for (const item of seq.items) {
      const name = nameOf(item);
      if (!name || !name.startsWith(WARD_PREFIX) || !isValidClusterId(name.slice(WARD_PREFIX.length)) || !isMap(item)) continue;
      let e = byName.get(name);
      if (!e) byName.set(name, (e = { ...newEntry(name), current: name === currentContext }));
      if (section === "clusters") {
        e.hasCluster = true;
        const server = item.getIn(["cluster", "server"]);
        if (typeof server === "string") e.server = server;
      } else if (section === "contexts") {
        e.hasContext = true;
        const ns = item.getIn(["context", "namespace"]);
        if (typeof ns === "string") e.namespace = ns;
      } else {
        e.hasUser = true;
        const u = item.get("user", true);
        e.userKind = isMap(u) && u.has("exec") ? "exec" : isMap(u) && u.has("token") ? "token" : "other";
      }
    }
  }
  return { currentContext, entries: sortByCluster([...byName.values()]) };
}
