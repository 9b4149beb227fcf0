/*! Parley client: each tracked conversation's seq. Holds the last contiguous seq, resumes on
 * a gap, a snapshot's or a pong's last_seq, a hello or a reconnect (one resume in flight per
 * conversation, again while has_more), hands the UI every message once, in order, and drops
 * a conversation snapshot older (by rev) than one applied. See index.js. */

/** The seq part of the client on the shared context `ctx` (index.js); ctx.convs holds the
 * state of each tracked conversation: `{id, lastSeq, knownTop, resumeRef, accepted, me}`. */
export function createResume(ctx) {
  const { call, convs } = ctx;
  const revs = new Map(); // conversation id -> highest rev applied

  /** Hold conversation `id` from seq `after` on (reset if held). */
  function track(id, after) {
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
  }

  /** Whether a snapshot may be applied: not older than the newest applied (by rev). */
  function fresh(c) {
    if (!c || typeof c.rev !== "number") return true; // no rev: apply as it comes
    const seen = revs.get(c.id);
    if (seen !== undefined && c.rev < seen) return false;
    revs.set(c.id, c.rev);
    return true;
  }

  function noteTop(id, seq) {
    const st = convs.get(id);
    if (st) st.knownTop = Math.max(st.knownTop, seq || 0);
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
    if (!ctx.ready || !st || st.resumeRef) return;
    if (!force && st.lastSeq >= st.knownTop) return;
    st.resumeRef = "r:" + id + ":" + ctx.nextNo();
    ctx.send({ type: "resume", id: st.resumeRef, conversation: id, after_seq: st.lastSeq });
  }

  function resumeAll(force) {
    for (const id of Array.from(convs.keys())) resume(id, force);
  }

  function onBatch(f) {
    const c = f.conversation;
    if (!c) return;
    // The resume stays in flight (resumeRef) until its messages are applied: a UI that
    // loads on demand from its conversation hook (a preview it holds nothing of yet) would
    // otherwise see no resume and nothing held, and ask for the same messages again. It
    // ends even if a hook throws, or nothing would ever resume this conversation again.
    let st;
    try {
      if (fresh(c)) call("conversation", c, f);
      st = convs.get(c.id); // the UI may have started or stopped tracking it
      if (!st) return;
      st.knownTop = Math.max(st.knownTop, c.last_seq || 0);
      for (const m of f.messages || []) apply(st, m);
    } finally {
      const held = convs.get(c.id);
      if (held && held.resumeRef === f.ref) held.resumeRef = null;
    }
    if (f.has_more) resume(c.id, true);
    else resume(c.id, false);
    ctx.arrived(c.id);
  }

  function onMessage(m) {
    const st = convs.get(m.conversation);
    if (!st) return call("unknownMessage", m);
    if (m.seq > st.lastSeq + 1) {
      st.knownTop = Math.max(st.knownTop, m.seq);
      return resume(st.id, false); // a gap: fetch what is missing, in order
    }
    apply(st, m);
    ctx.arrived(st.id);
  }

  function apply(st, m) {
    const own = Boolean(m.sender) && ctx.isOwn(st.id, m);
    if (own && m.client_msg_id) ctx.settle(st, m.client_msg_id);
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

  /** A resume refused with `ref`: tried again later, or the conversation is gone. */
  function onResumeError(ref, f) {
    const st = convs.get(Number(ref.split(":")[1]));
    if (!st || st.resumeRef !== ref) return;
    st.resumeRef = null;
    if (f.code !== "not_found") return ctx.later(() => resume(st.id, false), 2000);
    convs.delete(st.id);
    call("lost", st.id);
  }

  /** My cursors from a snapshot or a receipt.updated (another tab): never backwards. */
  function cursors(id, delivered, read) {
    const st = convs.get(id);
    if (!st) return;
    st.me.delivered = Math.max(st.me.delivered, delivered || 0);
    st.me.read = Math.max(st.me.read, read || 0);
  }

  return {
    track,
    fresh,
    noteTop,
    noteConversation,
    onTops,
    resume,
    resumeAll,
    onBatch,
    onMessage,
    onUpdated,
    onResumeError,
    cursors,
  };
}
