/*! Parley client: the outbox. Every message waits in it (persisted where the UI says) and is
 * resent, same client_msg_id, after every hello and whenever an answer is two heartbeats
 * late, until the server accepts it; then it shows as sent until its message.new. */

/** An outbox kept in a Storage (localStorage: shared by a browser's tabs under one key). */
export function storedOutbox(storage, key) {
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

export function uuid() {
  const c = globalThis.crypto;
  if (c.randomUUID) return c.randomUUID(); // secure contexts only; the fallback is as random
  return Array.from(c.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The outbox's part of the client on the shared context `ctx` (index.js). ctx.inflight:
 * client_msg_id -> when it was sent on the current socket. */
export function createOutbox(ctx) {
  const { opts, call, later, now, convs, inflight } = ctx;
  const store = opts.outbox || { items: [], load() { return this.items; }, save(x) { this.items = x; } };

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

  /** My own message came back stored: it leaves the outbox. */
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
      later(() => ctx.resume(st.id, false), 1500); // in case the message.new push is lost
    }
    call("outbox", f.conversation);
  }

  function sendFrame(e) {
    const frame = {
      type: "message.send",
      id: "m:" + e.client_msg_id,
      conversation: e.conversation,
      client_msg_id: e.client_msg_id,
      body: e.body,
    };
    if (e.choice) frame.choice = e.choice; // a bot button: its label is the body
    if (e.attachments && e.attachments.length) frame.attachments = e.attachments.map((a) => a.id);
    return frame;
  }

  function flush() {
    if (!ctx.ready) return;
    if (items().some((e) => !e.conversation)) call("unaddressed");
    for (const e of items()) {
      if (!e.conversation || inflight.has(e.client_msg_id)) continue;
      inflight.set(e.client_msg_id, now());
      ctx.send(sendFrame(e), true);
    }
  }

  /** conversation.start carries the oldest message that waits for a conversation, stored
   * in the start's own transaction: an agent offered the chat has it already. Its answer
   * (message.accepted, or an error) comes to its own id like a message.send's. Returns
   * the client_msg_id sent, or null. */
  function withFirst(start) {
    const e = items().find((x) => !x.conversation && !inflight.has(x.client_msg_id));
    if (!e) return null;
    inflight.set(e.client_msg_id, now());
    const { type, conversation, ...fields } = sendFrame(e); // eslint-disable-line no-unused-vars
    start.message = fields;
    return e.client_msg_id;
  }

  /** Each heartbeat: a send that got no answer (lost on a half-dead socket) is tried again. */
  function beat(limit) {
    for (const [cmid, at] of inflight) if (now() - at > limit) inflight.delete(cmid);
    flush();
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

  /** Queue a message: {conversation (or null: the UI's `unaddressed` hook finds one), body,
   * choice?, attachments? (uploads' payloads: their ids are sent, the rest is for showing)}. */
  function enqueue(fields) {
    const entry = Object.assign({ client_msg_id: uuid(), created_at: new Date(now()).toISOString() }, fields);
    store.save(items().concat([entry]));
    call("outbox", entry.conversation);
    flush();
    return entry;
  }

  /** Send the messages that wait for a conversation into this one. */
  function address(id) {
    const all = items();
    if (all.some((e) => !e.conversation)) store.save(all.map((e) => (e.conversation ? e : Object.assign({}, e, { conversation: id }))));
  }

  /** What to show as pending in a conversation: accepted (by seq), then unsent. */
  function pending(id, withUnaddressed) {
    const st = convs.get(id);
    const accepted = st ? Array.from(st.accepted.values()).sort((a, b) => a.seq - b.seq) : [];
    const held = st ? st.accepted : new Map();
    const unsent = items().filter(
      (e) => (e.conversation === id || (withUnaddressed && !e.conversation)) && !held.has(e.client_msg_id),
    );
    return accepted.concat(unsent);
  }

  /** Take every message waiting out of the outbox (they are another principal's now: a
   * logout), for the UI to keep aside; restore() puts them back, same client_msg_ids. */
  function takeAll() {
    const had = items();
    store.save([]);
    for (const e of had) inflight.delete(e.client_msg_id);
    for (const st of convs.values()) st.accepted.clear();
    if (had.length) call("outbox", null);
    return had;
  }

  function restore(entries) {
    const known = new Set(items().map((e) => e.client_msg_id));
    const back = (entries || []).filter((e) => e && e.client_msg_id && !known.has(e.client_msg_id));
    if (!back.length) return;
    store.save(back.concat(items()));
    call("outbox", null);
    flush();
  }

  return { items, isPending, settle, onAccepted, flush, withFirst, beat, onSendError, enqueue, address, pending, takeAll, restore };
}
