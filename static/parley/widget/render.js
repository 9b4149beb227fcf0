// What the widget draws: messages (with their ticks, translations and a bot question's
// buttons), what is pending, the header, queue position, typing line, unread badge and
// connection banner. It reads the state; it changes none of it, but for the × with which
// the customer puts away a message the server refused.
import { attachmentNode } from "./attach.js";
import { el, nearBottom, scrollDown } from "./dom.js";
import { buttonLabel } from "./labels.js";
import { renderFeedback } from "./feedback.js";
import { TICKS } from "./styles.js";
import { WAITING, client, env, isMine, me, state, t, toHost } from "./state.js";

let shownQuestion = 0;
let lastUnread = 0;
// A refused message -> the seq of the last stored message when it was first drawn: it
// stays there in the log as later messages are stored (the refusal answers before them).
const anchors = new WeakMap();

// A refusal's error code -> its text in the reader's language (chat/widget_texts.py).
const REFUSALS = {
  message_blocked: "failed_blocked",
  invalid_field: "failed_invalid",
  too_large: "failed_too_long",
  rate_limited: "failed_rate_limited",
  too_many_attachments: "attach_too_many",
  attachments_disabled: "attach_off",
  attachment_not_found: "failed_attachment",
  forbidden: "failed_gone",
  not_found: "failed_gone",
};

/** Why a message was refused, for the customer: a known code in their language, else the
 * server's own words (English), else "Not sent". */
export function refusalText(entry) {
  const key = REFUSALS[entry.code];
  if (key && env.TEXTS && env.TEXTS[key]) return t(key);
  return entry.reason || t("tick_failed");
}

/** `items` (the client's pending: accepted by seq, then unsent) with each of `failed` put
 * at its place in time (created_at), not after messages sent later. Each: {entry, failed}. */
export function inTime(items, failed) {
  const out = items.map((entry) => ({ entry, failed: false }));
  for (const entry of failed) {
    const at = out.findIndex((x) => entry.created_at && x.entry.created_at > entry.created_at);
    out.splice(at < 0 ? out.length : at, 0, { entry, failed: true });
  }
  return out;
}

// Format and control characters, separators, the Hangul fillers, the braille blank, the
// combining grapheme joiner and variation selectors: none draws anything on its own.
const INVISIBLE = /[\s\p{Cf}\p{Cc}\p{Z}\u034F\u115F\u1160\u3164\uFFA0\u2800\uFE00-\uFE0F]/gu;

/** A text without a single visible character: whitespace, zero-width spaces and joiners,
 * word joiners, byte-order marks, bidi and other format characters. Sent, it would show as
 * an empty bubble. */
export function isBlank(text) {
  return !String(text ?? "").replace(INVISIBLE, "");
}

function tickStatus(seq) {
  if (seq <= state.peer.read) return "read";
  if (seq <= state.peer.delivered) return "delivered";
  return "sent";
}

function timeOf(iso) {
  const d = iso ? new Date(iso) : new Date();
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function messageNode(m, status, prev) {
  const li = document.createElement("li");
  li.setAttribute("data-testid", "parley-message");
  li.dataset.kind = m.kind || "text";
  if (m.seq) li.dataset.seq = m.seq;
  if (m.kind === "event") {
    li.className = "event";
    // A known timeline line in the visitor's language; the body (English) otherwise.
    const key = m.data && typeof m.data.line === "string" ? "line_" + m.data.line : "";
    li.textContent = key && env.TEXTS && env.TEXTS[key] ? t(key, m.data) : m.body;
    return li;
  }
  const mine = status ? true : isMine(m);
  li.className = "msg " + (mine ? "mine" : m.kind) + (status === "sending" ? " pending" : "") + (status === "failed" ? " failed" : "");
  li.dataset.mine = mine ? "true" : "false";
  if (!mine && m.sender && (!prev || prev.sender.participant !== m.sender.participant || prev.kind === "event")) {
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = m.kind === "system" ? t("system") : m.sender.name;
    li.appendChild(who);
  }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.setAttribute("data-testid", "parley-message-body");
  bubble.dir = "auto"; // right-to-left text shows right to left, whatever the page's direction
  const translated = translationOf(m);
  bubble.textContent = translated || m.body;
  if (bubble.textContent) li.appendChild(bubble); // a message may be files only
  if (m.attachments && m.attachments.length) {
    const files = document.createElement("div");
    files.className = "attachments";
    files.setAttribute("data-testid", "parley-attachments");
    for (const a of m.attachments) files.appendChild(attachmentNode(a));
    li.appendChild(files);
  }
  if (m.kind === "bot" && m.data && Array.isArray(m.data.buttons) && m.data.buttons.length) {
    const choices = document.createElement("div");
    choices.className = "choices";
    choices.setAttribute("data-testid", "parley-choices");
    choices.setAttribute("role", "group");
    choices.setAttribute("aria-label", t("answers"));
    choices.hidden = true; // render.choices() shows the current question's only
    for (const b of m.data.buttons) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.setAttribute("data-testid", "parley-choice");
      // In the widget's language when it can be (labels.js): the click sends what it shows.
      btn.textContent = buttonLabel(b, env.LANG, env.TEXTS);
      if (m.data.csat && /^[1-5]$/.test(String(b.id))) btn.setAttribute("aria-label", t(b.id === "1" ? "star_one" : "stars", { count: b.id }));
      btn.dataset.choice = String(b.id); // answered by index.js (a click on the list)
      choices.appendChild(btn);
    }
    li.appendChild(choices);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = document.createElement("time");
  time.textContent = timeOf(m.created_at);
  meta.appendChild(time);
  if (translated) {
    // Shown in the reader's language; the original is one click away.
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "link";
    toggle.setAttribute("data-testid", "parley-original-toggle");
    toggle.textContent = t("show_original");
    let original = false;
    toggle.addEventListener("click", () => {
      original = !original;
      bubble.textContent = original ? m.body : translated;
      toggle.textContent = original ? t("show_translation") : t("show_original");
    });
    meta.appendChild(toggle);
  }
  if (mine && m.moderation === "masked") {
    const note = document.createElement("span");
    note.textContent = t("masked");
    meta.appendChild(note);
  }
  if (mine) {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.setAttribute("data-testid", "parley-tick");
    meta.appendChild(tick);
    setTick(li, tick, status || tickStatus(m.seq));
  }
  if (status === "failed") {
    const why = document.createElement("span");
    why.className = "why";
    why.setAttribute("data-testid", "parley-failed-reason");
    why.textContent = refusalText(m);
    meta.appendChild(why);
  }
  li.appendChild(meta);
  return li;
}

// The banner in the reader's language, from the frame's fields (its `message` is English).
function queueText(q) {
  if (q.mode === "offline") {
    const key = "offline_" + q.reason;
    return t(key) !== key ? t(key) : t("offline_over_limit");
  }
  if (!q.position) return q.message;
  let text = q.position === 1 ? t("queue_next") : t("queue_number", { position: q.position });
  if (q.eta_seconds != null) {
    const minutes = Math.max(1, Math.round(q.eta_seconds / 60));
    text += " " + (minutes === 1 ? t("queue_eta_one") : t("queue_eta", { minutes }));
  }
  return text;
}

function translationOf(m) {
  const view = m.view || {};
  const t = view.as === "recipient" && view.language && m.translations && m.translations[view.language];
  return t && t.state === "done" && t.body && t.body !== m.body ? t.body : null;
}

// A refused message, with a × that puts it away (its text went back to the composer).
function failedNode(e) {
  const li = messageNode({ kind: "text", body: e.body, attachments: e.attachments, created_at: e.created_at, reason: e.reason, code: e.code }, "failed");
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "dismiss";
  dismiss.textContent = "×";
  dismiss.setAttribute("aria-label", t("failed_dismiss"));
  dismiss.setAttribute("data-testid", "parley-failed-dismiss");
  dismiss.addEventListener("click", () => {
    const i = state.failed.indexOf(e);
    if (i >= 0) state.failed.splice(i, 1);
    render.pending();
    el.input.focus();
  });
  li.querySelector(".meta").appendChild(dismiss);
  return li;
}

function setTick(li, tick, status) {
  li.dataset.status = status;
  tick.dataset.status = status;
  tick.innerHTML = TICKS[status].icon; // our own markup (styles.js), no text of anyone's
  tick.title = t("tick_" + status);
  const said = document.createElement("span"); // what the icon means, for screen readers
  said.className = "sr-only";
  said.textContent = tick.title;
  tick.appendChild(said);
}

export const render = {
  all() {
    el.list.textContent = "";
    state.messages.forEach((m, i) => el.list.appendChild(messageNode(m, null, state.messages[i - 1])));
    this.pending();
    this.header();
    this.typing();
    this.unread();
  },
  message(m) {
    const stick = nearBottom();
    el.list.appendChild(messageNode(m, null, state.messages[state.messages.length - 2]));
    this.pending();
    if (stick || isMine(m)) scrollDown();
    renderFeedback(); // a closed conversation's cards wait for its messages
  },
  pending() {
    el.pending.textContent = "";
    for (const li of el.list.querySelectorAll("li.failed")) li.remove();
    const items = client.pending(state.convId, true); // accepted (by seq), then unsent
    const top = state.messages.length ? state.messages[state.messages.length - 1].seq : 0;
    const waiting = [];
    for (const e of state.failed) {
      if (!anchors.has(e)) anchors.set(e, top);
      const at = anchors.get(e);
      if (at >= top) waiting.push(e);
      else {
        // Messages were stored since: in the log, before the first of them.
        const next = Array.from(el.list.children).find((li) => Number(li.dataset.seq) > at);
        el.list.insertBefore(failedNode(e), next || null);
      }
    }
    for (const { entry: e, failed } of inTime(items, waiting)) {
      if (failed) el.pending.appendChild(failedNode(e));
      else el.pending.appendChild(messageNode({ kind: "text", body: e.body, attachments: e.attachments, created_at: e.created_at }, e.seq ? "sent" : "sending"));
    }
    el.empty.hidden = state.messages.length > 0 || items.length > 0 || state.failed.length > 0;
    if (items.length) scrollDown();
    this.choices();
  },
  choices() {
    // Only the bot's current question (asked after the customer's last answer) offers
    // its buttons and input hint; answering hides them.
    let answered = client.outbox().length > 0 ? Infinity : 0;
    let asked = null;
    for (const m of state.messages) {
      if (isMine(m)) answered = Math.max(answered, m.seq);
      else if (m.kind === "bot") asked = m;
    }
    const current = asked && asked.seq > answered ? asked : null;
    for (const box of el.list.querySelectorAll(".choices")) {
      box.hidden = !current || Number(box.closest("li").dataset.seq) !== current.seq;
    }
    const hint = (current && current.data && current.data.input) || {};
    const modes = { email: "email", phone: "tel", number: "numeric" };
    el.input.setAttribute("inputmode", modes[hint.type] || "text");
    el.input.placeholder = hint.placeholder || (hint.type === "email" ? "name@example.com" : t("placeholder"));
    if (current && current.seq !== shownQuestion) scrollDown();
    shownQuestion = current ? current.seq : 0;
  },
  ticks() {
    for (const li of el.list.querySelectorAll("li.mine[data-seq]")) {
      const status = tickStatus(Number(li.dataset.seq));
      if (li.dataset.status !== status) setTick(li, li.querySelector(".tick"), status);
    }
  },
  header() {
    const c = state.conv;
    let text = t("status_idle");
    if (c) {
      if (c.status === "assigned" && c.assignee) text = t("status_assigned", { name: c.assignee.name });
      else if (WAITING.includes(c.status)) text = t("status_waiting");
      else if (c.status === "bot") text = t("status_bot");
      else if (c.status === "resolved" || c.status === "abandoned") text = t("status_closed");
    }
    el.status.textContent = text;
    renderFeedback();
    const q = state.queue;
    const waiting = q && q.message && (!c || WAITING.includes(c.status)) && q.conversation === state.convId;
    el.queue.hidden = !waiting;
    el.queue.textContent = waiting ? queueText(q) : "";
    el.queue.classList.toggle("offline", Boolean(waiting && q.mode === "offline"));
  },
  typing() {
    const names = Array.from(state.typing.values()).map((t) => t.name);
    el.typing.hidden = names.length === 0;
    el.typing.innerHTML = names.length ? '<span class="dots"><span></span><span></span><span></span></span> ' : "";
    if (names.length) el.typing.append(t(names.length > 1 ? "typing_many" : "typing_one", { names: names.join(", ") }));
  },
  unread() {
    const count = state.messages.filter((m) => m.seq > me().read && !isMine(m) && m.kind !== "event").length;
    // The host page draws the launcher and its badge.
    const shown = state.open ? 0 : count;
    if (shown !== lastUnread) toHost({ type: "unread", count: shown });
    lastUnread = shown;
  },
  connection() {
    let text = "";
    el.banner.classList.toggle("error", Boolean(state.blocked));
    // The customer reads a plain sentence; the server's reason ("This origin may not embed
    // the widget.") is for the site's owner, in the browser console (session.js block()).
    if (state.blocked) text = t("cannot_use");
    else if (!client.ready && client.everConnected) text = t("reconnecting");
    else if (state.service && state.service.state !== "up") text = state.service.message;
    el.banner.hidden = !text;
    el.banner.textContent = text;
    el.input.disabled = el.send.disabled = Boolean(state.blocked) || !client;
    if (state.blocked) el.empty.hidden = true;
  },
};
