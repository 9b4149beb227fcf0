// The shared socket as the widget uses it (client/tabs.js): one hub per site and visitor,
// chosen by what the browser has, and a leader's hand-over that loses no message. The
// widget's tabs share their outbox (localStorage: a fake Storage here), so whichever tab
// is left resends what was not accepted, with its client_msg_id, and the server keeps it
// once. Node's BroadcastChannel carries the tabs' messages; the locks grant in order.
import { describe, expect, it, vi } from "vitest";
import { storedOutbox } from "../../static/parley/client/outbox.js";
import { keyedSocket, tabSocket } from "../../static/parley/client/tabs.js";
import { ParleyClient, fakeStorage } from "./harness.js";

/** The server: sockets that open and say hello, and one store of messages per
 * client_msg_id (a resent message is a duplicate, as chat.services.message_post says). */
function fakeServer() {
  const sockets = [];
  const stored = new Map(); // client_msg_id -> seq
  const srv = { sockets, stored, sends: [], mute: false };
  srv.Socket = class {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.closed = false;
      sockets.push(this);
      setTimeout(() => {
        if (this.closed) return;
        this.readyState = 1;
        this.onopen({});
        this.push({ type: "hello", heartbeat_interval: 30, conversations: [] });
      }, 5);
    }
    send(data) {
      if (this.closed) return;
      const f = JSON.parse(data);
      if (f.type === "hello.request") this.push({ type: "hello", ref: f.id, heartbeat_interval: 30, conversations: [] });
      if (f.type !== "message.send") return;
      srv.sends.push(f.client_msg_id);
      const duplicate = stored.has(f.client_msg_id);
      if (!duplicate) stored.set(f.client_msg_id, stored.size + 1);
      if (srv.mute) return; // stored, but the answer never reaches the tab
      const seq = stored.get(f.client_msg_id);
      this.push({ type: "message.accepted", ref: f.id, conversation: f.conversation, client_msg_id: f.client_msg_id, message_id: seq, seq, created_at: "t", duplicate });
    }
    close() {
      this.closed = true;
      this.readyState = 3;
    }
    push(frame) {
      if (!this.closed) this.onmessage({ data: JSON.stringify(frame) });
    }
  };
  srv.open = () => sockets.filter((s) => !s.closed);
  return srv;
}

/** Web Locks held for good, granted in order per name; release(name) plays the holder's
 * tab going (by default the first lock asked for). */
function fakeLocks() {
  const queues = new Map();
  return {
    request(name, cb) {
      if (!queues.has(name)) queues.set(name, []);
      const queue = queues.get(name);
      queue.push(cb);
      if (queue.length === 1) Promise.resolve().then(() => cb());
      return new Promise(() => {});
    },
    release(name = queues.keys().next().value) {
      const queue = queues.get(name);
      queue.shift();
      if (queue.length) Promise.resolve().then(() => queue[0]());
    },
  };
}

/** Tabs of one host site without SharedWorker: the widget's transport (keyedSocket over
 * tabSocket, one hub per visitor) and the widget's shared outbox. */
function site() {
  const srv = fakeServer();
  const locks = fakeLocks();
  const storage = fakeStorage();
  const channels = [];
  class RecordedChannel extends BroadcastChannel {
    constructor(name) {
      super(name);
      channels.push(this);
    }
  }
  const name = `parley-widget:test-${Math.random()}`;
  function tab(who = "visitor") {
    const Transport = keyedSocket(
      () => who,
      (key) => tabSocket({ name: `${name}:${key}`, locks, BroadcastChannel: RecordedChannel, WebSocket: srv.Socket, onPageHide: () => {} }),
    );
    const client = ParleyClient.createClient({
      url: () => "ws://test/ws/widget/",
      WebSocket: Transport,
      random: () => 0.1,
      backoff: { base: 50, max: 200 },
      outbox: storedOutbox(storage, "parley:site:outbox"),
      hooks: { receiptWanted: () => null },
    });
    return { client, Transport };
  }
  /** The leader's tab goes: its socket and channel die with it, the next tab takes the lock. */
  function leaderGoes() {
    for (const s of srv.open()) s.close();
    channels[0].close();
    channels.shift();
  }
  const closeAll = () => channels.forEach((c) => c.close());
  return { srv, locks, storage, tab, leaderGoes, closeAll };
}

describe("tabSocket", () => {
  class FakeWorker {
    constructor() {
      this.port = { postMessage() {}, onmessage: null };
    }
  }

  it("prefers a SharedWorker, then a leader tab, else a socket per tab", () => {
    const opts = { name: "t", workerUrl: "w.js", onPageHide: () => {} };
    expect(tabSocket({ ...opts, SharedWorker: FakeWorker }).kind).toBe("worker");
    const leader = tabSocket({ ...opts, locks: fakeLocks(), BroadcastChannel });
    expect(leader.kind).toBe("leader");
    expect(typeof leader.Transport).toBe("function");
    expect(tabSocket({ ...opts, locks: null, BroadcastChannel: null })).toEqual({ Transport: null, kind: false });
    expect(tabSocket({ ...opts, own: true, SharedWorker: FakeWorker })).toEqual({ Transport: null, kind: false });
  });
});

describe("keyedSocket", () => {
  it("makes one hub per key and opens each socket through the key's hub of the moment", () => {
    let key = "visitor";
    const made = [];
    class Plain {
      constructor(url) {
        this.url = url;
        this.plain = true;
      }
    }
    const Keyed = keyedSocket(
      () => key,
      (k) => {
        made.push(k);
        if (k === "none") return { Transport: null, kind: false };
        return { Transport: class { constructor(url) { this.url = url; this.hub = k; } }, kind: "leader" };
      },
      { WebSocket: Plain },
    );
    expect(new Keyed("ws://a").hub).toBe("visitor");
    expect(new Keyed("ws://b").hub).toBe("visitor");
    key = "id:42";
    expect(new Keyed("ws://c").hub).toBe("id:42");
    expect(Keyed.kind()).toBe("leader");
    key = "none";
    expect(new Keyed("ws://d").plain).toBe(true);
    expect(made).toEqual(["visitor", "id:42", "none"]);
  });
});

describe("a site's tabs on a leader's socket", () => {
  it("share one server socket; another visitor gets a socket of its own", async () => {
    const s = site();
    const a = s.tab();
    const b = s.tab();
    const c = s.tab();
    for (const t of [a, b, c]) t.client.connect();
    await vi.waitFor(() => expect([a, b, c].map((t) => t.client.ready)).toEqual([true, true, true]));
    expect(s.srv.open()).toHaveLength(1);

    const other = s.tab("id:7");
    other.client.connect();
    await vi.waitFor(() => expect(other.client.ready).toBe(true));
    expect(s.srv.open()).toHaveLength(2);
    s.closeAll();
  });

  it("lose nothing when the leader goes: the unanswered send and the one written meanwhile arrive once each", async () => {
    const s = site();
    const a = s.tab(); // the first to ask for the lock: the leader
    const b = s.tab();
    a.client.connect();
    b.client.connect();
    await vi.waitFor(() => expect([a.client.ready, b.client.ready]).toEqual([true, true]));

    // b writes; the leader's socket takes it to the server, whose answer is lost with the leader.
    s.srv.mute = true;
    const first = b.client.enqueue({ conversation: 1, body: "first" });
    await vi.waitFor(() => expect(s.srv.sends).toEqual([first.client_msg_id]));
    s.leaderGoes();
    s.srv.mute = false;
    // Written while no tab leads: its frame goes nowhere, but it waits in the outbox.
    const second = b.client.enqueue({ conversation: 1, body: "second" });
    expect(b.client.outbox().map((e) => e.body)).toEqual(["first", "second"]);

    s.locks.release(); // b leads, on a new socket, and resends both with their ids
    await vi.waitFor(() => expect(b.client.outbox()).toEqual([]));
    expect(s.srv.open()).toHaveLength(1);
    expect(Array.from(s.srv.stored.keys())).toEqual([first.client_msg_id, second.client_msg_id]);
    expect(s.srv.sends.filter((id) => id === first.client_msg_id).length).toBeGreaterThan(1); // resent, kept once
    s.closeAll();
  });

  it("let a tab that is not the leader finish the leader's own unsent message", async () => {
    const s = site();
    const a = s.tab();
    const b = s.tab();
    a.client.connect();
    b.client.connect();
    await vi.waitFor(() => expect([a.client.ready, b.client.ready]).toEqual([true, true]));
    s.srv.mute = true;
    const mine = a.client.enqueue({ conversation: 1, body: "from the leader" });
    await vi.waitFor(() => expect(s.srv.sends.length).toBeGreaterThan(0));
    s.leaderGoes(); // a's tab closes with its message unanswered, still in the shared outbox
    s.srv.mute = false;
    s.locks.release();
    await vi.waitFor(() => expect(b.client.outbox()).toEqual([]));
    expect(Array.from(s.srv.stored.keys())).toEqual([mine.client_msg_id]);
    s.closeAll();
  });
});
