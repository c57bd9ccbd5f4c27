/**
 * What the control-side attack suites share (private to test/attack): an agent-like NATS connection
 * that records the server's permission violations and what it receives, a raw NATS exchange over
 * the gateway's `/nats` WebSocket, and waiting for kubectl streams to end.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/nats-core";
import type { KubectlStream } from "../helpers/kubectl.ts";
import { rawWebSocket, textFrame, type RawSocket } from "../helpers/raw_ws.ts";

export const enc = new TextEncoder();

/** The server's `-ERR`s a connection reported (nats-core surfaces them as status errors). */
export function serverErrors(nc: NatsConnection): string[] {
  const out: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") out.push(String((s as { error?: Error }).error?.message));
  })().catch(() => {});
  return out;
}

/** Subscribes and records the subject and text of every message received. */
export function record(nc: NatsConnection, subject: string): { subject: string; text: string }[] {
  const got: { subject: string; text: string }[] = [];
  nc.subscribe(subject, { callback: (err, m) => void (!err && got.push({ subject: m.subject, text: new TextDecoder().decode(m.data) })) });
  return got;
}

/** A NATS connection over a raw WebSocket: CONNECT sent, `+OK`s on (verbose), INFO read. */
export async function rawNats(port: number, ca: Buffer, connect: Record<string, unknown>): Promise<RawSocket & { send(line: string): void }> {
  const s = await rawWebSocket({ port, ca, path: "/nats" });
  await s.waitFor(/INFO \{/);
  const send = (line: string) => void s.write(textFrame(line));
  send(`CONNECT ${JSON.stringify({ verbose: true, pedantic: false, protocol: 1, headers: true, ...connect })}\r\nPING\r\n`);
  return Object.assign(s, { send });
}

/** Resolves with how long the streams took to end; rejects when one is still running after `ms`. */
export async function endsWithin(streams: KubectlStream[], ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(streams.map((s) => s.exited)),
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: streams still open after ${ms} ms:\n${streams.map((s) => s.stderr()).join("\n")}`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
  return Date.now() - t0;
}

/** True when the stream is still running `ms` from now. */
export async function stillRunning(s: KubectlStream, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([s.exited.then(() => false), new Promise<boolean>((res) => (timer = setTimeout(() => res(true), ms)))]);
  clearTimeout(timer);
  return r;
}

/** Every `expected` subject shows up in `errors` as nats-server's permission violation text. */
export function assertViolations(errors: string[], kind: "Subscription" | "Publish", subjects: string[]): void {
  for (const subject of subjects) {
    assert.ok(errors.some((e) => e.startsWith(`Permissions Violation for ${kind} to "${subject}"`)), `${kind} to ${subject} was not refused: ${errors.join(" | ")}`);
  }
}
