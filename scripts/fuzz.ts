/**
 * The long fuzz run (`node scripts/fuzz.ts`, `npm run fuzz`) of the targets in test/helpers/fuzz/:
 * the tunnel frame decoder, the NATS parser, the proxy path parser, the header policy and the
 * kubeconfig editor. (`npm test` runs each property briefly: internal/fuzz.test.ts.)
 *
 *   --seconds N     each target for N seconds (default 10), shared equally among its properties
 *   --runs N        instead: N runs of each property
 *   --target NAME   only this target (repeatable); `--list` names them
 *   --property K --seed=S --path=P   with one --target: replay the failure printed as property K
 *
 * Runs go in batches, each from a fresh seed and sized to take about a second, so the clock is
 * checked between batches and a failure is always shrunk to the end. Prints each property's runs
 * and result; on a failure the seed, the path, the counterexample, the error and the command that
 * replays it, and the exit code is 1. The last line is a JSON summary. Everything runs in this
 * process (the kubeconfig target writes temp files under the OS temp directory): no network, and it
 * stops by itself.
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { FUZZ_TARGETS, type FuzzProperty, type FuzzTarget } from "../test/helpers/fuzz/index.ts";

const { values: o } = parseArgs({
  options: {
    seconds: { type: "string" },
    runs: { type: "string" },
    target: { type: "string", multiple: true },
    property: { type: "string" },
    seed: { type: "string" },
    path: { type: "string" },
    list: { type: "boolean" },
  },
});

function usage(message: string): never {
  console.error(`${message}\nUsage: node scripts/fuzz.ts [--seconds N | --runs N] [--target NAME]... | --list | --target NAME --property K --seed=S [--path=P]`);
  process.exit(2);
}

const positive = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usage(`--${flag} must be a positive number, not ${JSON.stringify(v)}`);
  return n;
};

if (o.list) {
  for (const t of FUZZ_TARGETS) {
    console.log(`${t.name}: ${t.what}`);
    t.properties.forEach((p, i) => console.log(`  ${i + 1}. ${p.name}`));
  }
  process.exit(0);
}

const seconds = positive("seconds", o.seconds);
const runsEach = positive("runs", o.runs);
if (seconds !== undefined && runsEach !== undefined) usage("Give --seconds or --runs, not both");
const unknownTargets = (o.target ?? []).filter((n) => !FUZZ_TARGETS.some((t) => t.name === n));
if (unknownTargets.length) usage(`Unknown target ${unknownTargets.join(", ")}: the targets are ${FUZZ_TARGETS.map((t) => t.name).join(", ")}`);
const targets = o.target ? FUZZ_TARGETS.filter((t) => o.target!.includes(t.name)) : FUZZ_TARGETS;

/** The report of a failed run: fast-check's (seed, path, counterexample, error), cut to a readable length. */
function report(d: fc.RunDetails<unknown>): string {
  const text = fc.defaultReportMessage(d) ?? "failed";
  return text.length > 20_000 ? `${text.slice(0, 20_000)}\n… (${text.length - 20_000} more characters)` : text;
}
const indent = (s: string, by: string) => s.replace(/^/gm, by);

if (o.seed !== undefined) {
  // Replay one failure exactly.
  if (targets.length !== 1 || o.property === undefined) usage("--seed needs exactly one --target and its --property K");
  const p = targets[0]!.properties[Number(o.property) - 1];
  if (!p) usage(`${targets[0]!.name} has properties 1 to ${targets[0]!.properties.length}`);
  // With a path fast-check goes straight to that run (and its shrinks); without one, the seed's first runs.
  const d = await p.check(o.path ? { seed: Number(o.seed), path: o.path, numRuns: 1_000_000 } : { seed: Number(o.seed), numRuns: 10_000 });
  console.log(d.failed ? `${targets[0]!.name} ${o.property}. ${p.name}: FAILED\n${indent(report(d), "  ")}` : `${targets[0]!.name} ${o.property}. ${p.name}: passes`);
  process.exit(d.failed ? 1 : 0);
}

/** How long a failure may be shrunk beyond the budget. */
const SHRINK_MS = 60_000; // (with --runs, no limit)

interface PropertyResult {
  property: string;
  runs: number;
  ok: boolean;
  seed?: number;
  path?: string;
}

/** Runs `p` in batches of fresh seeds until `deadline` (ms, performance.now) or `maxRuns` runs; stops at the first failure. */
async function fuzz(target: FuzzTarget, p: FuzzProperty, k: number, deadline: number, maxRuns: number): Promise<PropertyResult> {
  let runs = 0;
  let batch = 20;
  while (runs < maxRuns && performance.now() < deadline) {
    const seed = randomInt(-0x80000000, 0x7fffffff);
    const t0 = performance.now();
    // A batch takes about a second; the limit only ever cuts a failure's shrinking short.
    const plugins = Number.isFinite(deadline) ? [fc.interruptAfterTimeLimit(Math.max(deadline - t0, 0) + SHRINK_MS)] : [];
    const d = await p.check({ seed, numRuns: Math.min(batch, maxRuns - runs), plugins });
    if (d.failed) {
      runs += d.numRuns;
      const path = d.counterexamplePath ?? "";
      const cut = d.interrupted ? `; shrinking stopped after ${SHRINK_MS / 1000} s, replay to go on` : "";
      console.log(`  ${k}. ${p.name}: FAILED after ${runs} runs (seed ${d.seed}, path ${JSON.stringify(path)}${cut})`);
      console.log(indent(report(d), "     "));
      console.log(`     replay: node scripts/fuzz.ts --target ${target.name} --property ${k} --seed=${d.seed}${path ? ` --path=${path}` : ""}`);
      return { property: p.name, runs, ok: false, seed: d.seed, path };
    }
    runs += d.numRuns;
    // Next batch: about one second's worth, and not far past the deadline.
    const rate = d.numRuns / Math.max(performance.now() - t0, 1);
    const want = Math.min(1000, Math.max(deadline - performance.now(), 0));
    batch = Math.max(10, Math.min(1_000_000, Math.round(rate * want)));
  }
  console.log(`  ${k}. ${p.name}: ${runs} runs, ok`);
  return { property: p.name, runs, ok: true };
}

const budget = runsEach !== undefined ? `${runsEach} runs of each property` : `${seconds ?? 10} s per target`;
console.log(`fuzz: ${targets.map((t) => t.name).join(", ")}; ${budget}`);
const summary = [];
for (const t of targets) {
  console.log(`${t.name}: ${t.what}`);
  const t0 = performance.now();
  const results: PropertyResult[] = [];
  for (const [i, p] of t.properties.entries()) {
    const share = runsEach !== undefined ? Infinity : ((seconds ?? 10) * 1000) / t.properties.length;
    results.push(await fuzz(t, p, i + 1, performance.now() + share, runsEach ?? Infinity));
  }
  const runs = results.reduce((n, r) => n + r.runs, 0);
  const secs = Number(((performance.now() - t0) / 1000).toFixed(1));
  const ok = results.every((r) => r.ok);
  console.log(`${t.name}: ${runs} runs in ${secs} s: ${ok ? "ok" : "FAILED"}`);
  summary.push({ target: t.name, runs, seconds: secs, ok, properties: results });
}
const ok = summary.every((s) => s.ok);
console.log(JSON.stringify({ ok, budget: runsEach !== undefined ? { runs: runsEach } : { seconds: seconds ?? 10 }, targets: summary }));
process.exitCode = ok ? 0 : 1; // not exit(): a run cut short may still be removing its temp files
