import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultNamespace, type ScopedGrant } from "./default_namespace.ts";

const ns = (namespace: string): ScopedGrant => ({ scope: "namespace", namespace });
const cluster: ScopedGrant = { scope: "cluster", namespace: null };

test("defaultNamespace: the one namespace of namespace-only access, else none", () => {
  const cases: [ScopedGrant[], ReturnType<typeof defaultNamespace>][] = [
    [[], { namespaces: [] }],
    [[ns("shop")], { namespace: "shop", namespaces: ["shop"] }],
    [[ns("shop"), ns("shop")], { namespace: "shop", namespaces: ["shop"] }],
    [[ns("shop"), ns("blog")], { namespaces: ["blog", "shop"] }],
    [[ns("shop"), cluster], { namespaces: [] }],
    [[cluster], { namespaces: [] }],
  ];
  for (const [grants, want] of cases) assert.deepEqual(defaultNamespace(grants), want, JSON.stringify(grants));
});
