/**
 * Conformance at the byte level: a raw WebSocket client sends protocol text and the answers of
 * both servers are compared exactly (INFO fields, +OK, -ERR texts, which errors close the socket,
 * no-responders HMSG, auth timeout, stale-connection detection).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { rawClient, sleep, targets, useServer } from "./harness.ts";

const INFO = /^INFO (\{.*\}) ?\r\n/;

for (const target of targets) {
  describe(`raw protocol on ${target.name}`, () => {
    const server = useServer(target, { maxPayload: 4096, maxControlLine: 512 });

    test("INFO first, with the fields clients rely on", async () => {
      const c = await rawClient(server());
      const text = await c.waitFor(INFO);
      const info = JSON.parse(INFO.exec(text)![1]!) as Record<string, unknown>;
      assert.equal(typeof info.server_id, "string");
      assert.equal(info.proto, 1);
      assert.equal(info.headers, true);
      assert.equal(info.max_payload, 4096);
      assert.equal(info.auth_required, undefined);
      assert.match(String(info.version), /^2\.\d+\.\d+/);
    });

    test("verbose: +OK per operation, MSG after the publisher's +OK, PONG", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":true}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nUNSUB 1\r\nPING\r\n');
      const text = await c.waitFor(/PONG\r\n/);
      assert.equal(text.replace(INFO, ""), "+OK\r\n+OK\r\n+OK\r\nMSG foo 1 5\r\nhello\r\n+OK\r\nPONG\r\n");
    });

    test("lowercase ops, reply subjects, UNSUB max, HPUB", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('connect {"verbose":false,"headers":true}\r\nsub a.* 7\r\nunsub 7 2\r\npub a.b r.1 2\r\nhi\r\nhpub a.c 12 14\r\nNATS/1.0\r\n\r\nyo\r\npub a.d 0\r\n\r\nping\r\n');
      const text = await c.waitFor(/PONG\r\n/);
      assert.equal(text.replace(INFO, ""), "MSG a.b 7 r.1 2\r\nhi\r\nHMSG a.c 7 12 14\r\nNATS/1.0\r\n\r\nyo\r\nPONG\r\n");
    });

    test("no responders: a header-only 503 HMSG on the reply subscription", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\nSUB _INBOX.x.* 9\r\nPUB nobody _INBOX.x.1 2\r\nhi\r\nPING\r\n');
      const text = await c.waitFor(/PONG\r\n/);
      // nats-server >= 2.11 names the subject nobody listened on.
      assert.equal(text.replace(INFO, ""), "HMSG _INBOX.x.1 9 38 38\r\nNATS/1.0 503\r\nNats-Subject: nobody\r\n\r\n\r\nPONG\r\n");
    });

    test("recoverable errors keep the connection", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":false}\r\nSUB foo. 1\r\nSUB foo..bar 2\r\nPUB foo.* 1\r\nx\r\nPUB a..b 1\r\nx\r\nUNSUB 99\r\nPING\r\n');
      const text = await c.waitFor(/PONG\r\n/);
      assert.equal(
        text.replace(INFO, ""),
        "-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\n-ERR 'Invalid Publish Subject'\r\n-ERR 'Invalid Publish Subject'\r\nPONG\r\n",
      );
    });

    test("an unknown operation is fatal", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":false}\r\nFOO bar\r\n');
      await c.closed;
      // nats-server's websocket listener drops the connection without flushing the -ERR that its
      // TCP listener sends; the embedded endpoint sends it (more helpful). Either way: closed.
      assert.match(c.text().replace(INFO, ""), /^(-ERR 'Unknown Protocol Operation'\r\n)?$/);
    });

    test("a payload over max_payload is fatal", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":false}\r\nPUB big 5000\r\n');
      await c.closed;
      assert.equal(c.text().replace(INFO, ""), "-ERR 'Maximum Payload Violation'\r\n");
    });

    test("a control line over max_control_line is fatal", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send(`CONNECT {"verbose":false}\r\nSUB ${"x".repeat(600)} 1\r\n`);
      await c.closed;
      assert.equal(c.text().replace(INFO, "").toLowerCase(), "-err 'maximum control line exceeded'\r\n");
    });

    test("a bad CONNECT protocol version is fatal", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"protocol":2}\r\n');
      await c.closed;
      assert.equal(c.text().replace(INFO, ""), "-ERR 'invalid client protocol'\r\n");
    });
  });

  describe(`raw auth on ${target.name}`, () => {
    const server = useServer(target, { users: [{ user: "u", pass: "p" }], authTimeoutSec: 1 });

    test("INFO says auth_required; operations before CONNECT are refused", async () => {
      const c = await rawClient(server());
      const text = await c.waitFor(INFO);
      assert.equal((JSON.parse(INFO.exec(text)![1]!) as { auth_required?: boolean }).auth_required, true);
      c.send("SUB foo 1\r\n");
      await c.closed;
      assert.equal(c.text().replace(INFO, ""), "-ERR 'Authorization Violation'\r\n");
    });

    test("no CONNECT within the auth timeout: Authentication Timeout", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      const t0 = Date.now();
      await c.closed;
      const took = Date.now() - t0;
      assert.equal(c.text().replace(INFO, ""), "-ERR 'Authentication Timeout'\r\n");
      assert.ok(took > 700 && took < 3000, `closed after ${took} ms`);
    });

    test("a good CONNECT is answered", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":true,"user":"u","pass":"p"}\r\nPING\r\n');
      const text = await c.waitFor(/PONG\r\n/);
      assert.equal(text.replace(INFO, ""), "+OK\r\nPONG\r\n");
    });
  });

  describe(`max_subscriptions on ${target.name}`, () => {
    const server = useServer(target, { maxSubscriptions: 2 });

    test("a SUB past the cap is refused, the connection stays", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB c 3\r\nUNSUB 1\r\nSUB c 3\r\nPUB c 2\r\nok\r\nPING\r\n');
      const text = await c.waitFor(/PONG\r\n/);
      assert.equal(text.replace(INFO, ""), "-ERR 'maximum subscriptions exceeded'\r\nMSG c 3 2\r\nok\r\nPONG\r\n");
    });
  });

  describe(`stale connections on ${target.name}`, () => {
    const server = useServer(target, { pingIntervalMs: 250, maxPingsOut: 1 });

    test("a client that never answers PING is cut with Stale Connection", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":false}\r\n');
      await Promise.race([c.closed, sleep(5000)]);
      const text = c.text().replace(INFO, "");
      assert.match(text, /^(PING\r\n)+-ERR 'Stale Connection'\r\n$/);
    });

    test("a client that answers stays", async () => {
      const c = await rawClient(server());
      await c.waitFor(INFO);
      c.send('CONNECT {"verbose":false}\r\n');
      for (let i = 0; i < 6; i++) {
        await c.waitFor(new RegExp(`(PING\\r\\n[^]*){${i + 1}}`), 2000);
        c.send("PONG\r\n");
      }
      assert.doesNotMatch(c.text(), /Stale/);
    });
  });
}
