import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { appResponse } from "./protocol.ts";

async function h2Get(port: number, path: string): Promise<{ headers: IncomingHttpHeaders; body: string }> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    const req = session.request({ ":path": path });
    const [headers] = (await once(req, "response")) as [IncomingHttpHeaders];
    let body = "";
    for await (const c of req) body += c;
    return { headers, body };
  } finally {
    session.close();
  }
}

test("an app response over HTTP/2 leaves out the connection-specific headers HTTP/1.1 needs (Node would throw)", async () => {
  const server = createServer((req, res) => {
    const r = appResponse(req, res);
    r.setHeader("Transfer-Encoding", "chunked");
    r.setHeader("X-Set", "kept");
    if (req.url === "/object") r.writeHead(200, { "transfer-encoding": "chunked", connection: "close", "keep-alive": "timeout=5", "x-ok": "1", "set-cookie": ["a=1", "b=2"] });
    else r.writeHead(200, ["Transfer-Encoding", "chunked", "Connection", "close", "X-Ok", "1", "Set-Cookie", "a=1", "Set-Cookie", "b=2"]);
    r.end("hi");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    for (const path of ["/object", "/flat"]) {
      const { headers, body } = await h2Get(port, path);
      assert.equal(headers[":status"], 200, path);
      assert.equal(body, "hi", path);
      assert.equal(headers["x-ok"], "1", path);
      assert.equal(headers["x-set"], "kept", path);
      assert.deepEqual(headers["set-cookie"], ["a=1", "b=2"], `${path}: repeated headers survive`);
      for (const h of ["transfer-encoding", "connection", "keep-alive"]) assert.equal(headers[h], undefined, `${path}: ${h}`);
    }
  } finally {
    server.close();
  }
});

test("an HTTP/1.1 response is left as it is", async () => {
  const server = createHttpServer((req, res) => {
    const before = res.writeHead;
    assert.equal(appResponse(req, res), res);
    assert.equal(res.writeHead, before);
    res.end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    assert.equal(r.status, 200);
  } finally {
    server.close();
  }
});
