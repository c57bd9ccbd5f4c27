import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import fc from "fast-check";
import { eventually } from "../../test/helpers/eventually.ts";
import { MemoryBus } from "../../test/helpers/memory_bus.ts";
import { closed, echoHandler, errorOf, patternBytes, readAll, startPair } from "../../test/helpers/tunnel.ts";
import { ClusterOfflineError, ResetCode, StreamLimitError, StreamResetError } from "./errors.ts";
import type { TunnelStream } from "./stream.ts";
import { decodeMessage } from "./frame_decode.ts";
import { DEFAULT_IDLE_TIMEOUT_MS, resolveOptions } from "./options.ts";

const fast = { pingIntervalMs: 40, pingTimeoutMs: 120 };

/** Every message the hub carries on subjects under `prefix`, as its frame types ("open+data+end"), labelled by `label`. */
function framesOn(hub: MemoryBus, prefix: string, label: (subject: string) => string = () => ""): string[] {
  const seen: string[] = [];
  hub.dropIf = (subject, data) => {
    if (subject.startsWith(prefix)) seen.push(label(subject) + decodeMessage(data).map((f) => f.type).join("+"));
    return false;
  };
  return seen;
}

async function pair(handler = echoHandler, opts: Parameters<typeof startPair>[3] = {}) {
  const hub = new MemoryBus(opts.gateway?.maxMessageBytes ? { maxPayload: 64 * 1024 } : {});
  const gwBus = hub.connect();
  const agentBus = hub.connect();
  const p = await startPair(gwBus, agentBus, handler, {
    ...opts,
    gateway: { ...fast, ...opts.gateway },
    agent: { ...fast, heartbeatMs: 500, ...opts.agent },
  });
  return { hub, gwBus, agentBus, ...p };
}

test("a request body goes up and the response head and body come back", async () => {
  const p = await pair((s) => {
    s.respond({ status: 201, headers: ["Content-Type", "text/plain", "X-Path", s.request.path, "X-Kind", s.request.kind] });
    readAll(s).then((b) => s.end(Buffer.from(`${s.request.method} ${b.toString()}`)));
  });
  const s = p.gateway.openStream("c1", { method: "POST", path: "/api/v1/pods?x=1", headers: ["Host", "k"], kind: "watch" });
  s.end("hello");
  const head = await s.head;
  assert.deepEqual(head, { status: 201, headers: ["Content-Type", "text/plain", "X-Path", "/api/v1/pods?x=1", "X-Kind", "watch"] });
  assert.equal((await readAll(s)).toString(), "POST hello");
  await closed(s);
  await eventually("streams released", () => p.gateway.stats().streams === 0 && p.agent.stats().streams === 0, { timeoutMs: 1000 });
  await p.close();
});

test("an offline cluster fails at once; presence follows the agent up and down", async () => {
  const hub = new MemoryBus();
  const { TunnelGateway } = await import("./gateway.ts");
  const { TunnelAgent } = await import("./agent.ts");
  const gw = await TunnelGateway.start(hub.connect(), fast);
  assert.throws(() => gw.openStream("c1", { method: "GET", path: "/" }), ClusterOfflineError);
  assert.throws(() => gw.openStream("bad.id", { method: "GET", path: "/" }), /Invalid cluster id/);
  assert.throws(() => gw.openStream("c1", { method: "GET", path: "/", kind: "nope" as "watch" }), /Unknown stream kind/);
  const events: string[] = [];
  gw.on("online", (c) => events.push(`online ${c}`));
  gw.on("offline", (c) => events.push(`offline ${c}`));
  // Clean shutdown: the gateway knows at once.
  const a1 = new TunnelAgent(hub.connect(), { cluster: "c1", heartbeatMs: 30 });
  await a1.serve(echoHandler);
  await eventually("online", () => gw.isOnline("c1"), { timeoutMs: 1000 });
  await a1.close();
  await eventually("offline after goodbye", () => !gw.isOnline("c1"), { timeoutMs: 50 });
  // A dead agent: the gateway knows within a few heartbeats.
  const bus2 = hub.connect();
  const a2 = new TunnelAgent(bus2, { cluster: "c1", heartbeatMs: 30 });
  await a2.serve(echoHandler);
  await eventually("online again", () => gw.isOnline("c1"), { timeoutMs: 1000 });
  const t0 = Date.now();
  bus2.kill();
  await eventually("offline after death", () => !gw.isOnline("c1"), { timeoutMs: 1000 });
  assert.ok(Date.now() - t0 < 1000, `offline after ${Date.now() - t0} ms`);
  assert.deepEqual(events, ["online c1", "offline c1", "online c1", "offline c1"]);
  // A probe gets an answer without waiting for the next heartbeat.
  const a3 = new TunnelAgent(hub.connect(), { cluster: "c2", heartbeatMs: 60_000 });
  await a3.serve(echoHandler);
  assert.equal(await gw.whenOnline("c2", 500), true);
  assert.equal(await gw.whenOnline("c3", 30), false);
  await a3.close();
  await gw.close();
});

test("a sequence gap resets the stream on both ends with a clear reason", async () => {
  let agentStream: TunnelStream | null = null;
  const p = await pair((s) => {
    agentStream = s;
    s.respond({ status: 200, headers: [] });
    s.on("data", () => {});
    s.on("error", () => {});
  });
  const s = p.gateway.openStream("c1", { method: "POST", path: "/" });
  await s.head;
  // Drop the next gateway→agent message that carries data.
  let dropped = false;
  p.hub.dropIf = (subject, data) => {
    if (dropped || !subject.startsWith("ward.agent.c1.s.")) return false;
    if (!decodeMessage(data).some((f) => f.type === "data")) return false;
    dropped = true;
    return true;
  };
  const agentErr = new Promise<Error>((r) => eventually("agent stream", () => agentStream !== null, { timeoutMs: 1000 }).then(() => agentStream!.once("error", r)));
  const gwErr = errorOf(s);
  s.write("one");
  await new Promise((r) => setTimeout(r, 10));
  s.write("two");
  const ae = await agentErr;
  assert.ok(ae instanceof StreamResetError && ae.code === ResetCode.protocol && !ae.remote);
  assert.match(ae.message, /Sequence gap on stream \d+: expected frame 1, got 2/);
  const ge = await gwErr;
  assert.ok(ge instanceof StreamResetError && ge.remote);
  assert.match(ge.message, /Sequence gap/);
  await p.close();
});

test("window exhaustion pauses the sender and returned credit resumes it", async () => {
  const window = 64 * 1024;
  let agentStream: TunnelStream | null = null;
  const total = 10 * window;
  const p = await pair(
    (s) => {
      agentStream = s;
      s.resume();
      s.respond({ status: 200, headers: [] });
      s.end(patternBytes(1, 0, total));
    },
    { gateway: { windowBytes: window }, agent: { windowBytes: window } },
  );
  const s = p.gateway.openStream("c1", { method: "GET", path: "/" });
  s.end();
  await s.head;
  await new Promise((r) => setTimeout(r, 50));
  const a = agentStream! as TunnelStream;
  // Nobody reads on the gateway: exactly one window crossed, the rest waits at the sender.
  assert.equal(a.flowStats().inFlight, window);
  assert.equal(a.flowStats().sent, window);
  assert.equal(s.flowStats().buffered, window);
  assert.equal(a.writableFinished, false);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(a.flowStats().sent, window, "still paused");
  const body = await readAll(s);
  assert.ok(body.equals(patternBytes(1, 0, total)));
  assert.equal(a.flowStats().sent, total);
  await p.close();
});

test("a dead agent's streams are all reset within the ping timeout", async () => {
  const p = await pair((s) => {
    s.on("error", () => {});
    s.respond({ status: 200, headers: [] });
  }, { agent: { heartbeatMs: 10_000 } });
  const streams = [1, 2, 3].map(() => p.gateway.openStream("c1", { method: "GET", path: "/", kind: "watch" }));
  await Promise.all(streams.map((s) => s.head));
  const errs = streams.map(errorOf);
  const t0 = Date.now();
  p.agentBus.kill();
  for (const e of await Promise.all(errs)) {
    assert.ok(e instanceof StreamResetError && e.code === ResetCode.peerGone, String(e));
    assert.match(e.message, /No answer from agent \w+ of cluster c1 for [\d.]+s \(ping timeout 0.12s\)/);
  }
  // Within the ping timeout, plus slack for timers running late on a busy machine.
  assert.ok(Date.now() - t0 <= 120 + 250, `took ${Date.now() - t0} ms`);
  await p.gateway.close();
});

test("a dead gateway's streams are reset on the agent and abort its upstream requests", async () => {
  const aborted: string[] = [];
  const p = await pair((s) => {
    s.on("error", () => {});
    s.signal.addEventListener("abort", () => aborted.push(String(s.signal.reason.message)));
    s.respond({ status: 200, headers: [] });
  });
  const streams = [1, 2].map(() => p.gateway.openStream("c1", { method: "GET", path: "/", kind: "exec" }));
  await Promise.all(streams.map((s) => s.head));
  for (const s of streams) s.on("error", () => {});
  p.gwBus.kill();
  await eventually("both upstream requests aborted", () => aborted.length === 2, { timeoutMs: 400 });
  assert.match(aborted[0]!, /No answer from gateway/);
  await p.agent.close();
});

test("cancellation travels both ways", async () => {
  const agentStreams: TunnelStream[] = [];
  const p = await pair((s) => {
    agentStreams.push(s);
    s.on("error", () => {});
    if (s.request.path === "/answer") s.respond({ status: 200, headers: [] });
  });
  // Gateway consumer aborts (kubectl Ctrl-C) → the agent's upstream request is aborted.
  const s1 = p.gateway.openStream("c1", { method: "GET", path: "/answer", kind: "watch" });
  await s1.head;
  await eventually("agent stream", () => agentStreams.length === 1, { timeoutMs: 1000 });
  const aborted = once(agentStreams[0]!.signal, "abort");
  s1.destroy();
  await aborted;
  const reason = agentStreams[0]!.signal.reason as StreamResetError;
  assert.ok(reason instanceof StreamResetError && reason.code === ResetCode.cancel && reason.remote);
  // Cancelled before any answer: the head rejects, the agent learns once it accepted.
  const s0 = p.gateway.openStream("c1", { method: "GET", path: "/never" });
  s0.on("error", () => {});
  s0.destroy(); // before the open even left: nothing reaches the agent
  const s2 = p.gateway.openStream("c1", { method: "GET", path: "/slow" });
  s2.on("error", () => {});
  await new Promise((r) => setImmediate(r)); // the open is out, the accept not yet back
  s2.destroy();
  await assert.rejects(s2.head, /cancelled by the gateway/);
  await eventually("agent side of the cancelled open reset", () => agentStreams.length === 2 && agentStreams[1]!.destroyed, { timeoutMs: 1000 });
  assert.equal(agentStreams[1]!.request.path, "/slow");
  // The agent aborts (upstream failed) → the gateway's response fails.
  const s3 = p.gateway.openStream("c1", { method: "GET", path: "/answer" });
  await s3.head;
  const e3 = errorOf(s3);
  agentStreams[2]!.destroy(new Error("upstream connection refused"));
  const err = await e3;
  assert.ok(err instanceof StreamResetError && err.code === ResetCode.internal && err.remote);
  assert.match(err.message, /upstream connection refused/);
  // A handler that throws resets the stream before any head.
  await eventually("all released", () => p.gateway.stats().streams === 0 && p.agent.stats().streams === 0, { timeoutMs: 1000 });
  await p.close();
});

test("half-close both ways, and an upgraded stream carries raw bytes both ways", async () => {
  const p = await pair((s) => {
    if (s.request.path === "/exec") {
      s.respond({ status: 101, headers: ["Upgrade", "websocket", "Connection", "Upgrade"] });
      s.on("data", (d: Buffer) => s.write(Buffer.from(d.toString().toUpperCase())));
      s.on("end", () => s.end("bye"));
      return;
    }
    // Respond and finish the response before reading the request body at all.
    s.respond({ status: 200, headers: [] });
    s.end("early");
    readAll(s).then((b) => assert.equal(b.toString(), "late body"));
  });
  const s = p.gateway.openStream("c1", { method: "POST", path: "/" });
  assert.equal((await s.head).status, 200);
  assert.equal((await readAll(s)).toString(), "early");
  s.end("late body");
  await closed(s);

  const u = p.gateway.openStream("c1", { method: "GET", path: "/exec", kind: "exec" });
  assert.equal((await u.head).status, 101);
  const got: string[] = [];
  u.on("data", (d: Buffer) => got.push(d.toString()));
  u.write("ls");
  await eventually("echo", () => got.join("") === "LS", { timeoutMs: 1000 });
  u.end();
  await once(u, "end");
  assert.equal(got.join(""), "LSbye");
  await p.close();
});

test("stream limits per member, per connection, and on the agent give clear errors", async () => {
  const p = await pair((s) => {
    s.on("error", () => {});
    s.respond({ status: 200, headers: [] });
  }, { gateway: { maxStreamsPerMember: 2, maxStreamsPerCluster: 4 }, agent: { maxStreamsPerGateway: 3 } });
  const a = p.gateway.openStream("c1", { method: "GET", path: "/", member: "alice" });
  a.on("error", () => {});
  p.gateway.openStream("c1", { method: "GET", path: "/", member: "alice" }).on("error", () => {});
  assert.throws(() => p.gateway.openStream("c1", { method: "GET", path: "/", member: "alice" }), (e: unknown) => e instanceof StreamLimitError && e.scope === "member" && /You have 2 open streams, the most allowed per member \(2\)/.test(e.message));
  p.gateway.openStream("c1", { method: "GET", path: "/", member: "bob" }).on("error", () => {});
  await eventually("3 accepted", () => p.agent.stats().streams === 3, { timeoutMs: 1000 });
  // The agent refuses a fourth from this gateway.
  const d = p.gateway.openStream("c1", { method: "GET", path: "/", member: "bob" });
  d.on("error", () => {});
  await assert.rejects(d.head, (e: unknown) => e instanceof StreamResetError && e.code === ResetCode.limit && /has 3 open streams from this gateway \(limit 3\)/.test(e.message));
  p.gateway.openStream("c1", { method: "GET", path: "/" }).on("error", () => {});
  assert.throws(() => p.gateway.openStream("c1", { method: "GET", path: "/" }), (e: unknown) => e instanceof StreamLimitError && e.scope === "connection" && /Too many open streams to cluster c1 \(limit 4\)/.test(e.message));
  // Closing a stream frees its slot.
  a.destroy();
  await eventually("released", () => p.gateway.stats().streams === 3, { timeoutMs: 1000 });
  p.gateway.openStream("c1", { method: "GET", path: "/", member: "alice" }).on("error", () => {});
  await p.close();
});

test("idle timeouts are per stream kind", async () => {
  const p = await pair((s) => {
    s.on("error", () => {});
    s.respond({ status: 200, headers: [] });
  }, { gateway: { idleTimeoutMs: { request: 60, watch: 10_000 } } });
  const r = p.gateway.openStream("c1", { method: "GET", path: "/" });
  const w = p.gateway.openStream("c1", { method: "GET", path: "/", kind: "watch" });
  w.on("error", () => {});
  const e = await errorOf(r);
  assert.ok(e instanceof StreamResetError && e.code === ResetCode.idle);
  assert.match(e.message, /\(request\) was idle for more than 0.06s; raise the request idle timeout/);
  assert.equal(w.destroyed, false);
  await p.close();
});

test("an idle timeout ends only a silent stream: bytes moving keep one open, and 0 turns a kind's timeout off", async () => {
  const idle = { idleTimeoutMs: { request: 150, watch: 0 } };
  const p = await pair(echoHandler, { gateway: idle, agent: idle });
  const active = p.gateway.openStream("c1", { method: "POST", path: "/" });
  const silent = p.gateway.openStream("c1", { method: "POST", path: "/" });
  const unlimited = p.gateway.openStream("c1", { method: "GET", path: "/", kind: "watch" });
  unlimited.on("error", () => {});
  active.on("error", () => {});
  let echoed = 0;
  active.on("data", (c: Buffer) => (echoed += c.length));
  const silentError = errorOf(silent);
  // Three idle timeouts long, with a byte every 50 ms: the active stream never sits silent for 150 ms.
  const t0 = Date.now();
  while (Date.now() - t0 < 450) {
    active.write("x");
    await new Promise((r) => setTimeout(r, 50));
  }
  const e = await silentError;
  assert.ok(e instanceof StreamResetError && e.code === ResetCode.idle, String(e));
  assert.equal(active.destroyed, false, "bytes moving keep a stream open");
  assert.ok(echoed > 0);
  assert.equal(unlimited.destroyed, false, "a kind whose timeout is 0 never idles out");
  active.end();
  await p.close();
});

test("activity counted by the caller: frames alone no longer keep a stream open, touch() does", async () => {
  const idle = { idleTimeoutMs: { exec: 150 } };
  const p = await pair(echoHandler, { gateway: idle });
  const open = () => {
    const s = p.gateway.openStream("c1", { method: "GET", path: "/", kind: "exec" });
    s.on("error", () => {});
    s.resume();
    s.countActivityByCaller();
    return s;
  };
  const keepalivesOnly = open();
  const touched = open();
  const idleError = errorOf(keepalivesOnly);
  const t0 = Date.now();
  while (Date.now() - t0 < 450) {
    keepalivesOnly.write("ping"); // bytes move, but the caller does not count them
    touched.write("data");
    touched.touch();
    await new Promise((r) => setTimeout(r, 50));
  }
  const e = await idleError;
  assert.ok(e instanceof StreamResetError && e.code === ResetCode.idle, String(e));
  assert.equal(touched.destroyed, false);
  touched.end();
  await p.close();
});

test("idle timeouts are validated: a negative one is refused, 0 means off", () => {
  assert.throws(() => resolveOptions({ idleTimeoutMs: { exec: -1 } }), /idleTimeoutMs.exec must be a number ≥ 1/);
  assert.equal(resolveOptions({ idleTimeoutMs: { exec: 0 } }).idleTimeoutMs.exec, Infinity);
  assert.deepEqual(resolveOptions().idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS);
});

test("property: 100 concurrent streams with random chunk sizes deliver every byte in order", async () => {
  const p = await pair(echoHandler, { gateway: { windowBytes: 64 * 1024, maxMessageBytes: 8 * 1024 }, agent: { windowBytes: 96 * 1024, maxMessageBytes: 4 * 1024 } });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 0, maxLength: 12 }), { minLength: 100, maxLength: 100 }),
      async (plans) => {
        await Promise.all(plans.map(async (chunks, i) => {
          const s = p.gateway.openStream("c1", { method: "PUT", path: `/s/${i}` });
          let off = 0;
          const write = async () => {
            for (const n of chunks) {
              if (!s.write(patternBytes(i, off, n))) await once(s, "drain");
              off += n;
              if (n % 3 === 0) await new Promise((r) => setImmediate(r));
            }
            s.end();
          };
          const [, body] = await Promise.all([write(), readAll(s)]);
          assert.ok(body.equals(patternBytes(i, 0, off)), `stream ${i}: ${body.length} of ${off} bytes`);
        }));
      },
    ),
    { numRuns: 8 },
  );
  await p.close();
});

test("a small request travels in one message: open, body and end together", async () => {
  const p = await pair((s) => {
    s.respond({ status: 200, headers: [] });
    readAll(s).then((b) => s.end(b));
  });
  const toAgent = framesOn(p.hub, "ward.agent.c1.", (subject) => `${subject.split(".")[3]}:`);
  const s = p.gateway.openStream("c1", { method: "POST", path: "/" });
  s.end("x".repeat(1000));
  assert.equal((await readAll(s)).length, 1000);
  assert.deepEqual(toAgent, ["open:open+data+end"]);
  await p.close();
});

test("a complete request's accept rides with the response head: one message each way", async () => {
  const p = await pair((s) => {
    s.resume();
    // The answer comes after the open message was handled, as an API server's would.
    setTimeout(() => {
      s.respond({ status: 200, headers: [] });
      s.end("ok");
    }, 2);
  });
  const toGateway = framesOn(p.hub, "ward.gw.c1.s.");
  const s = p.gateway.openStream("c1", { method: "GET", path: "/" });
  s.end();
  assert.equal((await readAll(s)).toString(), "ok");
  assert.deepEqual(toGateway, ["window+head+data+end"]);
  await p.close();
});

test("a deferred accept still goes out on its own when the answer is slow, so a cancel reaches the agent", async () => {
  let upstream: TunnelStream | undefined;
  const p = await pair((s) => {
    upstream = s; // never answers
    s.on("error", () => {});
  });
  const s = p.gateway.openStream("c1", { method: "GET", path: "/slow" });
  s.end();
  s.on("error", () => {});
  await eventually("the agent's accept", () => p.gateway.stats().pending === 0, { timeoutMs: 2000 });
  s.destroy(); // the client leaves: the reset needs the accepted session
  await eventually("the agent's stream reset", () => upstream?.destroyed === true, { timeoutMs: 2000 });
  assert.equal(p.agent.stats().streams, 0);
  await p.close();
});

test("a held response head leaves with the first body bytes: one message for head, body and end", async () => {
  const p = await pair((s) => {
    s.resume();
    s.respond({ status: 200, headers: ["x-a", "1"] }, { hold: true });
    // The body arrives in a later read than the head, as over HTTP/2.
    setTimeout(() => s.end("body"), 3);
  });
  const toGateway = framesOn(p.hub, "ward.gw.c1.s.");
  const s = p.gateway.openStream("c1", { method: "GET", path: "/" });
  s.end();
  assert.deepEqual((await s.head).headers, ["x-a", "1"]);
  assert.equal((await readAll(s)).toString(), "body");
  assert.deepEqual(toGateway, ["window+head+data+end"]);
  await p.close();
});

test("a held head still goes out on its own when no body follows", async () => {
  let upstream: TunnelStream | undefined;
  const p = await pair((s) => {
    upstream = s;
    s.on("error", () => {});
    s.resume();
    s.respond({ status: 200, headers: [] }, { hold: true }); // and nothing else, for now
  });
  const s = p.gateway.openStream("c1", { method: "GET", path: "/" });
  s.end();
  s.on("error", () => {});
  assert.equal((await s.head).status, 200);
  assert.equal(s.bodyPending, false);
  upstream!.end("late");
  assert.equal((await readAll(s)).toString(), "late");
  await p.close();
});

test("takeCompleteBody: the whole body at once when it all arrived, and the stream still ends cleanly", async () => {
  const p = await pair((s) => {
    s.resume();
    s.respond({ status: 200, headers: [] }, { hold: true });
    s.write("a".repeat(10));
    s.end("b".repeat(20));
  });
  const s = p.gateway.openStream("c1", { method: "GET", path: "/" });
  s.end();
  await s.head;
  const body = s.takeCompleteBody();
  assert.ok(body !== null);
  assert.equal(Buffer.concat(body).toString(), "a".repeat(10) + "b".repeat(20));
  await once(s, "end");
  await closed(s);
  assert.equal(s.errored, null);
  assert.equal(s.takeCompleteBody(), null, "taken once");
  await eventually("both ends released", () => p.gateway.stats().streams === 0 && p.agent.stats().streams === 0, { timeoutMs: 2000 });
  await p.close();
});

test("takeCompleteBody returns null while the body is still coming, and the stream reads as before", async () => {
  let upstream: TunnelStream | undefined;
  const p = await pair((s) => {
    upstream = s;
    s.resume();
    s.respond({ status: 200, headers: [] });
    s.write("first");
  });
  const s = p.gateway.openStream("c1", { method: "GET", path: "/" });
  s.end();
  await s.head;
  await eventually("the first bytes", () => s.bodyPending, { timeoutMs: 2000 });
  assert.equal(s.takeCompleteBody(), null);
  upstream!.end("+rest");
  assert.equal((await readAll(s)).toString(), "first+rest");
  await p.close();
});

test("body: false publishes the open with its end before openStream returns", async () => {
  const p = await pair((s) => {
    readAll(s).then((b) => {
      s.respond({ status: 200, headers: [] });
      s.end(`got ${b.length}`);
    });
  });
  const toAgent = framesOn(p.hub, "ward.agent.c1.");
  const s = p.gateway.openStream("c1", { method: "GET", path: "/", body: false });
  assert.deepEqual(toAgent, ["open+end"], "sent synchronously");
  assert.equal(s.writableEnded, true);
  assert.equal((await readAll(s)).toString(), "got 0");
  await closed(s);
  assert.equal(s.errored, null);
  await p.close();
});
