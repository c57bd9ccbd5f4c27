/**
 * The auth callout against hostile input, with authorization requests signed as nats-server signs
 * them (a server nkey) and answered over an in-memory bus. The allowed answer is checked field by
 * field (who, for which server, placed where, allowed what); wrong credentials, bad cluster ids,
 * forged or foreign requests and a storm of requests each get the answer they should.
 * The real nats-server side is proven in test/e2e/ward-scaleout.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Algorithms, createAccount, createServer, createUser, decode, encode } from "@nats-io/jwt";
import { MemoryBus } from "../../test/helpers/memory_bus.ts";
import { eventually } from "../../test/helpers/eventually.ts";
import { AuthCallout, AUTH_CALLOUT_SUBJECT, parseRequest } from "./callout.ts";

const server = createServer();
const issuer = createAccount();
const enc = new TextEncoder();
const dec = new TextDecoder();

async function request(connect: Record<string, unknown>, o: { signer?: ReturnType<typeof createServer>; serverId?: string; aud?: string; type?: string } = {}) {
  const userNkey = createUser().getPublicKey();
  const signer = o.signer ?? server;
  const jwt = await encode(Algorithms.v2, {
    aud: o.aud ?? "nats-authorization-request", sub: issuer.getPublicKey(),
    nats: {
      type: o.type ?? "authorization_request", version: 2, user_nkey: userNkey,
      server_id: { id: o.serverId ?? signer.getPublicKey(), name: "n1", host: "127.0.0.1" },
      client_info: { host: "10.0.0.7", id: 5, kind: "Client", type: "websocket" },
      connect_opts: connect,
    },
  } as never, signer);
  return { jwt, userNkey };
}

function harness(authenticate: (c: string, p: string) => Promise<boolean>, maxInFlight?: number) {
  const bus = new MemoryBus();
  const callout = new AuthCallout({ bus: bus.connect(), issuer, authenticate, ...(maxInFlight ? { maxInFlight } : {}) });
  callout.start();
  const client = bus.connect();
  const answers = new Map<string, Record<string, any>>();
  let n = 0;
  return {
    callout,
    async ask(jwt: string): Promise<Record<string, any> | undefined> {
      const reply = `_INBOX.t.${++n}`;
      client.subscribe(reply, { max: 1, callback: (_e, m) => answers.set(reply, decode(dec.decode(m.data)) as Record<string, any>) });
      client.publish(AUTH_CALLOUT_SUBJECT, enc.encode(jwt), { reply });
      try {
        return await eventually("an answer", () => answers.get(reply), { timeoutMs: 300 });
      } catch {
        return undefined;
      }
    },
  };
}

test("a valid join credential gets a user JWT for that user key, that server, confined to its own cluster's subjects", async () => {
  const seen: [string, string][] = [];
  const h = harness(async (c, p) => (seen.push([c, p]), c === "prod" && p === "wardj_good"));
  const { jwt, userNkey } = await request({ user: "prod", pass: "wardj_good" });
  const r = (await h.ask(jwt))!;
  assert.equal(r.sub, userNkey, "for the user key nats-server will bind");
  assert.equal(r.aud, server.getPublicKey(), "for the server that asked");
  assert.equal(r.iss, issuer.getPublicKey(), "signed with the callout's account key");
  assert.equal(r.nats.type, "authorization_response");
  assert.equal(r.nats.error, undefined);
  const u = decode(r.nats.jwt) as Record<string, any>;
  assert.equal(u.sub, userNkey);
  assert.equal(u.iss, issuer.getPublicKey());
  assert.equal(u.aud, "WARD", "placed in the agents' account");
  assert.equal(u.name, "agent:prod", "named after the cluster its credential proved");
  assert.deepEqual(u.nats.pub.allow, ["ward.gw.prod.>"]);
  assert.deepEqual(u.nats.sub.allow, ["ward.agent.prod.>"]);
  assert.ok(u.nats.subs > 0 && u.nats.subs <= 64, "subscriptions capped");
  assert.deepEqual(seen, [["prod", "wardj_good"]]);
  assert.equal(h.callout.stats.allowed, 1);
});

test("a wrong credential, a bad cluster id or a missing password is refused with an error answer; the store is asked only for valid ids", async () => {
  let asked = 0;
  const h = harness(async () => (asked++, false));
  for (const connect of [{ user: "prod", pass: "wardj_wrong" }, { user: "a.b", pass: "x" }, { user: ">", pass: "x" }, { user: "prod" }, { user: "prod", pass: "x".repeat(2000) }, {}]) {
    const r = (await h.ask((await request(connect)).jwt))!;
    assert.ok(r, `an answer for ${JSON.stringify(connect).slice(0, 60)}`);
    assert.match(r.nats.error, /refused the agent/);
    assert.equal(r.nats.jwt, undefined);
  }
  assert.equal(asked, 1, "only the well-formed one reached the credential check");
});

test("forged and foreign requests get no answer at all", async () => {
  const h = harness(async () => true);
  const other = createServer();
  const cases = [
    (await request({ user: "prod", pass: "p" }, { serverId: other.getPublicKey() })).jwt, // signer is not the server it names
    (await request({ user: "prod", pass: "p" }, { aud: "someone-else" })).jwt,
    (await request({ user: "prod", pass: "p" }, { type: "user" })).jwt,
    (await request({ user: "prod", pass: "p" })).jwt.slice(0, -4) + "AAAA", // signature broken
    "eyJnot.a.jwt",
    "x".repeat(40_000),
  ];
  for (const jwt of cases) assert.equal(await h.ask(jwt), undefined);
  assert.equal(h.callout.stats.malformed, cases.length);
  assert.equal(h.callout.stats.allowed, 0);
  assert.equal(parseRequest(enc.encode(cases[0]!)), null);
});

test("more checks at once than allowed are refused at once as busy, not queued", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = harness(async () => (await gate, true), 1);
  const first = h.ask((await request({ user: "prod", pass: "p" })).jwt);
  await new Promise((r) => setTimeout(r, 20));
  const busy = (await h.ask((await request({ user: "prod", pass: "p" })).jwt))!;
  assert.match(busy.nats.error, /busy/);
  release();
  assert.ok((await first)?.nats.jwt, "the first one still answered");
  assert.equal(h.callout.stats.busy, 1);
});
