/**
 * Start-up and size of the single executable, side by side with `node -e 0` (the same Node 24).
 *   node scripts/bench-startup.ts [--quick]
 * Readable rows, then one JSON object with every figure as the last line.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const ward = join(root, "dist", "ward");
const node = process.execPath;
const runs = process.argv.includes("--quick") ? 7 : 21;
if (!existsSync(ward)) throw new Error("dist/ward is missing: run 'npm run build' first");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeCommand(cmd: string, args: string[]): number {
  const samples: number[] = [];
  spawnSync(cmd, args); // warm the page cache
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(samples);
}

async function timeGatewayReady(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < Math.max(3, Math.floor(runs / 3)); i++) {
    const data = mkdtempSync(join(tmpdir(), "ward-bench-"));
    const t0 = process.hrtime.bigint();
    const child = spawn(ward, ["gateway", "--plain-http", "--listen", "127.0.0.1:0", "--data-dir", data], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (b: Buffer) => {
        log += b.toString();
        const m = /"url":"([^"]+)"/.exec(log);
        if (m) resolve(m[1]!);
      });
      child.once("exit", () => reject(new Error(`gateway exited: ${log}`)));
    });
    for (;;) {
      const ok = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(data, { recursive: true, force: true });
  }
  return median(samples);
}

const mib = (b: number) => b / 1048576;
const sizeWard = statSync(ward).size;
const sizeNode = statSync(node).size;
const baseline = timeCommand(node, ["-e", "0"]);
const version = timeCommand(ward, ["--version"]);
const help = timeCommand(ward, ["cli", "--help"]);
const gateway = await timeGatewayReady();

const row = (name: string, ms: number) => console.log(`${name.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms   ${(ms / baseline).toFixed(2)}x node -e 0`);
console.log(`size dist/ward                     ${mib(sizeWard).toFixed(1).padStart(8)} MiB  node binary ${mib(sizeNode).toFixed(1)} MiB  (+${mib(sizeWard - sizeNode).toFixed(1)} MiB; goal <= +8 MiB)`);
console.log(`${"node -e 0 (baseline)".padEnd(34)} ${baseline.toFixed(1).padStart(8)} ms`);
row("dist/ward --version (goal <= 1.3x)", version);
row("dist/ward cli --help", help);
row("dist/ward gateway to /healthz 200", gateway);
console.log(
  JSON.stringify({
    bench: "startup",
    runs,
    size_ward_bytes: sizeWard,
    size_node_bytes: sizeNode,
    size_overhead_mib: +mib(sizeWard - sizeNode).toFixed(2),
    node_e0_ms: +baseline.toFixed(2),
    version_ms: +version.toFixed(2),
    version_ratio: +(version / baseline).toFixed(3),
    cli_help_ms: +help.toFixed(2),
    cli_help_ratio: +(help / baseline).toFixed(3),
    gateway_healthz_ms: +gateway.toFixed(2),
    gateway_healthz_ratio: +(gateway / baseline).toFixed(3),
  }),
);
