import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { NODE_FLAGS } from "./node_flags.ts";

test("npm start and npm run ward run from source with the executable's V8 flags", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
  for (const name of ["start", "ward"]) {
    const words = pkg.scripts[name]!.split(/\s+/);
    assert.equal(words[0], "tsx", `scripts.${name}`);
    const before = words.slice(1, words.indexOf("cmd/ward.ts"));
    assert.deepEqual(before, [...NODE_FLAGS], `scripts.${name} passes exactly NODE_FLAGS to Node`);
  }
});

test("this Node accepts every flag (an unknown V8 flag would stop the executable at start)", () => {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, "-e", "process.stdout.write(JSON.stringify(process.execArgv))"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), [...NODE_FLAGS, "-e", "process.stdout.write(JSON.stringify(process.execArgv))"]);
});
