import assert from "node:assert/strict";
import { test } from "node:test";
import { identityFromClaims } from "./oidc.ts";

test("identityFromClaims: the email is verified only when email_verified is the boolean true", () => {
  const cases: [name: string, claims: Record<string, unknown>, verified: boolean][] = [
    ["true", { email_verified: true }, true],
    ["missing means unverified", {}, false],
    ["false", { email_verified: false }, false],
    ['the string "true" is not a boolean', { email_verified: "true" }, false],
    ["1", { email_verified: 1 }, false],
    ["null", { email_verified: null }, false],
    ["an object", { email_verified: { value: true } }, false],
  ];
  for (const [name, claims, verified] of cases) {
    const identity = identityFromClaims({ sub: "s1", email: "dev@example.com", ...claims });
    assert.deepEqual(identity, { sub: "s1", email: "dev@example.com", emailVerified: verified, name: undefined }, name);
  }
});

test("identityFromClaims: non-string email and name are dropped", () => {
  assert.deepEqual(identityFromClaims({ sub: "s1", email: ["a@example.com"], email_verified: true, name: 7 }), { sub: "s1", email: undefined, emailVerified: true, name: undefined });
  assert.deepEqual(identityFromClaims({ sub: "s1", email: "a@example.com", name: "Ada" }), { sub: "s1", email: "a@example.com", emailVerified: false, name: "Ada" });
});
