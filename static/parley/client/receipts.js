/*! Parley client: receipts and typing, the two paced signals. Receipts are coalesced per
 * conversation and sent 300 ms after the last arrival; typing sends "start" at most every
 * 3 s while typing and "stop" when the composer is emptied or 5 s idle. See index.js. */

/** Receipts and typing on the shared context `ctx` (index.js). */
export function createReceipts(ctx) {
  const { hooks, call, later, cancel, now, convs } = ctx;

  // --- receipts ------------------------------------------------------------------------------
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
      if (!ctx.ready || !st || !st.lastSeq) continue;
      const want = hooks.receiptWanted ? hooks.receiptWanted(id) : { read: false };
      if (!want) continue;
      const frame = { type: "receipt", conversation: id };
      if (st.lastSeq > st.me.delivered) frame.delivered_seq = st.lastSeq;
      // want.read: true (all it holds), or the last seq the reader saw (a number).
      const readTo = want.read === true ? st.lastSeq : Math.min(Number(want.read) || 0, st.lastSeq);
      if (readTo > st.me.read) frame.read_seq = readTo;
      if (frame.delivered_seq == null && frame.read_seq == null) continue;
      if (ctx.send(frame)) {
        st.me.delivered = Math.max(st.me.delivered, frame.delivered_seq || 0, frame.read_seq || 0);
        st.me.read = Math.max(st.me.read, frame.read_seq || 0);
      }
    }
    call("receiptsSent");
  }

  // --- typing --------------------------------------------------------------------------------
  let typingConv = null;
  let typingSentAt = 0;
  let typingIdle = null;
  function typing(id, text) {
    if (!ctx.ready) return;
    cancel(typingIdle);
    if (!text.trim()) return typingStop();
    if (typingConv !== id || now() - typingSentAt > 3000) {
      if (typingConv !== null && typingConv !== id) typingStop();
      typingSentAt = now();
      typingConv = id;
      ctx.send({ type: "typing", conversation: id, state: "start" });
    }
    typingIdle = later(typingStop, 5000);
  }

  function typingStop() {
    cancel(typingIdle);
    if (typingConv === null) return;
    if (ctx.ready) ctx.send({ type: "typing", conversation: typingConv, state: "stop" });
    typingConv = null;
    typingSentAt = 0;
  }

  return {
    arrived,
    /** A conversation no longer tracked: no receipt for it. */
    forget: (id) => dirty.delete(id),
    typing,
    typingStop,
  };
}
