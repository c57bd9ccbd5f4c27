/** Edits as splices of the source text: removing runs of block or flow items, inserting lines. Private to `kubeconfig/`. */
import { type CST } from "yaml";
import { isBlankLine, lineEnd, linesAbove, lineStart } from "./_cst.ts";

export interface Edit {
  start: number;
  end: number;
  text: string;
}

export function applyEdits(text: string, edits: Edit[]): string {
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
export function insertLines(text: string, offset: number, lines: string, eol: string): Edit {
  const needNl = offset === text.length && text.length > 0 && !text.endsWith("\n");
  return { start: offset, end: offset, text: (needNl ? eol : "") + lines };
}

/** Consecutive runs `[first, last]` of the sorted indices. */
export function runs(indices: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const i of indices) {
    const last = out.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

export interface BlockItems {
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
export function removeBlockRun(block: BlockItems, a: number, b: number): Edit {
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

export interface FlowItems {
  text: string;
  items: CST.FlowCollection["items"];
  /** Start and end of each item's own text. */
  starts: number[];
  ends: number[];
}

/** What lies between the items within `[start, end)`: commas, spaces, line breaks and comments. */
export function gapsOf(flow: FlowItems, start: number, end: number): string {
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
export function removeFlowRun(flow: FlowItems, a: number, b: number): Edit[] {
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
export function flowSeparator(flow: FlowItems, open: number, eol: string): string {
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
