/** Pre-authentication limits of the HTTP API: bodies bounded while they stream in, token-endpoint rate. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../log/index.ts";
import { API_BODY_MAX_BYTES, AUTH_BODY_MAX_BYTES, createApp } from "./app.ts";

function app(): ReturnType<typeof createApp> {
  let refreshes = 0;
  const sessions = { refresh: async () => ({ access_token: `t${++refreshes}` }), revoke: async () => {} };
  return createApp({
    logger: silentLogger,
    readiness: [],
    access: { authenticateApiToken: async () => { throw new Error("not reached"); } } as never,
    auth: { cliSessions: sessions, device: {}, portalSessions: { get: async () => null }, bootstrap: {}, oidc: undefined, allowedDomains: [] } as never,
  });
}

/** A body that streams `total` bytes in 64 KiB chunks without a Content-Length, counting what was pulled. */
function stream(total: number): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const chunk = new Uint8Array(64 * 1024).fill(97);
  return {
    body: new ReadableStream({
      pull(c) {
        if (sent >= total) return c.close();
        sent += chunk.length;
        c.enqueue(chunk);
      },
    }),
    pulled: () => sent,
  };
}

for (const [path, limit] of [["/api/v1/auth/token", AUTH_BODY_MAX_BYTES], ["/api/v1/auth/logout", AUTH_BODY_MAX_BYTES], ["/api/v1/auth/device", AUTH_BODY_MAX_BYTES], ["/api/v1/clusters", API_BODY_MAX_BYTES], ["/bootstrap", API_BODY_MAX_BYTES]] as const) {
  test(`POST ${path}: a huge body is refused once it passes ${limit / 1024} KiB, without being read whole`, async () => {
    const s = stream(400 << 20);
    const r = await app().request(path, { method: "POST", body: s.body, duplex: "half", headers: { "content-type": "application/x-www-form-urlencoded" } } as RequestInit);
    assert.equal(r.status, 413);
    assert.match(JSON.stringify(await r.json()), /too large: at most \d+ KiB/);
    assert.ok(s.pulled() <= limit + 2 * 64 * 1024, `${s.pulled()} bytes read`);
    // A declared length over the limit is refused before any byte is read.
    const declared = await app().request(path, { method: "POST", body: "x", headers: { "content-length": String(limit + 1) } });
    assert.equal(declared.status, 413);
  });
}

test("/api/v1/auth/token is rate-limited per client", async () => {
  const a = app();
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await a.request("/api/v1/auth/token", { method: "POST", body: "grant_type=refresh_token&refresh_token=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    statuses.push(r.status);
    if (r.status === 429) {
      assert.ok(Number(r.headers.get("retry-after")) >= 1);
      assert.equal(((await r.json()) as { error: string }).error, "rate_limited");
    }
  }
  assert.equal(statuses[0], 200);
  assert.ok(statuses.includes(429), `no 429 in ${statuses.join(",")}`);
});
