import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseConfigDuration, parseListen, resolveConfig, type Spec } from "./index.ts";

const spec = {
  listen: { kind: "string", flag: "listen", env: "WARD_LISTEN", key: "listen", default: "127.0.0.1:8443", description: "" },
  timeout: { kind: "duration", flag: "timeout", env: "WARD_TIMEOUT", key: "http.timeout", default: 1000, description: "" },
  debug: { kind: "boolean", flag: "debug", env: "WARD_DEBUG", key: "debug", default: false, description: "" },
  max: { kind: "number", flag: "max", env: "WARD_MAX", key: "max", description: "", validate: (v: number) => (v > 0 ? undefined : "must be positive") },
} satisfies Spec;

test("flags beat env beat file beat defaults", () => {
  const file = { listen: "0.0.0.0:1", http: { timeout: "5s" }, debug: true, max: 3 };
  assert.deepEqual(resolveConfig(spec, { flags: {}, env: {}, file }), { listen: "0.0.0.0:1", timeout: 5000, debug: true, max: 3 });
  assert.deepEqual(resolveConfig(spec, { flags: {}, env: { WARD_LISTEN: "h:2", WARD_TIMEOUT: "2m", WARD_MAX: "7" }, file }), {
    listen: "h:2",
    timeout: 120_000,
    debug: true,
    max: 7,
  });
  assert.equal(resolveConfig(spec, { flags: { listen: "f:3" }, env: { WARD_LISTEN: "h:2" }, file }).listen, "f:3");
  assert.equal(resolveConfig(spec, { flags: {}, env: { WARD_MAX: "1" } }).timeout, 1000);
});

test("bad values are clear errors naming their source", () => {
  assert.throws(() => resolveConfig(spec, { flags: {}, env: {} }), /Missing max: set --max, WARD_MAX or max in the config file/);
  assert.throws(() => resolveConfig(spec, { flags: {}, env: { WARD_MAX: "x" } }), /Invalid WARD_MAX: expected a number/);
  assert.throws(() => resolveConfig(spec, { flags: { max: "0" }, env: {} }), /Invalid --max \(WARD_MAX\): must be positive/);
  assert.throws(
    () => resolveConfig(spec, { flags: {}, env: { WARD_MAX: "1" }, file: { http: { timeout: "soon" } }, fileName: "w.yaml" }),
    (e: unknown) => e instanceof ConfigError && /http.timeout in w.yaml: expected a duration/.test(e.message),
  );
  assert.throws(() => resolveConfig(spec, { flags: {}, env: { WARD_MAX: "1", WARD_DEBUG: "maybe" } }), /expected true or false/);
});

test("durations and listen addresses", () => {
  assert.equal(parseConfigDuration("250ms"), 250);
  assert.equal(parseConfigDuration("1.5s"), 1500);
  assert.equal(parseConfigDuration("1h"), 3_600_000);
  assert.equal(parseConfigDuration("42"), 42);
  assert.equal(parseConfigDuration("-1s"), undefined);
  assert.equal(parseConfigDuration("1d"), undefined);
  assert.deepEqual(parseListen("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListen("[::1]:8443"), { host: "::1", port: 8443 });
  assert.equal(parseListen("localhost"), undefined);
  assert.equal(parseListen("h:70000"), undefined);
});
