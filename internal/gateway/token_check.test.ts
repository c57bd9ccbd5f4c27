import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessError, TokenRejectedError, type Grant, type Member, type TokenContext } from "../access/index.ts";
import { createLogger } from "../log/index.ts";
import { ProxyError } from "../proxy/index.ts";
import { tokenCheck, type TokenVerifier } from "./token_check.ts";

const member = { id: "m1", email: "ann@example.com", role: "member", robot: false, status: "active", oidc_subject: null, created_at: "" } as Member;
const grant = (id: string, over: Partial<Grant>) => ({ id, cluster_id: "c1", member_id: "m1", role: "view", scope: "cluster", namespace: null, expires_at: null, ...over }) as Grant;

function setup(verify: TokenVerifier["verifyToken"]) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ write: (l) => void lines.push(JSON.parse(l)) });
  const seen: [string, string][] = [];
  const check = tokenCheck({ verifyToken: (t, c) => (seen.push([t, c]), verify(t, c)) }, logger);
  return { check, lines, seen, ask: (token: string | undefined) => check({ cluster: "c1", token, method: "GET", path: "/api" }) };
}

const rejectsWith = (status: number, message: RegExp) => (e: unknown) => e instanceof ProxyError && e.status === status && message.test(e.message);

test("a verified token becomes the member's identity and the authority (token id, grants) of its streams", async () => {
  const ctx: TokenContext = {
    member, clusterId: "c1", jti: "tok1", expiresAt: 0,
    grants: [grant("g1", {}), grant("g2", { role: "edit", scope: "namespace", namespace: "ns1", expires_at: "2030-01-02T03:04:05.000Z" })],
  };
  const { ask, seen } = setup(async () => ctx);
  assert.deepEqual(await ask("t0k"), {
    member: "m1", user: "ann@example.com", groups: [],
    authority: {
      tokenId: "tok1",
      grants: [
        { id: "g1", role: "view", scope: "cluster", namespace: null, expiresAt: null },
        { id: "g2", role: "edit", scope: "namespace", namespace: "ns1", expiresAt: Date.parse("2030-01-02T03:04:05.000Z") },
      ],
    },
  });
  assert.deepEqual(seen, [["t0k", "c1"]]);
});

test("no token: 401 saying how to get one, without asking access", async () => {
  const { ask, seen } = setup(async () => assert.fail("not called"));
  await assert.rejects(ask(undefined), rejectsWith(401, /no token; get a kubeconfig/));
  await assert.rejects(ask(""), rejectsWith(401, /no token/));
  assert.deepEqual(seen, []);
});

test("a rejected token: the same short 401 for every reason; the reason goes to the log, never the token", async () => {
  const { ask, lines } = setup(async () => {
    throw new TokenRejectedError("token revoked");
  });
  await assert.rejects(ask("secret-token"), rejectsWith(401, /^Unauthorized: the token is not valid for this cluster/));
  assert.deepEqual(lines.map((l) => [l["msg"], l["cluster"], l["reason"]]), [["token rejected", "c1", "token revoked"]]);
  assert.ok(!JSON.stringify(lines).includes("secret-token"));
});

test("the access feature switched off: 404, as for every access endpoint", async () => {
  const { ask } = setup(async () => {
    throw new AccessError("FeatureDisabled", "Access is disabled");
  });
  await assert.rejects(ask("t"), (e: unknown) => rejectsWith(404, /^Not found$/)(e) && (e as Error).cause instanceof AccessError);
});

test("any other failure is not a refusal: it propagates (the proxy answers 502 and logs it)", async () => {
  const boom = new Error("store down");
  const { ask, lines } = setup(async () => {
    throw boom;
  });
  await assert.rejects(ask("t"), (e) => e === boom);
  const other = new AccessError("Forbidden", "x");
  const s2 = setup(async () => {
    throw other;
  });
  await assert.rejects(s2.ask("t"), (e) => e === other);
  assert.deepEqual(lines, []);
});
