/**
 * Builds (once, cached under ~/.cache/ward/bin by source hash) the Go harness around Rancher's
 * remotedialer in scripts/remotedialer, for the benchmarks' peer rows.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export function rdBinary(log: (msg: string) => void = () => {}): string {
  const src = join(import.meta.dirname, "remotedialer");
  const hash = createHash("sha256");
  for (const f of ["main.go", "go.mod", "go.sum"]) hash.update(readFileSync(join(src, f)));
  const cache = join(homedir(), ".cache", "ward");
  const bin = join(cache, "bin", `rdbench-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(join(cache, "bin"), { recursive: true });
  const env = {
    ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod", GONOSUMDB: "github.com/rancher/remotedialer",
    GOMODCACHE: join(cache, "go", "mod"), GOCACHE: join(cache, "go", "build"),
  };
  log("building the remotedialer harness (scripts/remotedialer) …");
  execFileSync("go", ["build", "-o", `${bin}.tmp`, "."], { cwd: src, env, stdio: ["ignore", "inherit", "inherit"] });
  renameSync(`${bin}.tmp`, bin);
  return bin;
}
