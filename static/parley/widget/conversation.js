// The widget's conversation: what the server's frames change (the snapshot, messages in
// order, receipts, typing, the queue position) and what the customer sends. Seq order,
// gaps, the outbox and pacing are the shared client's (client/): it hands these functions
// each message once, in order.
import { announce, el } from "./dom.js";
import { prechatPending, renderPrechat } from "./prechat.js";
import { isBlank, messageNode, render } from "./render.js";
import { OPEN, client, env, isMine, isOpenConversation, local, startFrame, state, toHost } from "./state.js";

// --- frames from the server (what the client leaves to the widget) ------------------------
export function handle(f) {
  switch (f.type) {
    case "conversation.started":
      state.starting = false;
      if (client.fresh(f.conversation)) setConversation(f.conversation);
      return; // the client then sends the outbox into it
    case "queue.position":
      if (f.conversation === state.convId || !state.convId) state.queue = f;
      return render.header();
    case "receipt.updated":
      return onReceipt(f);
    case "typing":
      return onTyping(f);
  }
}

export function onHello(f) {
  state.service = f.service || null; // an open incident's notice (docs/protocol.md, hello)
  const open = (f.conversations || [])
    .filter((c) => OPEN.includes(c.status))
    .sort((a, b) => b.id - a.id)[0];
  if (open) setConversation(open);
  // What the page already had is history; what comes after it is news for the host page.
  if (state.liveFrom === null) state.liveFrom = open ? open.last_seq : 0;
  startIfBot();
  render.connection();
  if (state.convId) client.resume(state.convId, true); // after a reconnect, always ask
}

export function setConversation(c) {
  if (!c) return;
  if (c.id !== state.convId) {
    if (state.convId && c.id < state.convId) return; // an older one: keep the newer
    resetConversation(c.id);
  }
  state.conv = c;
  client.noteTop(c.id, c.last_seq);
  for (const p of c.participants || []) {
    if (p.role === "customer") {
      client.cursors(c.id, p.delivered_seq, p.read_seq);
    } else if (p.role === "agent") {
      state.peer.delivered = Math.max(state.peer.delivered, p.delivered_seq);
      state.peer.read = Math.max(state.peer.read, p.read_seq);
    }
  }
  render.header();
  render.ticks();
  renderPrechat();
}

export function resetConversation(id) {
  if (state.convId) client.forget(state.convId);
  state.convId = id;
  local.set("conv", id);
  if (id) client.track(id, 0);
  state.conv = null;
  state.messages = [];
  state.peer = { delivered: 0, read: 0 };
  state.queue = null;
  clearTyping();
  render.all();
}

export function applyMessage(id, m) {
  // In order and once (the client deduplicates and resumes gaps).
  state.messages.push(m);
  if (isReading()) state.seen = m.seq; // shown on an open panel: read, even if closed right after
  if (!isMine(m) && state.liveFrom !== null && m.seq > state.liveFrom && m.kind !== "event") {
    const files = (m.attachments || []).map((a) => a.name).join(", ");
    announce((m.sender && m.sender.name ? m.sender.name + ": " : "") + [m.body, files].filter(Boolean).join(" "));
    toHost({ type: "message", message: { seq: m.seq, body: m.body, kind: m.kind, sender: m.sender && m.sender.name, created_at: m.created_at } });
  }
  if (m.sender.role === "agent" && state.peer.read < m.seq) {
    // The server moves a sender's cursors to its own message without a receipt.updated.
    state.peer.read = state.peer.delivered = m.seq;
    render.ticks();
  }
  stopTyping(m.sender.participant);
  render.message(m);
}

export function onUpdated(id, m) {
  // The language pipeline changed a delivered message (translation, moderation): replace it.
  const i = state.messages.findIndex((x) => x.seq === m.seq);
  if (i < 0) return;
  state.messages[i] = m;
  const old = el.list.querySelector('li[data-seq="' + m.seq + '"]');
  if (old) old.replaceWith(messageNode(m, null, state.messages[i - 1]));
  render.choices();
}

function onReceipt(f) {
  if (f.conversation !== state.convId) return;
  if (f.role === "customer") client.cursors(f.conversation, f.delivered_seq, f.read_seq);
  else if (f.role === "agent") {
    state.peer.delivered = Math.max(state.peer.delivered, f.delivered_seq);
    state.peer.read = Math.max(state.peer.read, f.read_seq);
  } else return;
  render.ticks();
  render.unread();
}

export function onError(f) {
  // What the client does not handle itself: rate limits (it retries) and our own frames.
  const ref = typeof f.ref === "string" ? f.ref : "";
  if (f.code === "rate_limited") {
    state.starting = false;
    return;
  }
  if (ref.startsWith("s")) {
    state.starting = false;
    setTimeout(() => client.flush(), 2000);
  }
}

// A chat closed within this long stays on screen (its rating card, its transcript form)
// instead of being replaced by a new greeting; writing starts the next one.
const CLOSED_KEPT_MS = 24 * 3600 * 1000;

/** The widget shows (or is still reading: a reload) a conversation that closed lately. */
export function showsRecentClosed(now = Date.now()) {
  if (!state.convId) return false;
  const c = state.conv;
  if (!c || c.id !== state.convId) return true; // remembered, its state not read yet
  if (OPEN.includes(c.status)) return false;
  const closedAt = Date.parse(c.resolved_at || c.last_message_at || c.created_at || "") || 0;
  return now - closedAt < CLOSED_KEPT_MS;
}

/** The bot greets when the chat opens: with a bot flow and no open conversation, opening
 * starts one (the flow's first node runs on the server), before the customer writes; not
 * over a chat that closed lately (showsRecentClosed). */
export function startIfBot() {
  if (!env.BOT || !state.open || !client || !client.ready || state.starting || state.blocked) return;
  if (prechatPending()) return; // the form first, then the greeting
  if (isOpenConversation() || client.outbox().length || showsRecentClosed()) return;
  state.starting = true;
  client.start(startFrame(client.nextId("s")));
}

// --- sending -----------------------------------------------------------------------------
export function submit(text, choice) {
  const body = text.trim();
  if (isBlank(body) || state.blocked) return false;
  client.typingStop();
  client.enqueue({
    body,
    conversation: isOpenConversation() ? state.conv.id : null,
    ...(choice ? { choice } : {}),
  });
  if (!client.connected) client.connect();
  return true;
}

/** Uploaded attachments go out as one message (no text: a message may be files only). */
export function submitAttachments(attachments) {
  if (!attachments.length || state.blocked) return false;
  client.enqueue({ body: "", attachments, conversation: isOpenConversation() ? state.conv.id : null });
  if (!client.connected) client.connect();
  return true;
}

// Receipts (the client): delivered on arrival, read while the panel is open and the tab visible.
export function isReading() {
  return state.open && document.visibilityState === "visible";
}

export function afterArrival() {
  if (state.convId) client.arrived(state.convId);
  render.unread();
}

// Typing: the client paces the frames; the widget says what is in the composer.
export function typingInput(text) {
  if (isOpenConversation()) client.typing(state.conv.id, text);
}

function onTyping(f) {
  if (f.conversation !== state.convId || f.role === "customer") return; // my other tabs
  if (f.state === "stop") return stopTyping(f.participant);
  const current = state.typing.get(f.participant);
  if (current) clearTimeout(current.timer);
  const timer = setTimeout(() => stopTyping(f.participant), 6000);
  state.typing.set(f.participant, { name: f.name, timer });
  render.typing();
}

function stopTyping(participant) {
  const current = state.typing.get(participant);
  if (!current) return;
  clearTimeout(current.timer);
  state.typing.delete(participant);
  render.typing();
}

function clearTyping() {
  for (const participant of Array.from(state.typing.keys())) stopTyping(participant);
}
