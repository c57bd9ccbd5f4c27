/**
 * The README's test command (`npm test`): prepares what the tests need, then runs every stage.
 *   --unit   boundary check + typecheck + unit tests only (fast inner loop)
 * Stages fail loudly; nothing is skipped because a component is missing.
 */
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";

const unitOnly = process.argv.includes("--unit");
const root = new URL("..", import.meta.url).pathname;

function run(title: string, cmd: string, args: string[], env: Record<string, string> = {}): void {
  const t0 = Date.now();
  console.log(`\n== ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`\n== ${title}: FAILED after ${secs}s (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  console.log(`== ${title}: ok in ${secs}s`);
}

const files = (pattern: string) => globSync(pattern, { cwd: root }).sort();

run("boundaries", process.execPath, ["scripts/check-boundaries.ts"]);
run("typecheck", "tsc", ["--noEmit", "-p", "tsconfig.json"]);
run("unit tests", process.execPath, ["--test", "--test-reporter=dot", ...files("internal/**/*.test.ts"), ...files("cmd/**/*.test.ts")]);
if (unitOnly) process.exit(0);

run("prepare test components", "bash", ["scripts/setup"]);
// The suites on the access fixture again, on a real PostgreSQL: the same tests, the other dialect
// (the store's own PostgreSQL behaviour is test/store/postgres.test.ts).
const storeSuites = ["access", "auth", "gateway", "client"].flatMap((a) => files(`internal/${a}/**/*.test.ts`));
run("store and access suites on PostgreSQL", process.execPath, ["scripts/with-postgres.ts", "--", process.execPath, "--test", "--test-reporter=dot", ...storeSuites]);
run("build dist/ward", process.execPath, ["scripts/build.ts"]);
const integration = files("test/**/*.test.ts");
run("integration and e2e tests", process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", ...integration]);
