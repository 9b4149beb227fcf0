/*! Parley's browser protocol client: the one module the widget and the agent console share.
 *
 * docs/protocol.md is the contract; this file is its client side. The database is the
 * truth and pushes are hints, so the client: connects with jittered, capped exponential
 * back-off; pings every heartbeat and reconnects when pongs stop; keeps every message in an
 * outbox (persisted where the UI says) and resends it, same client_msg_id, until the server
 * accepts it; holds each conversation's seq contiguous, resuming on a gap, a reconnect, a
 * hello or a pong that shows it is behind, and hands the UI every message once, in order;
 * coalesces receipts; and drops a conversation snapshot older (by `rev`) than one applied.
 * The UI keeps what it shows; the client tells it through `hooks`.
 *
 * A plain script (sets window.ParleyClient) that Node can require (module.exports): no
 * build step. The socket constructor, timers, clock, randomness and storage are injected,
 * so the tests drive it with a fake socket and fake timers.
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module && module.exports) module.exports = api;
  if (root) root.ParleyClient = api;
})(typeof window !== "undefined" ? window : null, function () {
  "use strict";

  const OPEN = 1; // WebSocket.OPEN
  const MAX_ATTEMPT = 8;
  // Sent before a 4401/4403 close: the reason to show.
  const AUTH_CODES = ["unauthenticated", "token_invalid", "token_expired", "origin_not_allowed", "forbidden"];

  /** Jittered exponential back-off: a delay in [cap/2, cap], cap = min(max, base * 2^attempt). */
  function backoffDelay(attempt, rnd, base, max) {
    const cap = Math.min(max, base * 2 ** attempt);
    return cap / 2 + rnd * (cap / 2);
  }

  /** An outbox kept in a Storage (localStorage: shared by a browser's tabs under one key). */
  function storedOutbox(storage, key) {
    let memory = []; // private mode or a full quota: this tab's memory only
    return {
      load() {
        try {
          const raw = storage.getItem(key);
          return raw == null ? memory : JSON.parse(raw) || [];
        } catch (e) {
          return memory;
        }
      },
      save(items) {
        memory = items;
        try {
          storage.setItem(key, JSON.stringify(items));
        } catch (e) {
          /* memory only */
        }
      },
    };
  }

  function uuid() {
    const c = globalThis.crypto;
    if (c.randomUUID) return c.randomUUID(); // secure contexts only; the fallback is as random
    return Array.from(c.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, "0")).join("");
  }

  /**
   * opts: url() -> string or Promise (a rejection with .fatal stops), WebSocket, now(),
   * random(), timers {setTimeout, clearTimeout, setInterval, clearInterval}, every(ms, fn)
   * -> stop (the heartbeat's ticker), outbox {load, save}, heartbeatInterval (s),
   * backoff {base, max} (ms), pace {burst, perSecond} (a client-side token bucket; urgent
   * frames jump its queue), hooks (below, all optional).
   */
  function createClient(opts) {
    const hooks = opts.hooks || {};
    const call = (name, ...args) => (hooks[name] ? hooks[name](...args) : undefined);
    const T = opts.timers || {};
    const later = (fn, ms) => (T.setTimeout || setTimeout)(fn, ms);
    const cancel = (id) => (T.clearTimeout || clearTimeout)(id);
    const now = opts.now || (() => Date.now());
    const random = opts.random || Math.random;
    const every =
      opts.every ||
      ((ms, fn) => {
        const id = (T.setInterval || setInterval)(fn, ms);
        return () => (T.clearInterval || clearInterval)(id);
      });
    const store = opts.outbox || { items: [], load() { return this.items; }, save(x) { this.items = x; } };
    const base = (opts.backoff && opts.backoff.base) || 500;
    const maxDelay = (opts.backoff && opts.backoff.max) || 30000;
    const pace = opts.pace || null;
    // Whether a message is this principal's (any of its tabs): the UI knows who it is; without
    // it, only a message echoing one of our own pending client_msg_ids counts.
    const isOwn = (id, m) => (hooks.isOwn ? hooks.isOwn(id, m) : Boolean(m.client_msg_id && isPending(id, m.client_msg_id)));

    let ws = null; // the socket, or a placeholder while url() runs
    let ready = false; // hello received on the current socket
    let stopped = false;
    let everConnected = false;
    let attempt = 0;
    let reconnectTimer = null;
    let stopBeat = null;
    let lastPong = 0;
    let heartbeat = opts.heartbeatInterval || 20;
    let frameNo = 0;
    let closeReason = null;
    const inflight = new Map(); // client_msg_id -> when it was sent on this socket
    const convs = new Map(); // conversation id -> seq state (see track)
    const revs = new Map(); // conversation id -> highest rev applied
    const queue = [];
    let tokens = pace ? pace.burst : 0;
    let refilledAt = now();
    let drainTimer = null;

    // --- sending ---------------------------------------------------------------------------
    function send(frame, urgent) {
      if (!ws || ws.readyState !== OPEN) return false;
      if (!pace) {
        ws.send(JSON.stringify(frame));
        return true;
      }
      if (urgent) queue.unshift(frame);
      else queue.push(frame);
      drain();
      return true;
    }

    // Stays under the server's per-socket rate limit when a reconnect resumes many
    // conversations at once; user actions (urgent) go first.
    function drain() {
      const t = now();
      tokens = Math.min(pace.burst, tokens + ((t - refilledAt) / 1000) * pace.perSecond);
      refilledAt = t;
      while (queue.length && tokens >= 1 && ws && ws.readyState === OPEN) {
        ws.send(JSON.stringify(queue.shift()));
        tokens -= 1;
      }
      if (queue.length && !drainTimer) {
        drainTimer = later(() => {
          drainTimer = null;
          drain();
        }, 150);
      }
    }

    // --- connection ------------------------------------------------------------------------
    function connect() {
      cancel(reconnectTimer);
      reconnectTimer = null;
      if (stopped || ws) return;
      const slot = {};
      ws = slot; // reserve it while url() runs
      call("status", "connecting");
      const failed = (err) => {
        if (ws !== slot) return;
        ws = null;
        call("connectFailed", err);
        if (err && err.fatal) stop();
        else scheduleReconnect(false);
      };
      let url;
      try {
        url = opts.url();
      } catch (err) {
        return failed(err);
      }
      const opened = (u) => {
        if (ws !== slot) return;
        try {
          open(u);
        } catch (err) {
          failed(err); // a malformed URL: the constructor throws
        }
      };
      if (url && typeof url.then === "function") url.then(opened, failed);
      else opened(url);
    }

    function open(url) {
      const Socket = opts.WebSocket || globalThis.WebSocket;
      const socket = new Socket(url);
      ws = socket;
      closeReason = null;
      socket.onmessage = (ev) => {
        if (ws !== socket) return;
        let frame;
        try {
          frame = JSON.parse(ev.data);
        } catch (e) {
          return;
        }
        if (frame && typeof frame.type === "string") handle(frame);
      };
      socket.onclose = (ev) => {
        if (ws !== socket) return;
        drop();
        if (ev.code === 4401 || ev.code === 4403) {
          // Retrying cannot help: the UI decides (a new token, the login page, a message).
          stopped = true;
          call("status", "stopped");
          call("authFailed", { code: ev.code, reason: closeReason });
        } else {
          scheduleReconnect(ev.code === 4429); // 4429: we flooded; wait the longest
        }
      };
    }

    function drop() {
      const old = ws;
      ws = null;
      ready = false;
      queue.length = 0;
      inflight.clear();
      if (stopBeat) stopBeat();
      stopBeat = null;
      for (const st of convs.values()) st.resumeRef = null;
      if (old && old.close) {
        old.onclose = old.onmessage = null;
        try {
          old.close();
        } catch (e) {
          /* already closed */
        }
      }
      call("status", "offline");
    }

    function scheduleReconnect(longest) {
      cancel(reconnectTimer);
      if (stopped) return;
      if (longest) attempt = MAX_ATTEMPT;
      const delay = backoffDelay(attempt, random(), base, maxDelay);
      attempt = Math.min(attempt + 1, MAX_ATTEMPT);
      reconnectTimer = later(connect, delay);
      call("status", "offline");
    }

    function stop() {
      stopped = true;
      cancel(reconnectTimer);
      if (ws) drop();
      call("status", "stopped");
    }

    function beat() {
      if (!ready) return; // a tick already queued when the heartbeat stopped
      const limit = 2 * heartbeat * 1000;
      if (now() - lastPong > limit) {
        drop(); // no pong for two intervals: the connection is dead
        return scheduleReconnect(false);
      }
      send({ type: "ping", id: "p" + ++frameNo, t: now() }, true);
      // A send that got no answer (lost on a half-dead socket) is tried again.
      for (const [cmid, at] of inflight) if (now() - at > limit) inflight.delete(cmid);
      flush();
    }

    // --- frames from the server ------------------------------------------------------------
    function handle(f) {
      switch (f.type) {
        case "hello":
          return onHello(f);
        case "pong":
          lastPong = now();
          onTops(f.last_seq);
          return call("frame", f);
        case "conversation.updated":
          if (!f.conversation || !fresh(f.conversation)) return; // an older snapshot: dropped
          call("conversation", f.conversation, f);
          return noteConversation(f.conversation);
        case "conversation.started":
          call("frame", f);
          if (f.conversation) noteConversation(f.conversation);
          return flush();
        case "messages.batch":
          return onBatch(f);
        case "message.new":
          return f.message && onMessage(f.message);
        case "message.updated":
          return f.message && onUpdated(f.message);
        case "message.accepted":
          return onAccepted(f);
        case "error":
          return onError(f);
        default:
          return call("frame", f);
      }
    }

    function onHello(f) {
      heartbeat = f.heartbeat_interval || heartbeat;
      ready = true;
      everConnected = true;
      attempt = 0;
      lastPong = now();
      if (stopBeat) stopBeat();
      stopBeat = every(heartbeat * 1000, beat);
      const list = f.conversations || [];
      for (const c of list) fresh(c);
      call("status", "online");
      call("hello", f);
      for (const c of list) noteConversation(c);
      for (const id of Array.from(convs.keys())) resume(id, false);
      flush();
    }

    /** Whether a snapshot may be applied: not older than the newest applied (by rev). */
    function fresh(c) {
      if (!c || typeof c.rev !== "number") return true; // no rev: apply as it comes
      const seen = revs.get(c.id);
      if (seen !== undefined && c.rev < seen) return false;
      revs.set(c.id, c.rev);
      return true;
    }

    /** A snapshot's last_seq: if we hold less, fetch the rest. */
    function noteConversation(c) {
      const st = convs.get(c.id);
      if (!st) return;
      st.knownTop = Math.max(st.knownTop, c.last_seq || 0);
      resume(c.id, false);
    }

    // pong carries each open conversation's last seq: a message.new lost in a quiet
    // conversation shows up as a gap within one heartbeat.
    function onTops(tops) {
      for (const [id, seq] of Object.entries(tops || {})) {
        const st = convs.get(Number(id));
        if (!st || typeof seq !== "number") continue;
        st.knownTop = Math.max(st.knownTop, seq);
        resume(st.id, false);
      }
    }

    function resume(id, force) {
      const st = convs.get(id);
      if (!ready || !st || st.resumeRef) return;
      if (!force && st.lastSeq >= st.knownTop) return;
      st.resumeRef = "r:" + id + ":" + ++frameNo;
      send({ type: "resume", id: st.resumeRef, conversation: id, after_seq: st.lastSeq });
    }

    function onBatch(f) {
      const c = f.conversation;
      if (!c) return;
      const before = convs.get(c.id);
      if (before && before.resumeRef === f.ref) before.resumeRef = null;
      if (fresh(c)) call("conversation", c, f);
      const st = convs.get(c.id); // the UI may have started or stopped tracking it
      if (!st) return;
      st.knownTop = Math.max(st.knownTop, c.last_seq || 0);
      for (const m of f.messages || []) apply(st, m);
      if (f.has_more) resume(c.id, true);
      else resume(c.id, false);
      arrived(c.id);
    }

    function onMessage(m) {
      const st = convs.get(m.conversation);
      if (!st) return call("unknownMessage", m);
      if (m.seq > st.lastSeq + 1) {
        st.knownTop = Math.max(st.knownTop, m.seq);
        return resume(st.id, false); // a gap: fetch what is missing, in order
      }
      apply(st, m);
      arrived(st.id);
    }

    function apply(st, m) {
      const own = Boolean(m.sender) && isOwn(st.id, m);
      if (own && m.client_msg_id) settle(st, m.client_msg_id);
      if (m.seq !== st.lastSeq + 1) return; // held already, or not contiguous: resume brings it
      st.lastSeq = m.seq;
      st.knownTop = Math.max(st.knownTop, m.seq);
      // The server moves a sender's cursors to its own message without a receipt.updated:
      // whoever writes at seq N has read everything up to N.
      if (own) {
        st.me.read = Math.max(st.me.read, m.seq);
        st.me.delivered = Math.max(st.me.delivered, m.seq);
      }
      call("message", st.id, m);
    }

    function onUpdated(m) {
      // The language pipeline changed a delivered message: the UI replaces it.
      const st = convs.get(m.conversation);
      if (!st) return;
      if (m.seq > st.lastSeq) {
        st.knownTop = Math.max(st.knownTop, m.seq);
        return resume(st.id, false); // not held yet: a gap like any other
      }
      call("updated", st.id, m);
    }

    // --- the outbox --------------------------------------------------------------------------
    function items() {
      const v = store.load();
      return Array.isArray(v) ? v : [];
    }

    function take(cmid) {
      const all = items();
      const entry = all.find((e) => e.client_msg_id === cmid) || null;
      if (entry) store.save(all.filter((e) => e.client_msg_id !== cmid));
      return entry;
    }

    function isPending(id, cmid) {
      const st = convs.get(id);
      return Boolean((st && st.accepted.has(cmid)) || items().some((e) => e.client_msg_id === cmid));
    }

    function settle(st, cmid) {
      inflight.delete(cmid);
      const held = st.accepted.delete(cmid);
      if (take(cmid) || held) call("outbox", st.id);
    }

    function onAccepted(f) {
      inflight.delete(f.client_msg_id);
      const entry = take(f.client_msg_id);
      const st = convs.get(f.conversation);
      if (st && f.seq > st.lastSeq) {
        // Shown as "sent" until its message.new (or a resume) brings the stored message.
        if (entry) st.accepted.set(f.client_msg_id, Object.assign({}, entry, { seq: f.seq }));
        st.knownTop = Math.max(st.knownTop, f.seq);
        later(() => resume(st.id, false), 1500); // in case the message.new push is lost
      }
      call("outbox", f.conversation);
    }

    function flush() {
      if (!ready) return;
      if (items().some((e) => !e.conversation)) call("unaddressed");
      for (const e of items()) {
        if (!e.conversation || inflight.has(e.client_msg_id)) continue;
        inflight.set(e.client_msg_id, now());
        const frame = {
          type: "message.send",
          id: "m:" + e.client_msg_id,
          conversation: e.conversation,
          client_msg_id: e.client_msg_id,
          body: e.body,
        };
        if (e.choice) frame.choice = e.choice; // a bot button: its label is the body
        send(frame, true);
      }
    }

    function onError(f) {
      const ref = typeof f.ref === "string" ? f.ref : "";
      if (!ref && AUTH_CODES.includes(f.code)) {
        closeReason = f.message; // the 4401/4403 close follows
        return;
      }
      if (f.code === "rate_limited") {
        // Dropped unread: everything pending goes again shortly (sends are idempotent by
        // client_msg_id, resumes by seq), whichever frame `ref` names.
        inflight.clear();
        for (const st of convs.values()) st.resumeRef = null;
        later(() => {
          flush();
          for (const id of Array.from(convs.keys())) resume(id, false);
        }, 1000);
        return call("error", f);
      }
      if (ref.startsWith("m:")) return onSendError(ref.slice(2), f);
      if (ref.startsWith("r:")) {
        const st = convs.get(Number(ref.split(":")[1]));
        if (!st || st.resumeRef !== ref) return;
        st.resumeRef = null;
        if (f.code !== "not_found") return later(() => resume(st.id, false), 2000);
        convs.delete(st.id);
        return call("lost", st.id);
      }
      call("error", f);
    }

    function onSendError(cmid, f) {
      inflight.delete(cmid);
      if (f.code === "internal") return later(flush, 2000); // sends are idempotent
      const entry = items().find((e) => e.client_msg_id === cmid) || null;
      if (call("refused", entry, f) === "readdress") {
        // Not this conversation (any more): the UI finds it another one.
        store.save(items().map((e) => (e.client_msg_id === cmid ? Object.assign({}, e, { conversation: null }) : e)));
        return later(flush, 500);
      }
      take(cmid); // refused for good (e.g. message_blocked): never resent
      call("outbox", entry ? entry.conversation : null);
    }

    // --- receipts: coalesced per conversation, sent 300 ms after the last arrival ---------------
    const dirty = new Set();
    let receiptTimer = null;
    function arrived(id) {
      dirty.add(id);
      cancel(receiptTimer);
      receiptTimer = later(sendReceipts, 300);
      call("arrived", id);
    }

    function sendReceipts() {
      receiptTimer = null;
      const ids = Array.from(dirty);
      dirty.clear();
      for (const id of ids) {
        const st = convs.get(id);
        if (!ready || !st || !st.lastSeq) continue;
        const want = hooks.receiptWanted ? hooks.receiptWanted(id) : { read: false };
        if (!want) continue;
        const frame = { type: "receipt", conversation: id };
        if (st.lastSeq > st.me.delivered) frame.delivered_seq = st.lastSeq;
        if (want.read && st.lastSeq > st.me.read) frame.read_seq = st.lastSeq;
        if (frame.delivered_seq == null && frame.read_seq == null) continue;
        if (send(frame)) {
          st.me.delivered = Math.max(st.me.delivered, frame.delivered_seq || 0, frame.read_seq || 0);
          st.me.read = Math.max(st.me.read, frame.read_seq || 0);
        }
      }
      call("receiptsSent");
    }

    // --- typing: "start" at most every 3 s while typing, "stop" when emptied or 5 s idle ---------
    let typingConv = null;
    let typingSentAt = 0;
    let typingIdle = null;
    function typing(id, text) {
      if (!ready) return;
      cancel(typingIdle);
      if (!text.trim()) return typingStop();
      if (typingConv !== id || now() - typingSentAt > 3000) {
        if (typingConv !== null && typingConv !== id) typingStop();
        typingSentAt = now();
        typingConv = id;
        send({ type: "typing", conversation: id, state: "start" });
      }
      typingIdle = later(typingStop, 5000);
    }

    function typingStop() {
      cancel(typingIdle);
      if (typingConv === null) return;
      if (ready) send({ type: "typing", conversation: typingConv, state: "stop" });
      typingConv = null;
      typingSentAt = 0;
    }

    // --- the UI's handle ---------------------------------------------------------------------
    return {
      connect,
      stop,
      /** After an auth failure the UI fixed (a new token): reconnect with back-off. */
      retry() {
        stopped = false;
        scheduleReconnect(false);
      },
      /** Back online or visible again: connect now if idle, with a fresh back-off. */
      wake() {
        if (ws || stopped) return false;
        attempt = 0;
        connect();
        return true;
      },
      send: (frame, urgent) => send(frame, Boolean(urgent)),
      nextId: (prefix) => prefix + ++frameNo,
      get ready() {
        return ready;
      },
      get connected() {
        return Boolean(ws);
      },
      get stopped() {
        return stopped;
      },
      get everConnected() {
        return everConnected;
      },
      /** Hold conversation `id` from seq `after` on (reset if held): `{lastSeq, knownTop,
       * resumeRef, accepted, me}`, where `me` are my receipt cursors as the server has them. */
      track(id, after) {
        const from = after || 0;
        let st = convs.get(id);
        if (!st) {
          st = { id, lastSeq: from, knownTop: from, resumeRef: null, accepted: new Map(), me: { delivered: 0, read: 0 } };
          convs.set(id, st);
        } else {
          st.lastSeq = from;
          st.knownTop = Math.max(st.knownTop, from);
          st.resumeRef = null;
        }
        return st;
      },
      forget(id) {
        convs.delete(id);
        dirty.delete(id);
      },
      get: (id) => convs.get(id),
      resume: (id, force) => resume(id, Boolean(force)),
      resumeAll(force) {
        for (const id of Array.from(convs.keys())) resume(id, Boolean(force));
      },
      fresh,
      /** The server says conversation `id` has messages up to `seq` (a snapshot's last_seq):
       * the next catch-up fetches what is missing. */
      noteTop(id, seq) {
        const st = convs.get(id);
        if (st) st.knownTop = Math.max(st.knownTop, seq || 0);
      },
      /** My cursors from a snapshot or a receipt.updated (another tab): never backwards. */
      cursors(id, delivered, read) {
        const st = convs.get(id);
        if (!st) return;
        st.me.delivered = Math.max(st.me.delivered, delivered || 0);
        st.me.read = Math.max(st.me.read, read || 0);
      },
      arrived,
      typing,
      typingStop,
      /** Queue a message: {conversation (or null: the UI's `unaddressed` hook finds one), body, choice?}. */
      enqueue(fields) {
        const entry = Object.assign({ client_msg_id: uuid(), created_at: new Date(now()).toISOString() }, fields);
        store.save(items().concat([entry]));
        call("outbox", entry.conversation);
        flush();
        return entry;
      },
      outbox: items,
      flush,
      /** Send the messages that wait for a conversation into this one. */
      address(id) {
        const all = items();
        if (all.some((e) => !e.conversation)) store.save(all.map((e) => (e.conversation ? e : Object.assign({}, e, { conversation: id }))));
      },
      /** What to show as pending in a conversation: accepted (by seq), then unsent. */
      pending(id, withUnaddressed) {
        const st = convs.get(id);
        const accepted = st ? Array.from(st.accepted.values()).sort((a, b) => a.seq - b.seq) : [];
        const held = st ? st.accepted : new Map();
        const unsent = items().filter(
          (e) => (e.conversation === id || (withUnaddressed && !e.conversation)) && !held.has(e.client_msg_id),
        );
        return accepted.concat(unsent);
      },
      isPending,
    };
  }

  return { createClient, backoffDelay, storedOutbox, uuid, MAX_ATTEMPT };
});
