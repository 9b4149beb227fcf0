/*! Parley client: the shared socket without SharedWorker. The tabs elect a leader with a
 * Web Lock (the lock's holder is the leader until its tab goes, then the next waiting tab
 * gets it); the leader runs the hub (hub.js) and its one WebSocket, and the tabs reach it
 * over a BroadcastChannel. A new leader tells every tab to reconnect (close 1012), so they
 * move to its socket at once instead of waiting for their heartbeats to fail. Where Web
 * Locks or BroadcastChannel are missing it returns null: a socket per tab. */
import { createHub } from "./hub.js";
import { transportOver } from "./shared.js";

/** opts: name, WebSocket (the leader's real socket), BroadcastChannel, locks
 * (navigator.locks), random, onPageHide (injected by tests). */
export function leaderSocket(opts) {
  const Channel = "BroadcastChannel" in opts ? opts.BroadcastChannel : globalThis.BroadcastChannel;
  const locks = "locks" in opts ? opts.locks : globalThis.navigator && globalThis.navigator.locks;
  if (typeof Channel !== "function" || !locks || typeof locks.request !== "function") return null;
  const name = opts.name || "parley";
  const me = `t${Math.floor((opts.random || Math.random)() * 1e12).toString(36)}`;
  const channel = new Channel(name);
  let hub = null; // when this tab leads
  const remotes = new Map(); // tab id -> the hub's port for it
  let waiting = null; // an open this tab asked for before any hub answered

  // This tab's port to the hub: local when it leads, over the channel otherwise.
  const local = { onmessage: null };
  const port = {
    onmessage: null,
    postMessage(msg) {
      if (msg && msg.op === "open") waiting = msg;
      if (hub) local.onmessage && local.onmessage({ data: structuredClone(msg) });
      else channel.postMessage({ to: "hub", from: me, msg });
    },
  };

  channel.onmessage = (ev) => {
    const { to, from, msg } = ev.data || {};
    if (to === "hub" && hub) {
      let remote = remotes.get(from);
      if (!remote) {
        remote = { onmessage: null, postMessage: (m) => channel.postMessage({ to: from, msg: m }) };
        remotes.set(from, remote);
        hub.attach(remote);
      }
      if (remote.onmessage) remote.onmessage({ data: msg });
    } else if (to === me || to === "all") {
      if (msg && (msg.op === "open" || msg.op === "close")) waiting = null;
      if (port.onmessage) port.onmessage({ data: msg });
    }
  };

  // Held until the tab goes: then the next tab in line leads.
  locks.request(`${name}-leader`, () => {
    hub = createHub({ WebSocket: opts.WebSocket || globalThis.WebSocket });
    local.postMessage = (m) => port.onmessage && port.onmessage({ data: structuredClone(m) });
    hub.attach(local);
    // Everyone reconnects to this tab's socket. This tab's own client: a pending open is
    // served here; one that was open on the old leader's socket reconnects too.
    channel.postMessage({ to: "all", msg: { op: "close", code: 1012, reason: "new leader" } });
    if (waiting) {
      const open = waiting;
      waiting = null;
      local.onmessage({ data: open });
    } else if (port.onmessage) {
      port.onmessage({ data: { op: "close", code: 1012, reason: "new leader" } });
    }
    return new Promise(() => {});
  });

  return transportOver(port, opts.onPageHide);
}
