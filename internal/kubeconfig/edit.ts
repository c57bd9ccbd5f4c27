// Pure kubeconfig editing: add, replace and remove Ward-managed entries (`ward-<cluster>`)
// while every other byte of the file stays as it was. Semantics come from the yaml Document API;
// positions come from the CST (`_cst.ts`); edits are splices of the source text (`_splice.ts`).
import { isSeq, type CST } from "yaml";
import { colonEnd, column, contentEnd, docOf, isBlankLine, isCommentLine, isNullScalar, lineEnd, linesAbove, lineStart, nameOf, parse, type Parsed, type SourceToken, styleFor, topBlockMap, topItems } from "./_cst.ts";
import { entryObjects, renderFlowItem, renderFresh, renderItem, renderScalar, type Style } from "./_render.ts";
import { applyEdits, type BlockItems, type Edit, type FlowItems, flowSeparator, gapsOf, insertLines, removeBlockRun, removeFlowRun, runs } from "./_splice.ts";
import { KubeconfigError } from "./kubeconfig_error.ts";
import { type AddOptions, type AddResult, type RemoveResult, type Section, SECTIONS, wardName } from "./ward_entry.ts";

interface SectionPlan {
  /** Names to remove entirely (all of them), or to replace (first one) when `replacement` is set. */
  name: string;
  replacement: Record<string, unknown> | undefined;
}

interface Ctx {
  p: Parsed;
  style: Style;
  edits: Edit[];
  /**
   * Missing sections, added at the end of the top-level map. Applied after `edits`: when the last
   * section present gains items there too, they must come first, or they would join the new list.
   */
  newSections: Edit[];
  topMap: CST.BlockMap;
}

/** Where a key's value may change: after its anchor or tag (`&a []`, not `[] &a`), which stay; else `colon`. */
function afterProps(item: CST.BlockMap["items"][number], colon: number): number {
  const props = (item.sep ?? []).filter((t) => t.type === "anchor" || t.type === "tag").at(-1);
  return props ? props.offset + props.source.length : colon;
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
    const keyCol = topMap.indent; // not the first key's column: `&a apiVersion: v1` starts at 3
    const lines = " ".repeat(keyCol) + section + ":" + style.eol + renderItem(plan.replacement, keyCol + (style.indentSeq ? style.seqIndent : 0), style);
    ctx.newSections.push(insertLines(text, at, lines, p.eol));
    return false;
  }

  const { item } = top;
  const value = item.value;
  const keyOffset = (item.key as SourceToken).offset;
  const colon = colonEnd(item);
  if (colon === undefined) throw new KubeconfigError(`Invalid kubeconfig: '${section}' has no value`);
  const valueStart = afterProps(item, colon);

  // Null or empty flow sequence: replace by a block sequence (only when adding).
  const emptyFlow = value?.type === "flow-collection" && value.start.source === "[" && value.items.length === 0;
  if (isNullScalar(value ?? undefined) || emptyFlow) {
    if (!plan.replacement) return false;
    const valueEnd = value ? contentEnd(value) : colon;
    if (valueEnd > valueStart) edits.push({ start: valueStart, end: valueEnd, text: "" });
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
    if (allRemoved) edits.push({ start: valueStart, end: valueStart, text: " []" });
    return matches.length > 0;
  }

  if (value?.type === "flow-collection" && value.start.source === "[") {
    // An item is a value, or a pair: implicit (`name: x`, even `: x`) or explicit (`? x : y`, even a
    // bare `?`), each possibly after an anchor or tag (`!!map {…}`, even a bare `!!map`). Its text
    // starts at its first token of these.
    // A replaced item keeps its anchor and tag (an alias elsewhere may name it); a removed one goes whole.
    type Item = (typeof value.items)[number];
    const body = (it: Item) => it.start.find((t) => t.type === "explicit-key-ind") ?? it.key ?? it.sep?.find((t) => t.type === "map-value-ind") ?? it.value;
    const first = (it: Item) => it.start.find((t) => t.type === "anchor" || t.type === "tag") ?? body(it);
    const items = value.items.filter((it) => first(it));
    if (items.length !== names.length) throw new Error(`kubeconfig: CST/document mismatch in '${section}' (bug)`);
    const starts = items.map((it) => first(it)!.offset);
    const ends = items.map((it) => contentEnd([first(it), it.key, it.sep, it.value]));
    if (replaceAt !== undefined && plan.replacement) {
      const at = body(items[replaceAt]!)?.offset ?? starts[replaceAt]!;
      edits.push({ start: at, end: ends[replaceAt]!, text: renderFlowItem(plan.replacement) });
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
  const ctx: Ctx = { p, style, edits: [], newSections: [], topMap };
  let replaced = false;
  for (const s of SECTIONS) if (editSection(ctx, s, { name, replacement: objs[s] })) replaced = true;
  ctx.edits.push(...ctx.newSections);
  if (opts.use && docOf(p).get("current-context") !== name) setCurrentContext(ctx, name);
  const out = stillValid(applyEdits(text, ctx.edits));
  return { text: out, replaced, changed: out !== text };
}

/** Sets `current-context` to `name`, in place when the key exists. */
function setCurrentContext(ctx: Ctx, name: string): void {
  const { p, edits, topMap } = ctx;
  const top = topItems(topMap).find((t) => t.keyName === "current-context");
  const rendered = renderScalar(name);
  if (!top) {
    const at = lineEnd(p.text, Math.max(contentEnd(topMap) - 1, 0));
    edits.push(insertLines(p.text, at, " ".repeat(topMap.indent) + "current-context: " + rendered + p.eol, p.eol));
    return;
  }
  const v = top.item.value;
  const colon = colonEnd(top.item);
  if (colon === undefined) throw new KubeconfigError("Invalid kubeconfig: 'current-context' has no value");
  if (v && (v.type === "scalar" || v.type === "single-quoted-scalar" || v.type === "double-quoted-scalar") && v.source !== "") {
    edits.push({ start: v.offset, end: v.offset + v.source.length, text: rendered });
  } else if (!v || (v.type === "scalar" && v.source === "")) {
    const at = afterProps(top.item, colon);
    edits.push({ start: at, end: at, text: " " + rendered });
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
  const ctx: Ctx = { p, style: styleFor(p, topMap), edits: [], newSections: [], topMap };
  let removed = false;
  for (const s of SECTIONS) if (editSection(ctx, s, { name, replacement: undefined })) removed = true;
  // A current-context naming a context that no longer exists makes every kubectl command fail
  // ("context was not found"); cleared, kubectl just reports that none is set.
  const currentContextCleared = docOf(p).get("current-context") === name;
  if (currentContextCleared) setCurrentContext(ctx, "");
  const out = stillValid(applyEdits(text, ctx.edits));
  return { text: out, removed, changed: out !== text, currentContextCleared };
}

/**
 * The edited text, if it still reads as a kubeconfig. An edit keeps every foreign byte, but a file
 * may tie a Ward entry to the rest (an anchor on it with an alias elsewhere): rather than write a
 * file kubectl would refuse, the edit is refused and the file stays as it was.
 */
function stillValid(out: string): string {
  try {
    parse(out);
  } catch (e) {
    if (!(e instanceof KubeconfigError)) throw e;
    throw new KubeconfigError(`Ward cannot change this kubeconfig without breaking it (${e.message}); edit its ward-* entries by hand`);
  }
  return out;
}
