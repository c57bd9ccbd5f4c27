import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../log/index.ts";
import { AuditLog, type AuditRow } from "./index.ts";

const row = (n: number) => ({ id: String(n) }) as AuditRow;

function deferred() {
  let release!: () => void;
  const p = new Promise<void>((r) => (release = r));
  return { p, release };
}

test("a full queue drops and counts; record never waits for the store", async () => {
  const gate = deferred();
  const batches: number[] = [];
  const log = new AuditLog<number>({
    write: async (rows) => {
      batches.push(rows.length);
      await gate.p; // the store hangs
    },
    toRow: row, logger: silentLogger, queueCap: 10, batchSize: 4, flushIntervalMs: 60_000,
  });
  const t0 = performance.now();
  for (let i = 0; i < 25; i++) log.record(i);
  assert.ok(performance.now() - t0 < 50, "recording is synchronous");
  assert.deepEqual(log.stats(), { queued: 10, dropped: 15, written: 0, failed: 0 });
  await new Promise((r) => setImmediate(r));
  // A full batch starts a write at once; it hangs, and the queue refills to its cap behind it.
  assert.deepEqual(batches, [4]);
  for (let i = 0; i < 10; i++) log.record(i);
  assert.deepEqual(log.stats(), { queued: 10, dropped: 21, written: 0, failed: 0 });
  gate.release();
  await log.close();
  assert.deepEqual(batches, [4, 4, 4, 2]);
  assert.deepEqual(log.stats(), { queued: 0, dropped: 21, written: 14, failed: 0 });
  log.record(99);
  assert.equal(log.stats().dropped, 22, "a closed log drops");
});

test("the timer writes what is queued in batches of batchSize", async () => {
  const batches: string[][] = [];
  const log = new AuditLog<number>({ write: async (rows) => void batches.push(rows.map((r) => r.id)), toRow: row, logger: silentLogger, batchSize: 500, flushIntervalMs: 20 });
  for (let i = 0; i < 3; i++) log.record(i);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(batches, [["0", "1", "2"]]);
  for (let i = 0; i < 1200; i++) log.record(i);
  await log.close();
  assert.deepEqual(batches.slice(1).map((b) => b.length), [500, 500, 200]);
  assert.equal(log.stats().written, 1203);
});

test("a failing store or a bad entry is counted, not thrown, and later batches still go", async () => {
  let fail = true;
  const written: string[] = [];
  const log = new AuditLog<number>({
    write: async (rows) => {
      if (fail) throw new Error("disk full");
      written.push(...rows.map((r) => r.id));
    },
    toRow: (n) => {
      if (n === 13) throw new Error("bad entry");
      return row(n);
    },
    logger: silentLogger, flushIntervalMs: 60_000,
  });
  log.record(1);
  log.record(2);
  await log.flush();
  fail = false;
  log.record(13);
  log.record(3);
  await log.close();
  assert.deepEqual(written, ["3"]);
  assert.deepEqual(log.stats(), { queued: 0, dropped: 0, written: 1, failed: 3 });
});

test("a batch the store refuses for now (retryable) is written first at the next flush, before newer entries; at close it is counted failed", async () => {
  let away = true;
  const written: string[] = [];
  const log = new AuditLog<number>({
    write: async (rows) => {
      if (away) throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
      written.push(...rows.map((r) => r.id));
    },
    retryable: (e) => (e as { code?: string }).code === "SQLITE_FULL",
    toRow: row, logger: silentLogger, batchSize: 2, flushIntervalMs: 60_000,
  });
  for (const n of [1, 2, 3]) log.record(n);
  await log.flush();
  await log.flush();
  assert.deepEqual(log.stats(), { queued: 3, dropped: 0, written: 0, failed: 0 }, "kept, and nothing behind it was tried");
  away = false;
  log.record(4);
  await log.flush();
  assert.deepEqual(written, ["1", "2", "3", "4"]);
  away = true;
  log.record(5);
  await log.close();
  assert.deepEqual(log.stats(), { queued: 0, dropped: 0, written: 4, failed: 1 });
});
