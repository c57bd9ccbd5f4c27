import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SubjectIndex } from "./subject_index.ts";
import { subjectMatches } from "./subject.ts";

interface Sub {
  subject: string;
  queue: string | undefined;
  id: number;
}

let nextId = 0;
const sub = (subject: string, queue?: string): Sub => ({ subject, queue, id: nextId++ });
const ids = (xs: readonly Sub[]) => xs.map((s) => s.id).sort((a, b) => a - b);

test("plain, wildcard and queue matches", () => {
  const idx = new SubjectIndex<Sub>();
  const a = sub("foo.bar");
  const b = sub("foo.*");
  const c = sub("foo.>");
  const d = sub(">");
  const q1 = sub("foo.bar", "q");
  const q2 = sub("foo.*", "q");
  const r1 = sub("foo.bar", "r");
  for (const s of [a, b, c, d, q1, q2, r1]) idx.insert(s);
  assert.equal(idx.size, 7);
  const m = idx.match("foo.bar");
  assert.deepEqual(ids(m.plain), ids([a, b, c, d]));
  assert.equal(m.groups.length, 2);
  const groups = m.groups.map((g) => ids(g)).sort((x, y) => x.length - y.length);
  assert.deepEqual(groups, [ids([r1]), ids([q1, q2])]);
  assert.deepEqual(ids(idx.match("foo").plain), ids([d]));
  assert.deepEqual(ids(idx.match("foo.bar.baz").plain), ids([c, d]));
});

test("cache is invalidated by inserts and removals", () => {
  const idx = new SubjectIndex<Sub>();
  const a = sub("x.y");
  idx.insert(a);
  assert.equal(idx.match("x.y").plain.length, 1);
  const w = sub("x.*");
  idx.insert(w);
  assert.equal(idx.match("x.y").plain.length, 2);
  assert.equal(idx.remove(a), true);
  assert.equal(idx.remove(a), false);
  assert.deepEqual(ids(idx.match("x.y").plain), [w.id]);
  idx.remove(w);
  assert.equal(idx.match("x.y").plain.length, 0);
  assert.equal(idx.size, 0);
});

test("property: agrees with a brute-force model under random inserts and removals", () => {
  const tok = fc.constantFrom("a", "b", "c");
  const pattern = fc.array(fc.constantFrom("a", "b", "c", "*"), { minLength: 1, maxLength: 3 }).chain((ts) =>
    fc.boolean().map((fwc) => (fwc ? [...ts.slice(0, -1), ">"] : ts).join(".")),
  );
  const action = fc.oneof(
    fc.tuple(fc.constant("insert" as const), pattern, fc.option(fc.constantFrom("q1", "q2"), { nil: undefined })),
    fc.tuple(fc.constant("remove" as const), fc.nat()),
    fc.tuple(fc.constant("match" as const), fc.array(tok, { minLength: 1, maxLength: 4 }).map((t) => t.join("."))),
  );
  fc.assert(
    fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
      const idx = new SubjectIndex<Sub>({ cacheSize: 8 });
      const live: Sub[] = [];
      for (const act of actions) {
        if (act[0] === "insert") {
          const s = sub(act[1], act[2]);
          live.push(s);
          idx.insert(s);
        } else if (act[0] === "remove") {
          if (live.length === 0) continue;
          const [s] = live.splice(act[1] % live.length, 1);
          assert.equal(idx.remove(s!), true);
        } else {
          const subject = act[1];
          const m = idx.match(subject);
          const want = live.filter((s) => subjectMatches(s.subject, subject));
          assert.deepEqual(ids(m.plain), ids(want.filter((s) => s.queue === undefined)));
          const wantGroups = new Map<string, number[]>();
          for (const s of want) if (s.queue) wantGroups.set(s.queue, [...(wantGroups.get(s.queue) ?? []), s.id]);
          const got = new Map(m.groups.map((g) => [g[0]!.queue!, ids(g)]));
          assert.deepEqual(got, new Map([...wantGroups].map(([k, v]) => [k, v.sort((a, b) => a - b)])));
        }
        assert.equal(idx.size, live.length);
      }
    }),
    { numRuns: 400 },
  );
});

test("stays usable with 10,000+ subscriptions", () => {
  const idx = new SubjectIndex<Sub>();
  const subs: Sub[] = [];
  for (let i = 0; i < 12_000; i++) {
    const s = sub(i % 3 === 0 ? `ward.agent.c${i}.>` : `ward.gw.c${i % 500}.s${i}`, i % 7 === 0 ? "workers" : undefined);
    subs.push(s);
    idx.insert(s);
  }
  assert.equal(idx.size, 12_000);
  for (let i = 0; i < 50_000; i++) idx.match(`ward.gw.c${i % 500}.s${i % 12_000}`);
  assert.equal(idx.match("ward.agent.c3.x.y").plain.length, 1);
  for (const s of subs) idx.remove(s);
  assert.equal(idx.size, 0);
  assert.equal(idx.match("ward.agent.c3.x.y").plain.length, 0);
});
