import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BEGIN_MARKER, configReference, END_MARKER, replaceReference } from "./config_reference.ts";
import { agentSpec, gatewaySpec } from "./specs.ts";

test("README's configuration reference is the one generated from the specs (run: node scripts/config-reference.ts --write)", () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
  const start = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  assert.ok(start >= 0 && end > start, "README.md has the reference markers");
  assert.equal(readme.slice(start, end + END_MARKER.length), configReference());
});

test("the reference has a row for every setting, with its env, file key and default", () => {
  const ref = configReference();
  for (const s of [...Object.values(gatewaySpec), ...Object.values(agentSpec)]) {
    assert.ok(ref.includes(`| \`--${s.flag}\` | \`${s.env}\` | \`${s.key}\` |`), `row for --${s.flag}`);
  }
  assert.match(ref, /\| `--idle-timeout-watch` \| `WARD_IDLE_TIMEOUT_WATCH` \| `idleTimeout.watch` \| `30m` \|/);
  assert.match(ref, /\| `--oidc-client-secret` .*secret: `--print-config` shows `\*\*\*`/);
  assert.throws(() => replaceReference("# no markers\n", ref), /no configuration reference markers/);
  assert.equal(replaceReference(`a\n${BEGIN_MARKER}\nold\n${END_MARKER}\nb\n`, "NEW"), "a\nNEW\nb\n");
});

test("every setting of the specs is a flag the command line accepts (and shows in --help)", async () => {
  const { agentCommand, gatewayCommand } = await import("./commands.ts");
  for (const [command, spec] of [[gatewayCommand, gatewaySpec], [agentCommand, agentSpec]] as const) {
    const flags = new Set((command.flags ?? []).map((f) => f.name));
    for (const s of Object.values(spec)) assert.ok(flags.has(s.flag), `ward ${command.name} declares --${s.flag}`);
    assert.ok(flags.has("print-config"), `ward ${command.name} --print-config`);
  }
});
