/**
 * The boundary check (`npm test` and `npm run test:unit` run it): fails when a file imports another
 * folder's private file or when an area's dependency points the wrong way. Prints each offending
 * import with the rule it breaks. Reads the sources only (no TypeScript): well under a second.
 *
 *   node scripts/check-boundaries.ts           check
 *   node scripts/check-boundaries.ts --graph   print the actual area graph of production code
 *
 * The rules (the README's Architecture section states the same):
 * 1. `_name.ts` is private to its folder: only files in the same folder import it.
 * 2. An area under `internal/` imports only the areas LAYERS allows it (its production code; the
 *    table has no cycles). Adding an area means adding its row here and its line in the README
 *    (checked: the README names every area and says `area` → its allowed areas).
 * 3. Test code (`*.test.ts`, `test/`) may also import any area's public face (`index.ts`, or
 *    `internal.ts`: the export list for sibling areas' tests), in any direction, since tests compose
 *    areas; shared test helpers live under `test/helpers/`, which test code and `scripts/` may import.
 *    Other files under `test/` belong to their own folder.
 * 4. `internal/` never imports `cmd/`, `scripts/` or `test/` (except test code, per rule 3);
 *    `cmd/` and `scripts/` may import any area (deep imports keep the exec credential plugin's
 *    start-up small), never a private file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, normalize, relative } from "node:path";

/** Which areas each area under `internal/` may import. The README's architecture list mirrors it. */
export const LAYERS: Record<string, readonly string[]> = {
  // Foundations: no area dependencies.
  version: [],
  validate: [],
  errors: [],
  log: [],
  bus: ["validate"],
  config: ["validate"],
  cli: [],
  install: [],
  websocket: [],
  kubeconfig: ["validate"],
  // Infrastructure.
  store: ["log"],
  metrics: ["log"],
  nats: ["bus", "log", "websocket"],
  tunnel: ["bus", "log", "validate"],
  scaleout: ["bus", "log", "nats", "validate"],
  // Domain: access and proxy are siblings; neither imports the other.
  access: ["bus", "errors", "log", "store", "validate"],
  proxy: ["bus", "errors", "log", "tunnel", "validate", "websocket"],
  auth: ["access", "errors", "store"],
  audit: ["log", "store"],
  // Roles and wiring.
  agent: ["bus", "log", "nats", "validate"],
  client: ["bus", "cli", "install", "kubeconfig", "validate"],
  gateway: ["access", "audit", "auth", "bus", "errors", "kubeconfig", "log", "metrics", "nats", "proxy", "scaleout", "store", "tunnel", "validate", "version"],
};

/**
 * Imports that break a rule today, each with why it is allowed for now. An entry that no longer
 * matches is printed as stale, to be removed.
 */
const EXCEPTIONS: { from: string; to: string; why: string }[] = [
  { from: "scripts/build.ts", to: "cmd/_lazy_sea.ts", why: "the build swaps _lazy_sea.ts in for lazy.ts and must wrap the heavy bundle exactly as it does" },
];

const root = normalize(join(import.meta.dirname, ".."));
const SCANNED = ["internal", "cmd", "scripts", "test"];
const IMPORT = /(?:^|[\s;])(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && e.name !== "testdata" && !e.name.startsWith(".")) out.push(...sources(rel));
    } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

/** The area of a repository path: `internal/<area>/…` (`internal/version.ts` is area `version`), else its top folder. */
export function areaOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "internal") return parts[0]!;
  return parts.length === 2 ? parts[1]!.replace(/(\.test)?\.ts$/, "") : parts[1]!;
}

const isTest = (path: string) => path.endsWith(".test.ts") || path.startsWith("test/");
const isPublicFace = (path: string) => /^internal\/[^/]+\/(index|internal)\.ts$/.test(path) || /^internal\/[^/]+\.ts$/.test(path);

/** The rule `from` importing `to` breaks (both repository paths), or undefined. */
export function brokenRule(from: string, to: string): string | undefined {
  if (basename(to).startsWith("_") && dirname(to) !== dirname(from)) return `${to} is private to ${dirname(to)}/ (rule 1)`;
  const a = areaOf(from);
  const b = areaOf(to);
  if (to.startsWith("test/")) {
    if (to.startsWith("test/helpers/") && (isTest(from) || a === "scripts")) return undefined;
    if (to.startsWith("test/helpers/")) return `test helpers are for test code and scripts only (rule 3)`;
    if (from.startsWith("test/") && dirname(from) === dirname(to)) return undefined;
    return `${to} belongs to ${dirname(to)}/; shared test helpers live under test/helpers/ (rule 3)`;
  }
  if (from.startsWith("internal/") && (b === "cmd" || b === "scripts")) return `internal/ never imports ${b}/ (rule 4)`;
  if (!to.startsWith("internal/") || !from.startsWith("internal/") || a === b) return undefined;
  const allowed = LAYERS[a];
  if (!allowed) return `area ${a} is not in LAYERS (scripts/check-boundaries.ts): add its row and its README line (rule 2)`;
  if (!(b in LAYERS)) return `area ${b} is not in LAYERS (scripts/check-boundaries.ts): add its row and its README line (rule 2)`;
  if (allowed.includes(b)) return undefined;
  if (isTest(from) && isPublicFace(to)) return undefined;
  return `${a} may import only ${allowed.length ? allowed.join(", ") : "no other area"}${isTest(from) ? " (and, from tests, any area's index.ts)" : ""}, not ${b} (rule 2)`;
}

export function importsOf(path: string): string[] {
  const text = readFileSync(join(root, path), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith(".")) out.push(relative(root, join(root, dirname(path), spec)));
  }
  return out;
}

function cycle(): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const visit = (a: string, path: string[]): string[] | undefined => {
    if (state.get(a) === "done") return undefined;
    if (state.get(a) === "open") return [...path.slice(path.indexOf(a)), a];
    state.set(a, "open");
    for (const b of LAYERS[a] ?? []) {
      const c = visit(b, [...path, a]);
      if (c) return c;
    }
    state.set(a, "done");
    return undefined;
  };
  for (const a of Object.keys(LAYERS)) {
    const c = visit(a, []);
    if (c) return c;
  }
  return undefined;
}

/** Whether `text` holds `phrase` as a whole list (not followed by `, another-area`). */
const said = (text: string, phrase: string) => text.split(phrase).slice(1).some((after) => !/^, [a-z]/.test(after));

/** The README's architecture list names every area and, for each that has any, its allowed areas as `area` → a, b. */
function readmeDrift(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8").replace(/\s+/g, " ");
  return Object.entries(LAYERS)
    .filter(([a, deps]) => (deps.length ? !said(readme, `\`${a}\` → ${deps.join(", ")}`) : !readme.includes(`\`${a}\``)))
    .map(([a, deps]) => `README.md's Architecture section does not say \`${a}\`${deps.length ? ` → ${deps.join(", ")}` : ""} as LAYERS does`);
}

function main(): void {
  const t0 = performance.now();
  const files = SCANNED.flatMap(sources);
  if (process.argv.includes("--graph")) {
    const graph = new Map<string, Set<string>>();
    for (const f of files) {
      if (!f.startsWith("internal/") || isTest(f)) continue;
      const deps = graph.get(areaOf(f)) ?? graph.set(areaOf(f), new Set()).get(areaOf(f))!;
      for (const t of importsOf(f)) if (t.startsWith("internal/") && areaOf(t) !== areaOf(f)) deps.add(areaOf(t));
    }
    for (const [a, deps] of [...graph].sort()) console.log(`${a}: ${[...deps].sort().join(", ")}`);
    return;
  }
  const problems: string[] = [];
  const c = cycle();
  if (c) problems.push(`LAYERS has a cycle: ${c.join(" → ")}`);
  problems.push(...readmeDrift());
  const used = new Set<(typeof EXCEPTIONS)[number]>();
  for (const from of files) {
    for (const to of importsOf(from)) {
      const rule = brokenRule(from, to);
      if (!rule) continue;
      const ex = EXCEPTIONS.find((e) => e.from === from && e.to === to);
      if (ex) used.add(ex);
      else problems.push(`${from} imports ${to}: ${rule}`);
    }
  }
  const ms = (performance.now() - t0).toFixed(0);
  for (const ex of EXCEPTIONS) if (!used.has(ex)) console.warn(`boundaries: stale exception, remove it from EXCEPTIONS in scripts/check-boundaries.ts: ${ex.from} → ${ex.to}`);
  if (problems.length) {
    for (const p of problems) console.error(p);
    console.error(`boundaries: ${problems.length} problem(s) in ${files.length} files (${ms} ms)`);
    process.exit(1);
  }
  console.log(`boundaries: ${files.length} files ok (${ms} ms)`);
}

if (import.meta.main) main();
