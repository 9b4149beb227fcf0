/*! Parley client: one socket for all of a principal's tabs, whichever way the browser
 * allows. `tabSocket()` picks the transport (a WebSocket-like constructor for
 * `createClient({WebSocket})`): a SharedWorker's hub (shared.js), else a leader tab's
 * (leader.js), else none (null: a socket per tab). Both UIs use it: the console (one hub
 * per agent) and the widget's frame (one hub per site and visitor). In a third-party
 * iframe, Chromium partitions SharedWorker, Web Locks, BroadcastChannel and storage by
 * the top-level site, so the widget's tabs on one host site share a socket and those on
 * another site do not. */
import { leaderSocket } from "./leader.js";
import { sharedSocket } from "./shared.js";

/** opts: own (keep a socket per tab: a test wraps WebSocket), workerUrl, name, and what
 * shared.js and leader.js take. Returns {Transport (or null), kind: "worker" | "leader" | false}. */
export function tabSocket(opts) {
  if (opts.own) return { Transport: null, kind: false };
  const worker = sharedSocket(opts);
  if (worker) return { Transport: worker, kind: "worker" };
  const leader = leaderSocket(opts);
  if (leader) return { Transport: leader, kind: "leader" };
  return { Transport: null, kind: false };
}

/** A WebSocket-like constructor whose every new socket goes through the hub for the key
 * `keyOf()` returns now (made once per key by `make(key)`, a tabSocket() result): the
 * widget's visitor can change (Parley.identify), and the new one must not join the old
 * one's socket. Without a hub for the key, a plain socket (`opts.WebSocket`). */
export function keyedSocket(keyOf, make, opts) {
  const hubs = new Map();
  const Plain = (opts && opts.WebSocket) || globalThis.WebSocket;
  function pick() {
    const key = keyOf();
    if (!hubs.has(key)) hubs.set(key, make(key));
    return hubs.get(key);
  }
  function KeyedSocket(url) {
    const Transport = pick().Transport || Plain;
    return new Transport(url); // a constructor that returns an object: `new` yields it
  }
  KeyedSocket.kind = () => pick().kind;
  return KeyedSocket;
}
