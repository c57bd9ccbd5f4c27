/** Seed files and the rendered nats-server configuration: clear errors that never show a seed. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { agentConnectionName, agentInstanceOf } from "../bus/index.ts";
import { NkeyFileError, readSeedFile, renderNatsConfig, writeSeedFile } from "./index.ts";

test("seed files: written 600, read back, and wrong kinds, missing files and junk refused without echoing the seed", () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-nk-"));
  try {
    const user = join(dir, "u.nk");
    const acct = join(dir, "a.nk");
    const pubU = writeSeedFile(user, "user");
    const pubA = writeSeedFile(acct, "account");
    assert.equal(statSync(user).mode & 0o777, 0o600);
    assert.equal(readSeedFile(user, "user", "--x").getPublicKey(), pubU);
    assert.equal(readSeedFile(acct, "account", "--x").getPublicKey(), pubA);
    assert.throws(() => writeSeedFile(user, "user"), /EEXIST/, "never overwritten");
    const seed = readFileSync(user, "utf8").trim();
    assert.throws(() => readSeedFile(user, "account", "--nats-callout-key"), (e: Error) => e instanceof NkeyFileError && /wrong kind: expected an account seed \(SA…\), got SU…/.test(e.message) && !e.message.includes(seed.slice(2)));
    assert.throws(() => readSeedFile(join(dir, "none"), "user", "--nats-credentials"), /Cannot read --nats-credentials .*ENOENT/);
    writeFileSync(join(dir, "junk"), "hello\n");
    assert.throws(() => readSeedFile(join(dir, "junk"), "user", "--nats-credentials"), /exactly one nkey seed .* found 0/);
    // A .creds-style file with comments around the seed is fine.
    writeFileSync(join(dir, "creds"), `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`, { mode: 0o644 });
    const warnings: string[] = [];
    assert.equal(readSeedFile(join(dir, "creds"), "user", "--nats-credentials", (m) => warnings.push(m)).getPublicKey(), pubU);
    assert.match(warnings.join(), /can be read by other users: chmod 600/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the nats-server configuration names the keys, confines the callout to the agents' account, and exempts only the gateways", () => {
  const conf = renderNatsConfig({
    gatewayUser: "UGW", systemUser: "USYS", calloutIssuer: "AISS", serverName: "n1", listen: "0.0.0.0:4222", websocketListen: "0.0.0.0:443",
    cluster: { name: "ward", listen: "0.0.0.0:6222", routes: ["nats-route://n2:6222"] },
  });
  assert.match(conf, /auth_callout \{\n\s+issuer: AISS\n\s+auth_users: \[ UGW, USYS \]\n\s+account: WARD/);
  assert.match(conf, /WARD: \{ users: \[ \{ nkey: UGW \} \] \}/);
  assert.match(conf, /SYS: \{ users: \[ \{ nkey: USYS \} \] \}\n\}\nsystem_account: SYS/);
  assert.match(conf, /websocket \{\n\s+listen: "0.0.0.0:443"\n\s+no_tls: true/);
  assert.match(conf, /routes: \["nats-route:\/\/n2:6222"\]/);
});

test("an agent connection's name gives its tunnel instance back only within the cluster its credential proved", () => {
  const name = agentConnectionName("prod-eu", "s0a1b2");
  assert.equal(agentInstanceOf("prod-eu", name), "s0a1b2");
  assert.equal(agentInstanceOf("prod", name), "eu-s0a1b2", "a prefix of another cluster's name picks an instance of its own cluster only");
  assert.equal(agentInstanceOf("other", name), undefined);
  assert.equal(agentInstanceOf("prod-eu", undefined), undefined);
  assert.equal(agentInstanceOf("prod-eu", "ward-agent-prod-eu-a.b"), undefined);
  assert.equal(agentInstanceOf("prod-eu", "ward-agent-prod-eu-"), undefined);
});
