import { test } from "node:test";
import assert from "node:assert/strict";
import { REDACTED, redactBody, type CapturedBody } from "./index.ts";

const json = (v: unknown, contentType = "application/json"): CapturedBody => {
  const bytes = Buffer.from(JSON.stringify(v));
  return { bytes, size: bytes.length, truncated: false, contentType };
};

test("a Secret's data and stringData values never survive, its keys and metadata do", () => {
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "shop" }, type: "Opaque", data: { user: "YWRtaW4=", pass: "aHVudGVyMg==" }, stringData: { extra: "plaintext-42" } };
  const r = redactBody(json(secret), "secrets");
  assert.ok(r.text);
  assert.doesNotMatch(r.text!, /YWRtaW4=|aHVudGVyMg==|plaintext-42/);
  assert.deepEqual(JSON.parse(r.text!), { ...secret, data: { user: REDACTED, pass: REDACTED }, stringData: { extra: REDACTED } });
  assert.equal(r.contentType, "application/json");
  assert.equal(r.truncated, false);
});

test("patches to secrets carry no kind: merge patch data and JSON Patch values are redacted", () => {
  const merge = redactBody(json({ data: { k: "c2VjcmV0" }, metadata: { labels: { a: "b" } } }, "application/merge-patch+json"), "secrets");
  assert.deepEqual(JSON.parse(merge.text!), { data: { k: REDACTED }, metadata: { labels: { a: "b" } } });
  const strategic = redactBody(json({ stringData: { k: "x1" } }, "application/strategic-merge-patch+json"), "secrets");
  assert.doesNotMatch(strategic.text!, /x1/);
  const jp = redactBody(json([{ op: "add", path: "/data/k", value: "c2VjcmV0" }, { op: "replace", path: "/data", value: { a: "b" } }], "application/json-patch+json"), "secrets");
  assert.deepEqual(JSON.parse(jp.text!), [{ op: "add", path: "/data/k", value: REDACTED }, { op: "replace", path: "/data", value: { a: REDACTED } }]);
});

test("a Secret inside a List is redacted wherever it is sent", () => {
  const r = redactBody(json({ kind: "List", items: [{ kind: "Secret", data: { a: "QQ==" } }, { kind: "ConfigMap", data: { a: "visible" } }] }), "");
  assert.deepEqual(JSON.parse(r.text!).items, [{ kind: "Secret", data: { a: REDACTED } }, { kind: "ConfigMap", data: { a: "visible" } }]);
});

test("fields named like credentials are redacted anywhere; references to them are kept", () => {
  const body = {
    kind: "ConfigMap", data: { password: "p1", "db.token": "t1", apiKey: "k1", plain: "ok" },
    spec: { auth: { bearerToken: "t2", clientSecret: "s2", privateKey: "pk" }, secretName: "db", tokenExpirationSeconds: 600, env: [{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] },
  };
  const out = JSON.parse(redactBody(json(body), "configmaps").text!);
  assert.deepEqual(out.data, { password: REDACTED, "db.token": REDACTED, apiKey: REDACTED, plain: "ok" });
  assert.deepEqual(out.spec.auth, { bearerToken: REDACTED, clientSecret: REDACTED, privateKey: REDACTED });
  assert.equal(out.spec.secretName, "db");
  assert.equal(out.spec.tokenExpirationSeconds, 600);
  assert.deepEqual(out.spec.env[0].valueFrom.secretKeyRef, { name: "s", key: REDACTED });
});

test("a body without a content type is read as JSON, as the API server reads it", () => {
  const r = redactBody({ ...json({ kind: "Secret", data: { a: "QQ==" } }), contentType: undefined }, "secrets");
  assert.deepEqual(JSON.parse(r.text!), { kind: "Secret", data: { a: REDACTED } });
  assert.equal(r.contentType, null);
});

test("truncated, YAML, protobuf and malformed bodies are kept as content type and size only", () => {
  const big = json({ kind: "Secret", data: { a: "QQ==" } });
  for (const b of [
    { ...big, truncated: true, size: 100_000 },
    { ...big, contentType: "application/apply-patch+yaml" },
    { ...big, contentType: "application/vnd.kubernetes.protobuf" },
    { ...big, contentType: "text/plain" },
    { bytes: Buffer.from("{not json"), size: 9, truncated: false, contentType: "application/json" },
  ]) {
    const r = redactBody(b, "secrets");
    assert.equal(r.text, null, String(b.contentType));
    assert.equal(r.size, b.size);
    assert.equal(r.truncated, b.truncated);
  }
});
