import assert from "node:assert/strict";
import { registerHooks } from "node:module";
import { test } from "node:test";

test("the agent's own modules load neither the access service nor jose", async () => {
  const loaded: string[] = [];
  const hooks = registerHooks({
    resolve(specifier, context, nextResolve) {
      const r = nextResolve(specifier, context);
      loaded.push(r.url);
      return r;
    },
  });
  try {
    // What `ward agent` imports of Ward's code (cmd/agent.ts); @kubernetes/client-node is its own matter.
    await import("./index.ts");
    await import("../tunnel/index.ts");
    await import("../proxy/index.ts");
    await import("../nats/index.ts");
    await import("../metrics/index.ts");
  } finally {
    hooks.deregister();
  }
  assert.ok(loaded.some((u) => u.endsWith("/internal/bus/access_messages.ts")), "the hook saw the agent's imports");
  assert.deepEqual(loaded.filter((u) => /\/internal\/access\/|\/node_modules\/jose\//.test(u)), []);
});
