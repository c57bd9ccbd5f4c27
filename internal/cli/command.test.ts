import assert from "node:assert/strict";
import { test } from "node:test";
import { execute, resolve, UsageError, type CommandSpec } from "./command.ts";

const calls: string[] = [];
const tree: CommandSpec = {
  name: "ward",
  summary: "root",
  subcommands: [
    {
      name: "cluster",
      summary: "clusters",
      subcommands: [
        {
          name: "list",
          summary: "list clusters",
          flags: [
            { name: "output", short: "o", type: "string", description: "format" },
            { name: "all", type: "boolean", description: "all" },
          ],
          run: async (inv) => {
            calls.push(JSON.stringify(inv.flags));
            return 0;
          },
        },
      ],
    },
  ],
};

function capture() {
  let out = "";
  let err = "";
  return { io: { out: (t: string) => void (out += t), err: (t: string) => void (err += t) }, get: () => ({ out, err }) };
}

test("resolves nested commands and flags", () => {
  const r = resolve(tree, ["cluster", "list", "-o", "json", "--all"]);
  assert.deepEqual(r.inv.path, ["ward", "cluster", "list"]);
  assert.deepEqual({ ...r.inv.flags }, { output: "json", all: true });
  assert.equal(r.help, false);
});

for (const [argv, message] of [
  [["nope"], /Unknown command "nope" for "ward"/],
  [["cluster", "nope"], /Unknown command "nope" for "ward cluster"/],
  [["cluster"], /Missing command for "ward cluster"/],
  [["cluster", "list", "--bogus"], /Unknown flag --bogus/],
  [["cluster", "list", "-o"], /Flag --output needs a value/],
  [["cluster", "list", "extra"], /Unexpected argument "extra"/],
] as const) {
  test(`usage error: ${argv.join(" ")}`, async () => {
    assert.throws(() => resolve(tree, [...argv]), (e: unknown) => e instanceof UsageError && message.test(e.message));
    const c = capture();
    assert.equal(await execute(tree, [...argv], c.io), 2);
    assert.match(c.get().err, message);
    assert.match(c.get().err, /--help' for usage/);
  });
}

test("--help at every level prints help and exits 0", async () => {
  for (const argv of [["--help"], ["cluster", "--help"], ["cluster", "list", "-h"]]) {
    const c = capture();
    assert.equal(await execute(tree, argv, c.io), 0);
    assert.match(c.get().out, /Usage:/);
    assert.match(c.get().out, /--help/);
  }
  const c = capture();
  await execute(tree, ["cluster", "--help"], c.io);
  assert.match(c.get().out, /list\s+list clusters/);
});

test("runs the addressed command", async () => {
  calls.length = 0;
  const c = capture();
  assert.equal(await execute(tree, ["cluster", "list", "--output=yaml"], c.io), 0);
  assert.deepEqual(calls, [JSON.stringify({ output: "yaml" })]);
});
