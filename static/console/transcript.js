// The chat pane: the selected conversation's head, transcript, pending messages, ticks and
// typing line. It reads the state and draws; it changes none of it.
import { attachmentsNode } from "./attachments.js";
import { paintTake } from "./capacity.js";
import { clock, el, translationOf } from "./dom.js";
import { icon } from "./icons.js";
import { merged, noteNode } from "./notes.js";
import { STATUS_LABEL, client, convs, isAssignee, isGuest, isMine, isMyMessage, isOpen, isWaiting, ui } from "./state.js";

// Each status's icon (icons.js, never an emoji font's glyph) and what it says.
const TICKS = {
  sending: ["clock", "Sending"],
  sent: ["check", "Sent"],
  delivered: ["checks", "Delivered"],
  read: ["checks", "Read"],
  failed: ["alert", "Not sent"],
};

export function renderChat() {
  const r = ui.selectedId ? convs.get(ui.selectedId) : null;
  el.chatEmpty.hidden = Boolean(r);
  el.chat.hidden = !r;
  if (!r) return;
  el.transcript.replaceChildren();
  let prev = null;
  for (const item of merged(r)) {
    if (item.n) {
      el.transcript.appendChild(noteNode(item.n));
      prev = { kind: "event" }; // the next message names its sender again
    } else {
      el.transcript.appendChild(messageNode(r, item.m, null, prev));
      prev = item.m;
    }
  }
  renderChatHead();
  renderPending(r);
  renderTyping();
  el.scroll.scrollTop = el.scroll.scrollHeight;
}

export function renderChatHead() {
  const r = convs.get(ui.selectedId);
  if (!r || !r.c) {
    el.title.textContent = "Loading…";
    return;
  }
  const c = r.c;
  el.title.textContent = c.customer.name;
  const bits = [`#${c.id}`];
  if (c.queue) bits.push(c.queue.name);
  if (c.language) bits.push(c.language.toUpperCase());
  if (c.assignee && !isMine(r)) bits.push(`with ${c.assignee.name}`);
  el.meta.textContent = bits.join(" · ");
  el.status.textContent = STATUS_LABEL[c.status] || c.status;
  el.status.dataset.status = c.status;
  el.takeBtn.hidden = !isWaiting(r);
  paintTake(el.takeBtn, r.id);
  el.resolveBtn.hidden = !(isAssignee(r) && isOpen(r));
  el.transferBtn.hidden = !(isAssignee(r) && c.status === "assigned");
  el.inviteBtn.hidden = el.transferBtn.hidden;
  el.leaveBtn.hidden = !isGuest(r);
  const canWrite = isMine(r) && isOpen(r);
  el.form.hidden = !canWrite;
  el.note.hidden = canWrite;
  el.note.textContent = isWaiting(r)
    ? "This customer is waiting. Take the conversation to reply."
    : isOpen(r)
      ? "You are not in this conversation."
      : "This conversation is closed.";
}

export function messageNode(r, m, status, prev) {
  const li = document.createElement("li");
  li.dataset.testid = "transcript-message";
  li.dataset.kind = m.kind;
  if (m.seq) li.dataset.seq = m.seq;
  if (m.kind === "event") {
    li.className = "event";
    li.textContent = m.body;
    return li;
  }
  const mine = status ? true : isMyMessage(r, m);
  li.className = `msg ${mine ? "mine" : m.kind}${status === "sending" ? " pending" : ""}${status === "failed" ? " failed" : ""}`;
  li.dataset.mine = String(mine);
  if (!mine && m.sender && (!prev || !prev.sender || prev.sender.participant !== m.sender.participant || prev.kind === "event")) {
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = m.kind === "system" ? `System · ${m.data && m.data.source ? m.data.source : ""}` : m.sender.name;
    li.appendChild(who);
  }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.dataset.testid = "transcript-body";
  const translated = translationOf(m);
  bubble.textContent = translated || m.body;
  if (bubble.textContent) li.appendChild(bubble); // a message may be files only
  const files = attachmentsNode(m);
  if (files) li.appendChild(files);
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = document.createElement("time");
  time.textContent = clock(m.created_at);
  meta.appendChild(time);
  if (translated) {
    // Shown in my language; the original (moderated) text is one click away.
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "link";
    toggle.dataset.testid = "transcript-original-toggle";
    toggle.textContent = `Translated from ${(m.language || "?").toUpperCase()} · show original`;
    let original = false;
    toggle.addEventListener("click", () => {
      original = !original;
      bubble.textContent = original ? m.body : translated;
      toggle.textContent = original ? "Show translation" : `Translated from ${(m.language || "?").toUpperCase()} · show original`;
    });
    meta.appendChild(toggle);
  } else if (!mine && m.translation === "pending") {
    meta.append(" · translating…");
  } else if (!mine && canTranslate(m)) {
    // On demand (message.translate): the result comes back as message.updated.
    const ask = document.createElement("button");
    ask.type = "button";
    ask.className = "link";
    ask.dataset.testid = "transcript-translate";
    ask.textContent = `${(m.language || "").toUpperCase()} · translate`;
    ask.addEventListener("click", () => {
      const sent = client.send({ type: "message.translate", id: client.nextId("tr:"), conversation: m.conversation, seq: m.seq }, true);
      if (sent) {
        ask.disabled = true;
        ask.textContent = "translating…";
      }
    });
    meta.appendChild(ask);
  }
  if (mine && m.moderation === "masked") meta.append(" · some words were hidden from the customer");
  if (mine) {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.dataset.testid = "transcript-tick";
    meta.appendChild(tick);
    setTick(li, tick, status || tickStatus(r, m.seq));
  }
  if (status === "failed") meta.append(` ${m.reason || "Not sent"}`);
  li.appendChild(meta);
  return li;
}

function canTranslate(m) {
  const view = m.view || {};
  return Boolean(
    ui.translation && ui.translation.enabled && ["text", "bot", "system"].includes(m.kind) &&
      m.language && view.language && m.language !== view.language && m.seq,
  );
}

function tickStatus(r, seq) {
  if (seq <= r.cust.read) return "read";
  if (seq <= r.cust.delivered) return "delivered";
  return "sent";
}

function setTick(li, tick, status) {
  li.dataset.status = status;
  tick.dataset.status = status;
  tick.replaceChildren(icon(...TICKS[status])); // the icon, and its meaning as hidden text
  tick.title = TICKS[status][1];
}

export function renderTicks(r) {
  for (const li of el.transcript.querySelectorAll("li.mine")) {
    const status = tickStatus(r, Number(li.dataset.seq));
    if (li.dataset.status !== status) setTick(li, li.querySelector(".tick"), status);
  }
}

function nearBottom() {
  return el.scroll.scrollHeight - el.scroll.scrollTop - el.scroll.clientHeight < 100;
}

export function appendToTranscript(r, m) {
  const stick = nearBottom();
  el.transcript.appendChild(messageNode(r, m, null, r.msgs[r.msgs.length - 2]));
  renderPending(r);
  if (stick || isMyMessage(r, m)) el.scroll.scrollTop = el.scroll.scrollHeight;
}

export function renderPending(r) {
  const items = client.pending(r.id); // accepted (by seq), then unsent
  el.pending.replaceChildren(
    ...items.map((e) => messageNode(r, { kind: "text", body: e.body, attachments: e.attachments, created_at: e.created_at }, e.seq ? "sent" : "sending")),
    ...r.failed.map((e) => messageNode(r, { kind: "text", body: e.body, attachments: e.attachments, created_at: e.created_at, reason: e.reason }, "failed")),
  );
  if (items.length) el.scroll.scrollTop = el.scroll.scrollHeight;
}

export function renderTyping() {
  const r = convs.get(ui.selectedId);
  const who = r && r.typing ? r.typing.name : null;
  el.typing.classList.toggle("active", Boolean(who));
  el.typing.querySelector(".typing-text").textContent = who ? `${who} is typing…` : "";
}
