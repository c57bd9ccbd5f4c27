import assert from "node:assert/strict";
import { test } from "node:test";
import { ResetCode, StreamResetError } from "../tunnel/index.ts";
import { execErrorFrames, hasStatusErrorChannel, isExplainable, isJsonWatch, streamEndedMessage, WatchBoundary, watchErrorEvent } from "./stream_end.ts";
import { WebSocketActivity } from "./ws_activity.ts";

const reset = new StreamResetError(ResetCode.peerGone, "Agent a1 of cluster c went offline", { remote: false });

test("a cut JSON watch ends with an ERROR event carrying a 503 Status that names the cluster and the cause", () => {
  const msg = streamEndedMessage("c", reset);
  assert.equal(msg, "Ward ended this stream to cluster c: Agent a1 of cluster c went offline");
  const line = Buffer.from(watchErrorEvent(msg)).toString();
  assert.ok(line.endsWith("}\n"));
  assert.deepEqual(JSON.parse(line), { type: "ERROR", object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: msg, reason: "ServiceUnavailable", code: 503 } });
  assert.ok(isExplainable(reset));
  assert.ok(!isExplainable(new Error("Premature close")));
  assert.ok(isJsonWatch("application/json;as=Table;v=v1;g=meta.k8s.io"));
  assert.ok(!isJsonWatch("application/vnd.kubernetes.protobuf;stream=watch"));
  assert.ok(!isJsonWatch("text/plain") && !isJsonWatch(undefined));
  const b = new WatchBoundary();
  assert.ok(b.atBoundary, "nothing relayed yet");
  b.push(Buffer.from('{"type":"ADDED"'));
  assert.ok(!b.atBoundary);
  b.push(Buffer.from(',"object":{}}\n'));
  assert.ok(b.atBoundary);
});

test("a cut exec over v4/v5.channel.k8s.io gets its Status on channel 3, then a normal close; only between whole messages", () => {
  assert.ok(hasStatusErrorChannel("v5.channel.k8s.io") && hasStatusErrorChannel("v4.channel.k8s.io"));
  assert.ok(!hasStatusErrorChannel("channel.k8s.io") && !hasStatusErrorChannel("SPDY/3.1+portforward.k8s.io") && !hasStatusErrorChannel(undefined));
  const bytes = Buffer.from(execErrorFrames("gone"));
  const body = JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "gone", reason: "ServiceUnavailable", code: 503 });
  assert.equal(bytes[0], 0x82);
  assert.equal(bytes[1], 126, "16-bit length");
  assert.equal(bytes.readUInt16BE(2), body.length + 1);
  assert.equal(bytes[4], 3, "the error channel");
  assert.equal(bytes.subarray(5, 5 + body.length).toString(), body);
  assert.deepEqual([...bytes.subarray(5 + body.length)], [0x88, 2, 0x03, 0xe8]);
  // The scanner of the server's frames knows where a message ends: a frame header or payload split
  // across chunks, or a fragmented message, is not a boundary.
  const a = new WebSocketActivity();
  assert.ok(a.atMessageBoundary);
  a.push(Uint8Array.of(0x82, 3, 1));
  assert.ok(!a.atMessageBoundary, "inside a payload");
  a.push(Uint8Array.of(0x61, 0x62));
  assert.ok(a.atMessageBoundary);
  a.push(Uint8Array.of(0x02, 1, 1, 0x89));
  assert.ok(!a.atMessageBoundary, "a fragment without FIN, then half a ping header");
  a.push(Uint8Array.of(0));
  assert.ok(!a.atMessageBoundary, "a ping in the middle of a fragmented message");
  a.push(Uint8Array.of(0x80, 1, 0x63));
  assert.ok(a.atMessageBoundary, "the final continuation");
});
