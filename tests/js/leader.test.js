// The shared socket without SharedWorker: tabs elect a leader with a Web Lock and reach its
// hub over a BroadcastChannel (leader.js). Node's own BroadcastChannel carries the messages
// (asynchronously, as in a browser); the locks are a small fake that grants in order.
import { describe, expect, it, vi } from "vitest";
import { leaderSocket } from "../../static/parley/client/leader.js";
import { ParleyClient } from "./harness.js";

class ServerSocket {
  constructor(url, registry) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closed = false;
    registry.push(this);
    setTimeout(() => {
      if (this.closed) return;
      this.readyState = 1;
      this.onopen({});
      this.push({ type: "hello", heartbeat_interval: 30, conversations: [] });
    }, 5);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
    const f = JSON.parse(data);
    if (f.type === "hello.request") this.push({ type: "hello", ref: f.id, heartbeat_interval: 30, conversations: [] });
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  push(frame) {
    this.onmessage({ data: JSON.stringify(frame) });
  }
}

function fakeLocks() {
  const queue = [];
  return {
    request(name, cb) {
      queue.push(cb);
      if (queue.length === 1) Promise.resolve().then(() => cb());
      return new Promise(() => {});
    },
    /** The leader's tab went: the next in line gets the lock. */
    release() {
      queue.shift();
      if (queue.length) Promise.resolve().then(() => queue[0]());
    },
  };
}

function floor() {
  const sockets = [];
  const channels = [];
  const locks = fakeLocks();
  class RecordedChannel extends BroadcastChannel {
    constructor(name) {
      super(name);
      channels.push(this);
    }
  }
  const name = `parley-test-${Math.random()}`;
  function tab() {
    const seen = { hellos: 0 };
    const Transport = leaderSocket({
      name,
      locks,
      BroadcastChannel: RecordedChannel,
      WebSocket: class {
        constructor(url) {
          return new ServerSocket(url, sockets);
        }
      },
      onPageHide: () => {},
    });
    const client = ParleyClient.createClient({
      url: () => "ws://test/ws/agent/",
      WebSocket: Transport,
      random: () => 0.1,
      backoff: { base: 50, max: 200 },
      hooks: { hello: () => (seen.hellos += 1), receiptWanted: () => null },
    });
    return { client, seen };
  }
  return { sockets, channels, locks, tab };
}

describe("a leader tab's socket", () => {
  it("serves every tab with one server socket, and the next tab leads when it goes", async () => {
    const f = floor();
    const a = f.tab();
    const b = f.tab();
    a.client.connect();
    b.client.connect();
    await vi.waitFor(() => expect([a.client.ready, b.client.ready]).toEqual([true, true]));
    const open = () => f.sockets.filter((s) => !s.closed);
    expect(open()).toHaveLength(1);

    // a sends; the server sees one frame, tagged with a's port.
    a.client.send({ type: "typing", id: "x1", conversation: 1, state: "start" });
    await vi.waitFor(() => expect(open()[0].sent.some((fr) => fr.type === "typing")).toBe(true));

    // The leader's tab goes: its socket and channel die with it, b leads, on a new socket.
    const first = open()[0];
    first.close();
    f.channels[0].close();
    f.locks.release();
    await vi.waitFor(() => expect(b.seen.hellos).toBe(2));
    expect(b.client.ready).toBe(true);
    expect(f.sockets.filter((s) => !s.closed)).toHaveLength(1);
    expect(f.sockets.filter((s) => !s.closed)[0]).not.toBe(first);
    for (const c of f.channels) c.close();
  });

  it("is not offered without Web Locks or BroadcastChannel", () => {
    expect(leaderSocket({ BroadcastChannel: BroadcastChannel, locks: null })).toBeNull();
    expect(leaderSocket({ BroadcastChannel: null, locks: fakeLocks() })).toBeNull();
  });
});
