/*! Parley client: a shared socket for all of a principal's tabs. `sharedSocket()` returns a
 * WebSocket-like constructor whose instances talk to one real socket held by a SharedWorker
 * (sharedworker.js, hub.js): pass it as `createClient({WebSocket})` and the rest of the
 * client is unchanged. Where SharedWorker is missing (or refused) it returns null and the
 * caller keeps a socket per tab. */

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** opts: workerUrl (the module URL of sharedworker.js), name (one hub per name), SharedWorker
 * and scope (injected by tests), onPageHide(fn) (when the tab goes: tell the hub). */
export function sharedSocket(opts) {
  const Worker = opts.SharedWorker || globalThis.SharedWorker;
  if (typeof Worker !== "function") return null;
  let worker;
  try {
    worker = new Worker(opts.workerUrl, { type: "module", name: opts.name || "parley" });
  } catch (e) {
    return null; // a CSP that forbids workers, a browser without module workers
  }
  const Shared = transportOver(worker.port, opts.onPageHide);
  // A worker whose script never loads (blocked by a proxy, lost by a deploy) says so only
  // through `error`: its tabs then fall back to a socket each instead of waiting forever on
  // a hub that is not there. An error after the hub has spoken is the worker's own affair.
  const Plain = opts.WebSocket || globalThis.WebSocket;
  let alive = false;
  let failed = false;
  const deliver = worker.port.onmessage;
  worker.port.onmessage = (ev) => {
    alive = true;
    deliver(ev);
  };
  worker.onerror = () => {
    if (alive || failed) return;
    failed = true;
    Shared.lost();
  };
  return function SharedOrOwnSocket(url) {
    return failed ? new Plain(url) : new Shared(url);
  };
}

/** The WebSocket-like class over a port to a hub (a SharedWorker's, or a leader tab's). */
export function transportOver(port, onPageHide) {
  let current = null; // the socket instance this tab uses now
  port.onmessage = (ev) => {
    if (current) current._fromHub(ev.data);
  };
  if (port.start) port.start();
  const pageHide = onPageHide || ((fn) => globalThis.addEventListener && globalThis.addEventListener("pagehide", fn));
  pageHide(() => port.postMessage({ op: "bye" }));

  return class SharedWebSocket {
    constructor(url) {
      this.url = String(url);
      this.readyState = CONNECTING;
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      if (current) current._detach();
      current = this;
      port.postMessage({ op: "open", url: this.url });
    }

    send(data) {
      if (this.readyState !== OPEN) throw new Error("the shared socket is not open");
      port.postMessage({ op: "send", data: String(data) });
    }

    close() {
      if (current === this) {
        current = null;
        port.postMessage({ op: "close" });
      }
      this.readyState = CLOSED;
    }

    _detach() {
      this.readyState = CLOSED;
    }

    /** The hub is gone for good: the socket in use closes as a dropped one would. */
    static lost() {
      const socket = current;
      current = null;
      if (!socket || socket.readyState === CLOSED) return;
      socket.readyState = CLOSED;
      if (socket.onclose) socket.onclose({ code: 1006, reason: "the shared worker failed" });
    }

    _fromHub(msg) {
      if (!msg) return;
      if (msg.op === "open" && this.readyState === CONNECTING) {
        this.readyState = OPEN;
        if (this.onopen) this.onopen({});
      } else if (msg.op === "message" && this.readyState === OPEN) {
        if (this.onmessage) this.onmessage({ data: msg.data });
      } else if (msg.op === "close") {
        this.readyState = CLOSED;
        current = null;
        if (this.onclose) this.onclose({ code: msg.code, reason: msg.reason });
      }
    }
  };
}
