import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { ProxyError, writeStatus } from "./status.ts";

let server: Server;
let port: number;

before(async () => {
  // Answers at once, as the proxy does when authentication fails, without reading any body.
  server = createServer((_req, res) => setTimeout(() => writeStatus(res, new ProxyError(401, "Unauthorized")), 20));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

/** Sends `head`, then `body` slowly; resolves with what came back and whether the server closed within 2 s. */
function exchange(head: string, body = ""): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => s.write(head));
    let text = "";
    const drip = body ? setInterval(() => s.write(body), 50) : undefined;
    s.on("data", (c) => (text += c));
    s.on("error", () => {});
    const done = (closed: boolean) => (clearInterval(drip), s.destroy(), resolve({ text, closed }));
    s.on("close", () => done(true));
    setTimeout(() => done(false), 2000);
  });
}

test("an error answer to a request whose body is still arriving closes the connection: the body is not read on", async () => {
  const r = await exchange("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\na\r\n");
  assert.match(r.text, /^HTTP\/1\.1 401 [^]*\r\nconnection: close\r\n/i);
  assert.ok(r.closed, "the connection stayed open, reading the body");
  assert.match(r.text, /"kind":"Status"/);
});

test("an error answer to a complete request keeps the connection", async () => {
  const r = await exchange("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.match(r.text, /^HTTP\/1\.1 401 /);
  assert.doesNotMatch(r.text, /connection: close/i);
  assert.equal(r.closed, false);
});
