/**
 * The subject index: which subscriptions match a published subject. A token trie (literal
 * children, `*` child, `>` child) plus a bounded cache of match results keyed by subject.
 * Inserting or removing a subscription evicts only the cached subjects it could match.
 */
import { subjectMatches } from "./subject.ts";

export interface Indexed {
  readonly subject: string;
  /** Queue group name, or undefined for a plain subscription. */
  readonly queue: string | undefined;
}

/** Match result. Shared and cached: callers must not mutate it. */
export interface MatchResult<S> {
  /** Plain subscriptions: each gets the message. */
  readonly plain: readonly S[];
  /** Queue groups: one member of each gets the message. */
  readonly groups: readonly (readonly S[])[];
}

interface Node<S> {
  next: Map<string, Node<S>> | null;
  pwc: Node<S> | null;
  fwc: Node<S> | null;
  plain: Set<S> | null;
  groups: Map<string, Set<S>> | null;
}

function newNode<S>(): Node<S> {
  return { next: null, pwc: null, fwc: null, plain: null, groups: null };
}

function isEmpty<S>(n: Node<S>): boolean {
  return (
    (n.next === null || n.next.size === 0) &&
    n.pwc === null &&
    n.fwc === null &&
    (n.plain === null || n.plain.size === 0) &&
    (n.groups === null || n.groups.size === 0)
  );
}

const EMPTY: MatchResult<never> = Object.freeze({ plain: Object.freeze([]), groups: Object.freeze([]) });

export interface SubjectIndexOptions {
  /** Cached match results kept at most (default 4096). */
  cacheSize?: number;
}

export class SubjectIndex<S extends Indexed> {
  #root: Node<S> = newNode();
  #cache = new Map<string, MatchResult<S>>();
  #cacheSize: number;
  #count = 0;

  constructor(opts: SubjectIndexOptions = {}) {
    this.#cacheSize = opts.cacheSize ?? 4096;
  }

  get size(): number {
    return this.#count;
  }

  /** The subject must already be valid (see `isValidSubject`). */
  insert(sub: S): void {
    let node = this.#root;
    for (const t of sub.subject.split(".")) {
      if (t === "*") node = node.pwc ??= newNode();
      else if (t === ">") node = node.fwc ??= newNode();
      else {
        node.next ??= new Map();
        let child = node.next.get(t);
        if (child === undefined) {
          child = newNode();
          node.next.set(t, child);
        }
        node = child;
      }
    }
    if (sub.queue === undefined) {
      node.plain ??= new Set();
      if (node.plain.has(sub)) return;
      node.plain.add(sub);
    } else {
      node.groups ??= new Map();
      let g = node.groups.get(sub.queue);
      if (g === undefined) {
        g = new Set();
        node.groups.set(sub.queue, g);
      }
      if (g.has(sub)) return;
      g.add(sub);
    }
    this.#count++;
    this.#invalidate(sub.subject);
  }

  remove(sub: S): boolean {
    const tokens = sub.subject.split(".");
    const path: Node<S>[] = [];
    let node: Node<S> | null | undefined = this.#root;
    for (const t of tokens) {
      path.push(node);
      if (t === "*") node = node.pwc;
      else if (t === ">") node = node.fwc;
      else node = node.next?.get(t);
      if (!node) return false;
    }
    let removed = false;
    if (sub.queue === undefined) removed = node.plain?.delete(sub) ?? false;
    else {
      const g = node.groups?.get(sub.queue);
      if (g) {
        removed = g.delete(sub);
        if (g.size === 0) node.groups!.delete(sub.queue);
      }
    }
    if (!removed) return false;
    this.#count--;
    this.#invalidate(sub.subject);
    // Prune empty nodes bottom-up so churn does not leak trie nodes.
    for (let i = tokens.length - 1; i >= 0 && isEmpty(node); i--) {
      const parent = path[i]!;
      const t = tokens[i]!;
      if (t === "*") parent.pwc = null;
      else if (t === ">") parent.fwc = null;
      else parent.next?.delete(t);
      node = parent;
    }
    return true;
  }

  /** Subscriptions matching a literal subject. */
  match(subject: string): MatchResult<S> {
    const hit = this.#cache.get(subject);
    if (hit !== undefined) return hit;
    const plain: S[] = [];
    const groups: S[][] = [];
    const groupIndex = new Map<string, number>();
    collect(this.#root, subject.split("."), 0, plain, groups, groupIndex);
    const res: MatchResult<S> = plain.length === 0 && groups.length === 0 ? EMPTY : { plain, groups };
    if (this.#cache.size >= this.#cacheSize) this.#evict();
    this.#cache.set(subject, res);
    return res;
  }

  #invalidate(pattern: string): void {
    if (this.#cache.size === 0) return;
    if (pattern.indexOf("*") < 0 && pattern.indexOf(">") < 0) {
      this.#cache.delete(pattern);
      return;
    }
    // A wildcard may match many cached subjects: scan a small cache, drop a big one.
    if (this.#cache.size > 256) {
      this.#cache.clear();
      return;
    }
    for (const key of this.#cache.keys()) if (subjectMatches(pattern, key)) this.#cache.delete(key);
  }

  #evict(): void {
    let n = this.#cacheSize >> 3 || 1;
    for (const key of this.#cache.keys()) {
      this.#cache.delete(key);
      if (--n === 0) break;
    }
  }
}

function add<S>(node: Node<S>, plain: S[], groups: S[][], groupIndex: Map<string, number>): void {
  if (node.plain !== null) for (const s of node.plain) plain.push(s);
  if (node.groups !== null) {
    for (const [name, members] of node.groups) {
      // One queue group spans every pattern its members subscribed with.
      let gi = groupIndex.get(name);
      if (gi === undefined) {
        gi = groups.length;
        groupIndex.set(name, gi);
        groups.push([]);
      }
      const g = groups[gi]!;
      for (const s of members) g.push(s);
    }
  }
}

function collect<S>(
  node: Node<S>,
  tokens: string[],
  i: number,
  plain: S[],
  groups: S[][],
  groupIndex: Map<string, number>,
): void {
  if (node.fwc !== null && i < tokens.length) add(node.fwc, plain, groups, groupIndex);
  if (i === tokens.length) {
    add(node, plain, groups, groupIndex);
    return;
  }
  if (node.pwc !== null) collect(node.pwc, tokens, i + 1, plain, groups, groupIndex);
  const child = node.next?.get(tokens[i]!);
  if (child !== undefined) collect(child, tokens, i + 1, plain, groups, groupIndex);
}
