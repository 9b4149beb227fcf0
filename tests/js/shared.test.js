// One socket for all of a principal's tabs: two real clients (createClient) each with the
// shared transport (shared.js), one hub (hub.js) standing in for the SharedWorker, and a
// fake server socket. Ports deliver synchronously (a structured clone, as postMessage).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHub, tagRef, untagRef } from "../../static/parley/client/hub.js";
import { storedOutbox } from "../../static/parley/client/outbox.js";
import { sharedSocket } from "../../static/parley/client/shared.js";
import { FakeSocket, ParleyClient, conversation, fakeStorage, message, useFakeTime } from "./harness.js";

beforeEach(useFakeTime);
afterEach(() => vi.useRealTimers());

/** The server's end of the one real socket: the harness's, announcing its opening (the
 * hub, unlike the client, waits for `onopen`). */
class ServerSocket extends FakeSocket {
  accept() {
    super.accept();
    this.onopen({});
    return this;
  }
}

function floor() {
  const sockets = [];
  const hub = createHub({
    WebSocket: class {
      constructor(url) {
        return new ServerSocket(url, sockets);
      }
    },
  });
  const hides = [];
  class FakeSharedWorker {
    constructor() {
      const tab = { onmessage: null, postMessage: (m) => hubSide.onmessage({ data: structuredClone(m) }) };
      const hubSide = { onmessage: null, postMessage: (m) => tab.onmessage && tab.onmessage({ data: structuredClone(m) }) };
      hub.attach(hubSide);
      this.port = tab;
    }
  }
  /** A tab; `storage`: an outbox kept there, shared by the tabs given the same one. */
  function tab(storage) {
    const seen = { messages: [], hellos: 0, outbox: [] };
    const Transport = sharedSocket({ workerUrl: "w.js", SharedWorker: FakeSharedWorker, onPageHide: (fn) => hides.push(fn) });
    const client = ParleyClient.createClient({
      url: () => "ws://test/ws/agent/",
      WebSocket: Transport,
      now: () => Date.now(),
      random: () => 0.5,
      outbox: storage ? storedOutbox(storage, "parley:outbox") : undefined,
      hooks: {
        hello: () => (seen.hellos += 1),
        message: (id, m) => seen.messages.push([id, m.seq]),
        receiptWanted: () => null,
        outbox: (id) => seen.outbox.push(id),
        unknownMessage: (m) => seen.messages.push([m.conversation, m.seq]),
      },
    });
    return { client, seen };
  }
  return { hub, sockets, tab, hides, server: () => sockets[sockets.length - 1] };
}

describe("refs", () => {
  it("tag a tab's frame ids and give them back, strings and numbers alike", () => {
    expect(untagRef(tagRef(3, "m:abc|x"))).toEqual([3, "m:abc|x"]);
    expect(untagRef(tagRef(12, 7))).toEqual([12, 7]);
    expect(untagRef("m:abc")).toBeNull();
    expect(untagRef(undefined)).toBeNull();
  });
});

describe("a shared socket", () => {
  it("serves two tabs with one server socket, each with its own hello and replies", () => {
    const f = floor();
    const a = f.tab();
    const b = f.tab();
    a.client.connect();
    b.client.connect();
    expect(f.sockets).toHaveLength(1);
    const server = f.server().accept();
    server.push({ type: "hello", heartbeat_interval: 5, conversations: [conversation(1, { last_seq: 0 })] });
    expect([a.seen.hellos, b.seen.hellos]).toEqual([1, 1]);
    expect([a.client.ready, b.client.ready]).toEqual([true, true]);

    // A third tab joins the open socket: it asks for a hello of its own.
    const c = f.tab();
    c.client.connect();
    expect(f.sockets).toHaveLength(1);
    const ask = server.frames("hello.request");
    expect(ask).toHaveLength(1);
    server.push({ type: "hello", ref: ask[0].id, heartbeat_interval: 5, conversations: [] });
    expect([a.seen.hellos, b.seen.hellos, c.seen.hellos]).toEqual([1, 1, 1]);

    // Tab a sends: the server sees the id tagged; the accepted reply reaches a alone.
    a.client.enqueue({ conversation: 1, body: "hi" });
    const sent = server.frames("message.send");
    expect(sent).toHaveLength(1);
    const [port, original] = untagRef(sent[0].id);
    expect(port).toBe(1);
    expect(original).toMatch(/^m:/);
    server.push({ type: "message.accepted", ref: sent[0].id, conversation: 1, client_msg_id: sent[0].client_msg_id, message_id: 9, seq: 1, created_at: "t", duplicate: false });
    expect(a.client.outbox()).toEqual([]); // accepted: out of a's outbox
    expect(a.seen.outbox.at(-1)).toBe(1);
    expect(b.seen.outbox).toEqual([]); // b never heard of it

    // A push reaches every tab.
    server.push({ type: "message.new", message: message(1, 1) });
    expect(a.seen.messages).toEqual([[1, 1]]);
    expect(b.seen.messages).toEqual([[1, 1]]);
    expect(c.seen.messages).toEqual([[1, 1]]);
  });

  it("tags conversation.start's first message too: its answer reaches the tab that sent it", () => {
    const f = floor();
    const a = f.tab();
    const b = f.tab();
    a.client.connect();
    b.client.connect();
    const server = f.server().accept();
    server.push({ type: "hello", heartbeat_interval: 5, conversations: [] });
    a.client.enqueue({ conversation: null, body: "first" });
    a.client.start({ type: "conversation.start", id: "s1" });
    const [start] = server.frames("conversation.start");
    expect(untagRef(start.id)).toEqual([1, "s1"]);
    const [port, original] = untagRef(start.message.id);
    expect(port).toBe(1);
    expect(original).toBe(`m:${start.message.client_msg_id}`);
    server.push({ type: "message.accepted", ref: start.message.id, conversation: 1, client_msg_id: start.message.client_msg_id, message_id: 9, seq: 1, created_at: "t", duplicate: false });
    expect(a.client.outbox()).toEqual([]);
    expect(b.seen.outbox).toEqual([]); // b never heard of it
  });

  it("tells every tab when the socket drops, and their reconnects open one new socket", () => {
    const f = floor();
    const a = f.tab();
    const b = f.tab();
    a.client.connect();
    b.client.connect();
    f.server().accept().push({ type: "hello", heartbeat_interval: 5, conversations: [] });
    f.server().drop(1006);
    expect([a.client.connected, b.client.connected]).toEqual([false, false]);
    vi.advanceTimersByTime(1000); // both back-offs (random 0.5: 375 ms)
    expect(f.sockets).toHaveLength(2);
    f.server().accept().push({ type: "hello", heartbeat_interval: 5, conversations: [] });
    expect([a.seen.hellos, b.seen.hellos]).toEqual([2, 2]);
  });

  it("closes the server socket when the last tab goes, and passes auth closes on", () => {
    const f = floor();
    const a = f.tab();
    const b = f.tab();
    a.client.connect();
    b.client.connect();
    const first = f.server().accept();
    first.push({ type: "hello", heartbeat_interval: 5, conversations: [] });
    f.hides[0]();
    expect(first.closedByClient).toBe(false);
    f.hides[1]();
    expect(first.closedByClient).toBe(true);

    const c = f.tab();
    c.client.connect();
    const second = f.server().accept();
    second.push({ type: "error", code: "unauthenticated", message: "Log in." });
    second.drop(4401);
    expect(c.client.stopped).toBe(true);
  });
});

describe("a message in the tabs' shared outbox", () => {
  function twoTabs() {
    const f = floor();
    const storage = fakeStorage();
    const a = f.tab(storage);
    const b = f.tab(storage);
    a.client.connect();
    b.client.connect();
    const server = f.server().accept();
    server.push({ type: "hello", heartbeat_interval: 5, conversations: [conversation(1, { last_seq: 0 })] });
    return { f, a, b, server };
  }
  const accepted = (sent, seq) => ({
    type: "message.accepted", ref: sent.id, conversation: 1, client_msg_id: sent.client_msg_id,
    message_id: seq, seq, created_at: "t", duplicate: false,
  });

  it("goes to the server once however many tabs send it, and its answer reaches each", () => {
    const { a, b, server } = twoTabs();
    const entry = a.client.enqueue({ conversation: 1, body: "hi" });
    b.client.flush(); // b finds it in the outbox too (as after its own hello)
    const sent = server.frames("message.send");
    expect(sent).toHaveLength(1);
    expect(untagRef(sent[0].id)[0]).toBe(1);
    expect(sent[0].client_msg_id).toBe(entry.client_msg_id);

    server.push(accepted(sent[0], 1));
    expect(a.client.outbox()).toEqual([]);
    expect(a.seen.outbox.at(-1)).toBe(1);
    expect(b.seen.outbox.at(-1)).toBe(1); // b heard the answer to its copy
    b.client.flush();
    expect(server.frames("message.send")).toHaveLength(1); // nothing left to send
  });

  it("goes again from a tab still waiting when the tab whose copy went leaves", () => {
    const { f, a, b, server } = twoTabs();
    const entry = a.client.enqueue({ conversation: 1, body: "hi" });
    b.client.flush();
    expect(server.frames("message.send")).toHaveLength(1);
    f.hides[0](); // a's tab goes before the answer: it withdraws its copy
    const sent = server.frames("message.send");
    expect(sent).toHaveLength(2);
    expect(untagRef(sent[1].id)[0]).toBe(2); // b's copy, same message
    expect(sent[1].client_msg_id).toBe(entry.client_msg_id);

    server.push(accepted(sent[1], 1));
    expect(b.client.outbox()).toEqual([]);
    expect(b.seen.outbox.at(-1)).toBe(1);
  });

  it("is sent afresh after the socket drops, the first copy from any tab", () => {
    const { f, a, b, server } = twoTabs();
    a.client.enqueue({ conversation: 1, body: "hi" });
    b.client.flush();
    server.drop(1006);
    vi.advanceTimersByTime(1000);
    const next = f.server().accept();
    next.push({ type: "hello", heartbeat_interval: 5, conversations: [conversation(1, { last_seq: 0 })] });
    expect(next.frames("message.send")).toHaveLength(1); // both tabs flushed it: one went
    expect([a.seen.hellos, b.seen.hellos]).toEqual([2, 2]);
  });
});

describe("a SharedWorker whose script never loads", () => {
  it("leaves its tab on a socket of its own instead of waiting for a hub forever", () => {
    const sockets = [];
    let worker = null;
    class DeadWorker {
      constructor() {
        worker = this;
        this.onerror = null;
        this.port = { onmessage: null, postMessage: () => {} }; // nobody on the other end
      }
    }
    class Plain {
      constructor(url) {
        return new FakeSocket(url, sockets);
      }
    }
    const Transport = sharedSocket({ workerUrl: "w.js", SharedWorker: DeadWorker, WebSocket: Plain, onPageHide: () => {} });
    let hellos = 0;
    const client = ParleyClient.createClient({
      url: () => "ws://test/ws/widget/",
      WebSocket: Transport,
      now: () => Date.now(),
      random: () => 0.5,
      hooks: { hello: () => (hellos += 1), message: () => {}, receiptWanted: () => null },
    });
    client.connect();
    expect(sockets).toHaveLength(0); // waiting on the hub
    worker.onerror({});
    for (let t = 0; t < 300 && !sockets.length; t++) vi.advanceTimersByTime(100); // its back-off
    expect(sockets).toHaveLength(1); // then a socket of its own
    sockets[0].accept().push({ type: "hello", heartbeat_interval: 5, conversations: [] });
    expect(hellos).toBe(1);
  });
});
