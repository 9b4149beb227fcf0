/*! Parley's browser protocol client: the one module the widget and the agent console share.
 *
 * docs/protocol.md is the contract; this package is its client side. The database is the
 * truth and pushes are hints, so the client: connects with jittered, capped exponential
 * back-off; pings every heartbeat and reconnects when pongs stop (socket.js); keeps every
 * message in an outbox (persisted where the UI says) and resends it, same client_msg_id,
 * until the server accepts it (outbox.js); holds each conversation's seq contiguous,
 * resuming on a gap, a reconnect, a hello or a pong that shows it is behind, hands the UI
 * every message once, in order, and drops a conversation snapshot older (by `rev`) than one
 * applied (resume.js); coalesces receipts and paces typing (receipts.js). The UI keeps what
 * it shows; the client tells it through `hooks`.
 *
 * ES modules, no build step: the browser and Node (vitest) import the files as they are.
 * The parts share one context object (`ctx` below) and call one another through it. The
 * socket constructor, timers, clock, randomness and storage are injected, so the tests
 * drive it with a fake socket and fake timers.
 */
import { createOutbox, storedOutbox, uuid } from "./outbox.js";
import { createReceipts } from "./receipts.js";
import { createResume } from "./resume.js";
import { MAX_ATTEMPT, backoffDelay, createSocket } from "./socket.js";

export { MAX_ATTEMPT, backoffDelay, storedOutbox, uuid };

// Sent before a 4401/4403 close: the reason to show.
const AUTH_CODES = ["unauthenticated", "token_invalid", "token_expired", "token_revoked", "origin_not_allowed", "forbidden"];

/**
 * opts: url() -> string or Promise (a rejection with .fatal stops), WebSocket, now(),
 * random(), timers {setTimeout, clearTimeout, setInterval, clearInterval}, every(ms, fn)
 * -> stop (the heartbeat's ticker), outbox {load, save}, heartbeatInterval (s),
 * backoff {base, max} (ms), pace {burst, perSecond} (a client-side token bucket; urgent
 * frames jump its queue), pollInterval (ms between resumes while the server has no pushes
 * for this socket, 5000), hooks (below, all optional).
 */
export function createClient(opts) {
  const hooks = opts.hooks || {};
  const T = opts.timers || {};
  let frameNo = 0;
  const ctx = {
    opts,
    hooks,
    call: (name, ...args) => (hooks[name] ? hooks[name](...args) : undefined),
    later: (fn, ms) => (T.setTimeout || setTimeout)(fn, ms),
    cancel: (id) => (T.clearTimeout || clearTimeout)(id),
    now: opts.now || (() => Date.now()),
    random: opts.random || Math.random,
    every:
      opts.every ||
      ((ms, fn) => {
        const id = (T.setInterval || setInterval)(fn, ms);
        return () => (T.clearInterval || clearInterval)(id);
      }),
    nextNo: () => ++frameNo,
    ready: false, // hello received on the current socket
    convs: new Map(), // conversation id -> seq state (resume.js)
    inflight: new Map(), // client_msg_id -> when it was sent on this socket (outbox.js)
  };
  const socket = createSocket(ctx);
  const seqs = createResume(ctx);
  const outbox = createOutbox(ctx);
  const receipts = createReceipts(ctx);
  const { call, convs, inflight } = ctx;
  const starts = new Map(); // a conversation.start's id -> the first message it carries

  // How the parts reach one another.
  Object.assign(ctx, {
    send: socket.send,
    handle,
    // Everything in flight on a socket that went is void: sent again on the next one.
    socketLost() {
      inflight.clear();
      starts.clear();
      for (const st of convs.values()) st.resumeRef = null;
      stopPolling(); // the next hello says whether pushes flow
    },
    beat: outbox.beat,
    resume: seqs.resume,
    arrived: receipts.arrived,
    settle: outbox.settle,
    // Whether a message is this principal's (any of its tabs): the UI knows who it is;
    // without it, only a message echoing one of our own pending client_msg_ids counts.
    isOwn: (id, m) => (hooks.isOwn ? hooks.isOwn(id, m) : Boolean(m.client_msg_id && outbox.isPending(id, m.client_msg_id))),
  });

  // --- frames from the server --------------------------------------------------------------
  function handle(f) {
    switch (f.type) {
      case "hello":
        return onHello(f);
      case "pong":
        socket.pong();
        seqs.onTops(f.last_seq);
        pushState(f.push);
        return call("frame", f);
      case "conversation.updated":
        if (!f.conversation || !seqs.fresh(f.conversation)) return; // an older snapshot: dropped
        call("conversation", f.conversation, f);
        return seqs.noteConversation(f.conversation);
      case "conversation.started":
        starts.delete(f.ref);
        call("frame", f);
        if (f.conversation) seqs.noteConversation(f.conversation);
        return outbox.flush();
      case "messages.batch":
        return seqs.onBatch(f);
      case "message.new":
        return f.message && seqs.onMessage(f.message);
      case "message.updated":
        return f.message && seqs.onUpdated(f.message);
      case "message.accepted":
        return outbox.onAccepted(f);
      case "error":
        return onError(f);
      default:
        return call("frame", f);
    }
  }

  function onHello(f) {
    socket.online(f.heartbeat_interval);
    const list = f.conversations || [];
    for (const c of list) seqs.fresh(c);
    call("status", "online");
    call("hello", f);
    for (const c of list) seqs.noteConversation(c);
    seqs.resumeAll(false);
    outbox.flush();
    pushState(f.push);
  }

  // --- without pushes (the server lost Redis: hello or pong say push: false) ------------------
  // Poll instead: resume every held conversation and ping (whose pong says when pushes are
  // back) every pollInterval; once they are, resume once more for what the gap hid.
  const pollMs = opts.pollInterval || 5000;
  let stopPoll = null;

  function pushState(live) {
    if (live === false && !stopPoll) {
      stopPoll = ctx.every(pollMs, () => {
        if (!ctx.ready) return;
        seqs.resumeAll(true);
        socket.ping();
      });
      call("push", false);
    } else if (live === true && stopPoll) {
      stopPolling();
      seqs.resumeAll(true);
      call("push", true);
    }
  }

  function stopPolling() {
    if (stopPoll) stopPoll();
    stopPoll = null;
  }

  function onError(f) {
    const ref = typeof f.ref === "string" ? f.ref : "";
    if (!ref && AUTH_CODES.includes(f.code)) {
      socket.closingBecause(f.message); // the 4401/4403 close follows
      return;
    }
    if (f.code === "rate_limited") {
      // Dropped unread: everything pending goes again shortly (sends are idempotent by
      // client_msg_id, resumes by seq), whichever frame `ref` names.
      ctx.socketLost();
      ctx.later(() => {
        outbox.flush();
        seqs.resumeAll(false);
      }, 1000);
      return call("error", f);
    }
    if (starts.has(ref)) inflight.delete(starts.get(ref)); // its first message goes again
    starts.delete(ref);
    if (ref.startsWith("m:")) return outbox.onSendError(ref.slice(2), f);
    if (ref.startsWith("r:")) return seqs.onResumeError(ref, f);
    call("error", f);
  }

  // --- the UI's handle ---------------------------------------------------------------------
  return {
    connect: socket.connect,
    stop: socket.stop,
    /** After an auth failure the UI fixed (a new token): reconnect with back-off. */
    retry: socket.retry,
    /** Back online or visible again: connect now if idle, with a fresh back-off. */
    wake: socket.wake,
    send: (frame, urgent) => socket.send(frame, Boolean(urgent)),
    /** Send a conversation.start frame (`id` set), carrying the oldest message that waits
     * for a conversation (outbox.js withFirst). */
    start(frame) {
      const cmid = outbox.withFirst(frame);
      if (cmid) starts.set(frame.id, cmid);
      socket.send(frame, true);
    },
    nextId: (prefix) => prefix + ctx.nextNo(),
    get ready() {
      return ctx.ready;
    },
    /** Polling resume because the server cannot push to this socket (push: false). */
    get polling() {
      return Boolean(stopPoll);
    },
    get connected() {
      return socket.connected();
    },
    get stopped() {
      return socket.stopped();
    },
    get everConnected() {
      return socket.everConnected();
    },
    /** Hold conversation `id` from seq `after` on (reset if held): `{lastSeq, knownTop,
     * resumeRef, accepted, me}`, where `me` are my receipt cursors as the server has them. */
    track: seqs.track,
    forget(id) {
      convs.delete(id);
      receipts.forget(id);
    },
    get: (id) => convs.get(id),
    resume: (id, force) => seqs.resume(id, Boolean(force)),
    resumeAll: (force) => seqs.resumeAll(Boolean(force)),
    fresh: seqs.fresh,
    /** The server says conversation `id` has messages up to `seq` (a snapshot's last_seq):
     * the next catch-up fetches what is missing. */
    noteTop: seqs.noteTop,
    /** My cursors from a snapshot or a receipt.updated (another tab): never backwards. */
    cursors: seqs.cursors,
    arrived: receipts.arrived,
    typing: receipts.typing,
    typingStop: receipts.typingStop,
    /** Queue a message: {conversation (or null: the UI's `unaddressed` hook finds one), body, choice?}. */
    enqueue: outbox.enqueue,
    outbox: outbox.items,
    /** Take everything unsent out (the UI's principal changed: its messages are not the
     * next one's) and get it back later (same client_msg_ids: sent once, whenever). */
    takeOutbox: outbox.takeAll,
    restoreOutbox: outbox.restore,
    flush: outbox.flush,
    /** Send the messages that wait for a conversation into this one. */
    address: outbox.address,
    /** What to show as pending in a conversation: accepted (by seq), then unsent. */
    pending: outbox.pending,
    isPending: outbox.isPending,
  };
}
