/**
 * Reading the `yaml` CST: parsing with offsets, locating items and their extents, the file's own
 * style. Private to `kubeconfig/`.
 */
import { isMap, parseAllDocuments, Parser, visit, type CST, type Document } from "yaml";
import { type Style } from "./_render.ts";
import { KubeconfigError } from "./kubeconfig_error.ts";

type Token = CST.Token;
export type SourceToken = CST.SourceToken;

export interface Parsed {
  text: string;
  /** Undefined for an empty stream (empty file or comments only). */
  doc: Document | undefined;
  cst: CST.Document | undefined;
  eol: string;
}

export function parse(text: string): Parsed {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const line = err.linePos?.[0].line;
      const first = err.message.split("\n")[0];
      throw new KubeconfigError(`Invalid kubeconfig YAML${line ? ` at line ${line}` : ""}: ${first}`, line);
    }
    checkAliases(d, text);
  }
  if (docs.length > 1) throw new KubeconfigError("Invalid kubeconfig: more than one YAML document");
  let cst: CST.Document | undefined;
  for (const t of new Parser().parse(text)) if (t.type === "document") cst = t;
  return { text, doc: docs[0], cst, eol: detectEol(text) };
}

/**
 * An alias without an anchor above it is not an error to the parser, only when the document is
 * resolved; kubectl refuses such a file, so the editor does too rather than edit around it.
 */
function checkAliases(d: Document, text: string): void {
  visit(d, {
    Alias(_, node) {
      if (node.resolve(d) !== undefined) return;
      const line = node.range ? text.slice(0, node.range[0]).split("\n").length : undefined;
      throw new KubeconfigError(`Invalid kubeconfig YAML${line ? ` at line ${line}` : ""}: the alias *${node.source} has no anchor &${node.source} above it`, line);
    },
  });
}

export function docOf(p: Parsed): Document {
  if (!p.doc) throw new Error("kubeconfig: no document (bug)");
  return p.doc;
}

function detectEol(text: string): string {
  const i = text.indexOf("\n");
  return i > 0 && text[i - 1] === "\r" ? "\r\n" : "\n";
}

const TRIVIA = new Set(["space", "newline", "comment"]);

/** End offset of the last non-trivia source token inside `node` (−1 if none). */
export function contentEnd(node: unknown): number {
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

export function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset just after the newline ending the line that contains `offset` (or the text length). */
export function lineEnd(text: string, offset: number): number {
  const i = text.indexOf("\n", offset);
  return i < 0 ? text.length : i + 1;
}

export function isBlankLine(line: string): boolean {
  return /^[ \t]*\r?\n?$/.test(line);
}

export function isCommentLine(line: string): boolean {
  return /^[ \t]*#/.test(line);
}

/** Moves the line start `start` up over the lines matching `take`, never above `floor`. */
export function linesAbove(text: string, start: number, floor: number, take: (line: string) => boolean): number {
  let s = start;
  while (s > floor) {
    const prev = lineStart(text, s - 1);
    if (prev < floor || !take(text.slice(prev, s))) break;
    s = prev;
  }
  return s;
}

export function column(text: string, offset: number): number {
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

export function topItems(map: CST.BlockMap): TopItem[] {
  const out: TopItem[] = [];
  for (const item of map.items) {
    const keyName = scalarSource(item.key ?? undefined);
    if (keyName !== undefined) out.push({ item, keyName });
  }
  return out;
}

export function colonEnd(item: CST.BlockMap["items"][number]): number | undefined {
  for (const t of item.sep ?? []) if (t.type === "map-value-ind") return t.offset + t.source.length;
  return undefined;
}

export function isNullScalar(t: Token | undefined): boolean {
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

export function nameOf(node: unknown): string | undefined {
  if (!isMap(node)) return undefined;
  const n = node.get("name");
  return typeof n === "string" ? n : undefined;
}

export function topBlockMap(p: Parsed): CST.BlockMap | undefined {
  const v = p.cst?.value;
  if (!v) return undefined;
  if (v.type === "block-map") {
    // `users: []: x` or a line `: x`: a `:` with no key, which the parser lets through but kubectl
    // refuses (and an edit next to it would leave `users::`).
    for (const item of v.items) {
      const colon = item.sep?.find((t) => t.type === "map-value-ind");
      if (item.key === null && colon && !item.start.some((t) => t.type === "explicit-key-ind")) {
        const line = p.text.slice(0, colon.offset).split("\n").length;
        throw new KubeconfigError(`Invalid kubeconfig YAML at line ${line}: a ':' with no key before it`, line);
      }
    }
    return v;
  }
  if (isNullScalar(v)) return undefined;
  if (v.type === "flow-collection" && v.start.source === "{" && v.items.length === 0) return undefined;
  if (v.type === "flow-collection") throw new KubeconfigError("Unsupported kubeconfig: flow-style top-level mapping");
  throw new KubeconfigError("Invalid kubeconfig: the top level must be a mapping");
}

export function styleFor(p: Parsed, topMap: CST.BlockMap | undefined): Style {
  const d = topMap ? detectStyle(p.text, topMap) : {};
  const seqIndent = d.seqIndent ?? 0;
  return { indentSeq: seqIndent > 0, seqIndent: seqIndent || 2, indent: d.mapIndent ?? 2, eol: p.eol };
}
