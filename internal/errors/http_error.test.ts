import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessError } from "../access/index.ts";
import { AuthError } from "../auth/index.ts";
import { ProxyError, statusResponseBytes } from "../proxy/index.ts";
import { HttpError } from "./index.ts";

test("the three areas' errors share one shape: status is the HTTP status, reason what clients branch on, retryAfter seconds", () => {
  const cause = new Error("under");
  const cases: [HttpError, string, number, string, number | undefined, unknown][] = [
    [new AccessError("RateLimited", "Slow down", { retryAfter: 3, cause }), "AccessError", 429, "RateLimited", 3, cause],
    [new AccessError("FeatureDisabled", "Off"), "AccessError", 404, "FeatureDisabled", undefined, undefined],
    [new AuthError("slow_down", "Poll less often", { cause }), "AuthError", 400, "slow_down", undefined, cause],
    [new AuthError("rate_limited", "Wait", { retryAfter: 5 }), "AuthError", 429, "rate_limited", 5, undefined],
    [new ProxyError(503, "Offline", { cause }), "ProxyError", 503, "ServiceUnavailable", undefined, cause],
    [new ProxyError(429, "Busy", { retryAfter: 1 }), "ProxyError", 429, "TooManyRequests", 1, undefined],
    [new ProxyError(418, "Odd"), "ProxyError", 418, "InternalError", undefined, undefined],
    [new ProxyError(401, "No", { reason: "Custom" }), "ProxyError", 401, "Custom", undefined, undefined],
  ];
  for (const [err, name, status, reason, retryAfter, why] of cases) {
    assert.ok(err instanceof HttpError && err instanceof Error, name);
    assert.deepEqual([err.name, err.status, err.reason, err.retryAfter, err.cause], [name, status, reason, retryAfter, why], err.message);
    assert.ok(err.stack?.startsWith(`${name}: ${err.message}`), err.stack);
  }
});

test("a ProxyError renders as the same Kubernetes Status bytes as before the base class", () => {
  assert.equal(
    statusResponseBytes(new ProxyError(429, "Too many streams", { retryAfter: 1 })).toString(),
    "HTTP/1.1 429 TooManyRequests\r\nContent-Type: application/json\r\nContent-Length: 135\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" +
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too many streams","reason":"TooManyRequests","code":429}',
  );
  assert.equal(
    statusResponseBytes(new ProxyError(418, "Odd")).toString(),
    "HTTP/1.1 418 Error\r\nContent-Type: application/json\r\nContent-Length: 120\r\nConnection: close\r\n\r\n" +
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Odd","reason":"InternalError","code":418}',
  );
});
