// A fake WebSocket, fake timers (vitest's) and a client wired to record what the UI is told.
import { vi } from "vitest";
import * as ParleyClient from "../../static/parley/client/index.js";

export { ParleyClient };

/** The server's end of one socket: what the client sent, and ways to answer or drop it. */
export class FakeSocket {
  constructor(url, registry) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedByClient = false;
    registry.push(this);
  }
  send(data) {
    if (this.readyState !== 1) throw new Error("InvalidStateError: not open");
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closedByClient = true;
    this.readyState = 3;
  }
  // --- the server side
  accept() {
    this.readyState = 1;
    return this;
  }
  push(frame) {
    this.onmessage({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose({ code });
  }
  frames(type) {
    return this.sent.filter((f) => f.type === type);
  }
}

/** A Storage (localStorage's interface) kept in a Map: shared by two clients = two tabs. */
export function fakeStorage() {
  const data = new Map();
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  };
}

export function conversation(id, extra = {}) {
  return { id, status: "assigned", last_seq: 0, participants: [], ...extra };
}

export function message(conv, seq, extra = {}) {
  return {
    id: conv * 1000 + seq,
    conversation: conv,
    seq,
    kind: "text",
    body: `message ${seq}`,
    client_msg_id: null,
    sender: { participant: 2, role: "agent", name: "Alice" },
    ...extra,
  };
}

/**
 * A client as a UI would make it, with vitest's fake timers and clock. `random` is the
 * back-off's jitter (fixed, so delays are exact); `hooks` add to the recording ones.
 */
export function makeClient({ random = 0.5, hooks = {}, storage = null, ...opts } = {}) {
  const sockets = [];
  const seen = { status: [], messages: [], conversations: [], authFailed: [], lost: [], refused: [], outbox: 0 };
  const client = ParleyClient.createClient({
    url: () => "ws://test/ws/",
    WebSocket: class {
      constructor(url) {
        return new FakeSocket(url, sockets);
      }
    },
    now: () => Date.now(),
    random: () => random,
    timers: {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id),
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (id) => clearInterval(id),
    },
    outbox: storage ? ParleyClient.storedOutbox(storage, "outbox") : undefined,
    ...opts,
    hooks: {
      status: (s) => seen.status.push(s),
      message: (id, m) => seen.messages.push([id, m.seq]),
      conversation: (c) => seen.conversations.push([c.id, c.rev, c.status]),
      authFailed: (x) => seen.authFailed.push(x),
      lost: (id) => seen.lost.push(id),
      refused: (entry, f) => seen.refused.push([entry && entry.client_msg_id, f.code]),
      outbox: () => (seen.outbox += 1),
      receiptWanted: () => ({ read: false }),
      ...hooks,
    },
  });
  const sock = () => sockets[sockets.length - 1];
  /** Connect and say hello (the server's first frame) on a new socket. */
  function connectWithHello(hello = {}) {
    client.connect();
    const s = sock().accept();
    s.push({ type: "hello", heartbeat_interval: 5, conversations: [], ...hello });
    return s;
  }
  return { client, sockets, sock, seen, connectWithHello };
}

export function useFakeTime() {
  vi.useFakeTimers({ now: 1_000_000 });
}
