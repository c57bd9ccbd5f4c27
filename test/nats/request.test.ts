/** Conformance: request/reply, reply subjects, no-responders. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { errors, headers } from "@nats-io/nats-core";
import { connect, targets, te, useServer } from "./harness.ts";

for (const target of targets) {
  describe(`request/reply on ${target.name}`, () => {
    const server = useServer(target);

    test("a responder answers on the reply subject", async () => {
      const svc = await connect(server());
      const client = await connect(server());
      svc.subscribe("svc.echo", { callback: (_e, m) => void (m.respond(te.encode(`echo:${m.string()}:${m.headers?.get("k") ?? ""}`))) });
      await svc.flush();
      const h = headers();
      h.set("k", "v");
      const r = await client.request("svc.echo", te.encode("hi"), { timeout: 2000, headers: h });
      assert.equal(r.string(), "echo:hi:v");
    });

    test("many concurrent requests each get their own answer", async () => {
      const svc = await connect(server());
      const client = await connect(server());
      svc.subscribe("svc.double", { queue: "svc", callback: (_e, m) => void (m.respond(te.encode(String(Number(m.string()) * 2)))) });
      await svc.flush();
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => client.request("svc.double", te.encode(String(i)), { timeout: 5000 })));
      assert.deepEqual(answers.map((m) => Number(m.string())), Array.from({ length: 200 }, (_, i) => i * 2));
    });

    test("an explicit reply subject is delivered with the message", async () => {
      const a = await connect(server());
      const b = await connect(server());
      let reply = "";
      b.subscribe("with.reply", { callback: (_e, m) => void (reply = m.reply ?? "") });
      await b.flush();
      a.publish("with.reply", te.encode("x"), { reply: "my.inbox.1" });
      await a.flush();
      await b.flush();
      assert.equal(reply, "my.inbox.1");
    });

    test("no responders: the request fails at once with NoRespondersError", async () => {
      const client = await connect(server());
      const t0 = Date.now();
      const err = await client.request("nobody.home", te.encode("?"), { timeout: 5000 }).then(
        () => assert.fail("expected no responders"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof errors.RequestError, String(err));
      assert.ok(err.isNoResponders());
      assert.ok(Date.now() - t0 < 2000);
      // noMux requests (own inbox subscription) see the same 503.
      const err2 = await client.request("nobody.home", undefined, { timeout: 5000, noMux: true }).then(
        () => assert.fail("expected no responders"),
        (e: unknown) => e,
      );
      assert.ok((err2 as Error).cause instanceof errors.NoRespondersError || err2 instanceof errors.NoRespondersError, String(err2));
    });

    test("a silent responder times out", async () => {
      const svc = await connect(server());
      const client = await connect(server());
      svc.subscribe("svc.silent", { callback: () => {} });
      await svc.flush();
      await assert.rejects(client.request("svc.silent", undefined, { timeout: 200 }), errors.TimeoutError);
    });
  });
}
