/** Listing Ward entries of one kubeconfig, and merging them across the `$KUBECONFIG` files as kubectl does. */
import { isMap, isSeq } from "yaml";
import { isValidClusterId } from "../validate/index.ts";
import { nameOf, parse, topBlockMap } from "./_cst.ts";
import { KubeconfigError } from "./kubeconfig_error.ts";
import { type MergedWardEntry, SECTIONS, WARD_PREFIX, type WardEntryInfo } from "./ward_entry.ts";

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
