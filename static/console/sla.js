// SLA timers: how long the customer's last message has gone unanswered, against the
// queue's reply target (its sla_seconds). Green under the target, amber past it, red past
// twice the target. The clock starts at the conversation's awaiting_since (server), and
// moves with the messages the console applies: a customer's text starts it, an agent's
// or the bot's reply stops it. A waiting conversation the bot answered counts from when
// it was queued.
import { cfg, isWaiting } from "./state.js";

export const DEFAULT_TARGET = 120;

/** From a snapshot: taken only if it is not behind the messages already applied. */
export function awaitingFromSnapshot(r, c) {
  if (r.awaitingSeq === undefined || c.last_seq >= r.awaitingSeq) {
    r.awaiting = c.awaiting_since || null;
    r.awaitingSeq = c.last_seq;
  }
}

// A bot line answers the customer only while the bot has the conversation: once handed off
// (after queued_at) the customer waits for a person, as the server's awaiting_since says
// (chat.services.messages._awaiting_since).
function botPhase(r, m) {
  if (!r.c || r.c.status === "bot" || !r.c.queued_at) return true;
  return Date.parse(m.created_at) <= Date.parse(r.c.queued_at);
}

/** From a message, in seq order. */
export function awaitingFromMessage(r, m) {
  const role = m.sender && m.sender.role;
  const says = m.kind === "text" || m.kind === "bot";
  if (role === "customer" && m.kind === "text") r.awaiting = r.awaiting || m.created_at;
  else if (says && (role === "agent" || (role === "bot" && botPhase(r, m)))) r.awaiting = null;
  r.awaitingSeq = Math.max(r.awaitingSeq || 0, m.seq || 0);
}

export function since(r) {
  if (r.awaiting) return r.awaiting;
  if (r.c && isWaiting(r)) return r.c.queued_at;
  return null;
}

export function target(r) {
  return (r.c && r.c.queue && r.c.queue.reply_target) || cfg.replyTarget || DEFAULT_TARGET;
}

/** {level: ok|warn|late|none, seconds, ratio} at `now` (ms). */
export function sla(r, now) {
  const from = since(r);
  if (!from || !r.c || !["queued", "offered", "assigned", "reopened"].includes(r.c.status)) {
    return { level: "none", seconds: 0, ratio: -1 };
  }
  const seconds = Math.max(0, Math.floor((now - new Date(from).getTime()) / 1000));
  const ratio = seconds / target(r);
  return { level: ratio >= 2 ? "late" : ratio >= 1 ? "warn" : "ok", seconds, ratio };
}

export function formatWait(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}` : `${m}:${String(s).padStart(2, "0")}`;
}

const LABEL = { ok: "within the reply target", warn: "past the reply target", late: "far past the reply target" };

/** Draw (or redraw) a timer chip. */
export function paintSla(span, r, now) {
  const s = sla(r, now);
  span.hidden = s.level === "none";
  span.dataset.level = s.level;
  span.textContent = formatWait(s.seconds);
  span.title = s.level === "none" ? "" : `Waiting for a reply for ${formatWait(s.seconds)}, ${LABEL[s.level]} (${target(r)} s)`;
  return s;
}

export const NUDGE_TEXT = "Are you still there?";

/** Seconds the customer has been silent since my side (an agent or the bot) last spoke in
 * my assigned chat (or since it was assigned), or -1 when it does not apply: not assigned, already asked since, or
 * the customer's last words are still unanswered (then they are waiting for us, not
 * silent, and the nudge would start the customer-left close on someone owed a reply). */
export function customerSilence(r, now) {
  if (!r || !r.c || r.c.status !== "assigned" || r.awaiting) return -1;
  let since = null; // my side's last words
  for (let i = r.msgs.length - 1; i >= 0; i -= 1) {
    const m = r.msgs[i];
    const role = m.sender && m.sender.role;
    if (role === "customer" && m.kind === "text") {
      if (!since) return -1; // unanswered
      break;
    }
    if (role === "agent" && m.body === NUDGE_TEXT) return -1; // asked since their last words
    if (!since && (role === "agent" || role === "bot") && (m.kind === "text" || m.kind === "bot")) since = m.created_at;
  }
  // Not before I had the chat: a bot's answer long before the hand-off is not my question.
  const from = Math.max(since ? Date.parse(since) : 0, r.c.assigned_at ? Date.parse(r.c.assigned_at) : 0);
  return from ? Math.floor((now - from) / 1000) : -1;
}
