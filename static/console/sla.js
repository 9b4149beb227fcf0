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

/** From a message, in seq order. */
export function awaitingFromMessage(r, m) {
  if (m.sender && m.sender.role === "customer" && m.kind === "text") r.awaiting = r.awaiting || m.created_at;
  else if (m.sender && (m.sender.role === "agent" || m.sender.role === "bot") && (m.kind === "text" || m.kind === "bot")) r.awaiting = null;
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

/** Seconds the customer has been silent in my assigned chat, or -1 when it does not apply
 * (not assigned, or already asked since their last words). */
export function customerSilence(r, now) {
  if (!r || !r.c || r.c.status !== "assigned") return -1;
  let since = r.c.assigned_at;
  for (let i = r.msgs.length - 1; i >= 0; i -= 1) {
    const m = r.msgs[i];
    if (m.sender && m.sender.role === "customer" && m.kind === "text") {
      since = m.created_at;
      break;
    }
    if (m.sender && m.sender.role === "agent" && m.body === NUDGE_TEXT) return -1; // asked
  }
  return since ? Math.floor((now - new Date(since).getTime()) / 1000) : -1;
}
