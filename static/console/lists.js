// The sidebar: the waiting room and my chats, each item a preview with its unread count,
// and the page title. Clicks are handled by console.js (delegated on the lists).
import { clock, el, translationOf } from "./dom.js";
import { paintSla, sla } from "./sla.js";
import { STATUS_LABEL, convs, isMine, isMyMessage, isOpen, isWaiting, offers, ui } from "./state.js";

function initials(name) {
  const words = (name || "").split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}]/gu, "")).filter(Boolean);
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

function ago(iso) {
  if (!iso) return "";
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
  if (minutes < 1) return "now";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function unreadCount(r) {
  if (!isMine(r)) return 0;
  return r.msgs.filter((m) => m.seq > r.s.me.read && m.kind !== "event" && !isMyMessage(r, m)).length;
}

function previewOf(r) {
  if (r.typing) return { text: `${r.typing.name} is typing…`, typing: true };
  const last = [...r.msgs].reverse().find((m) => m.kind !== "event") || r.msgs[r.msgs.length - 1];
  if (!last) return { text: r.c && r.c.last_seq ? "…" : "No messages yet" };
  const files = (last.attachments || []).map((a) => `📎 ${a.name}`).join(" ");
  const text = [translationOf(last) || last.body, files].filter(Boolean).join(" ");
  return { text: (isMyMessage(r, last) ? "You: " : "") + text };
}

/** An offer card's preview of the conversation's last message (offers.js draws the card). */
export function paintPreview(li) {
  const r = convs.get(Number(li.dataset.conversation));
  const span = li.querySelector("[data-testid=conversation-preview]");
  if (!span) return;
  const preview = r && r.c ? previewOf(r) : { text: "" };
  span.textContent = preview.text;
  span.classList.toggle("typing", Boolean(preview.typing));
}

let renderQueued = false;
/** Redraw the lists on the next frame (many changes in one frame: one redraw). */
export function renderSoon() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderLists();
  });
}

function listItem(r) {
  const li = document.createElement("li");
  li.className = "item" + (r.id === ui.selectedId ? " selected" : "") + (isOpen(r) ? "" : " closed");
  li.dataset.testid = "conversation-item";
  li.dataset.conversation = r.id;
  li.dataset.status = r.c.status;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "item-open";
  open.dataset.testid = "conversation-open";
  open.setAttribute("aria-current", r.id === ui.selectedId ? "true" : "false");
  const name = r.c.customer.name;
  const preview = previewOf(r);
  const unread = unreadCount(r);
  const when = isWaiting(r) ? ago(r.c.queued_at) : r.c.last_message_at ? clock(r.c.last_message_at) : "";
  open.innerHTML = `<span class="avatar" aria-hidden="true"></span>
    <span class="item-body"><span class="item-top"><strong class="item-name"></strong><span class="item-time"></span></span>
    <span class="item-preview" data-testid="conversation-preview"></span></span>`;
  open.querySelector(".avatar").textContent = initials(name);
  open.querySelector(".item-name").textContent = name;
  open.querySelector(".item-time").textContent = when;
  const timer = document.createElement("span");
  timer.className = "sla";
  timer.dataset.testid = "conversation-sla";
  paintSla(timer, r, Date.now());
  open.querySelector(".item-top").appendChild(timer);
  const pv = open.querySelector(".item-preview");
  pv.textContent = preview.text;
  pv.classList.toggle("typing", Boolean(preview.typing));
  if (!isOpen(r)) {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = STATUS_LABEL[r.c.status] || r.c.status;
    open.querySelector(".item-top").appendChild(chip);
  }
  if (unread) {
    const badge = document.createElement("span");
    badge.className = "unread";
    badge.dataset.testid = "conversation-unread";
    badge.textContent = unread;
    badge.setAttribute("aria-label", `${unread} unread`);
    open.appendChild(badge);
  }
  li.appendChild(open);
  if (isWaiting(r)) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "btn btn-small take";
    btn.dataset.testid = "conversation-take";
    btn.textContent = "Take";
    btn.setAttribute("aria-label", `Take the conversation with ${name}`);
    li.appendChild(btn);
  }
  return li;
}

/** Conversations offered to me: shown as offer cards, not again under Waiting. */
function offeredToMe() {
  return new Set(Array.from(offers.values()).map((o) => o.res.conversation && o.res.conversation.id));
}

export function renderLists() {
  const now = Date.now();
  const all = Array.from(convs.values()).filter((r) => r.c);
  const offeredIds = offeredToMe();
  // Most urgent first: the longest past its reply target (then priority, then id).
  const urgency = (a, b) => sla(b, now).ratio - sla(a, now).ratio;
  const waiting = all
    .filter((r) => isWaiting(r) && !offeredIds.has(r.id))
    .sort((a, b) => (b.c.priority - a.c.priority) || urgency(a, b) || String(a.c.queued_at).localeCompare(String(b.c.queued_at)) || a.id - b.id);
  const activity = (r) => String((r.msgs.length && r.msgs[r.msgs.length - 1].created_at) || r.c.last_message_at || r.c.created_at);
  const mine = all
    .filter((r) => isMine(r) && !isWaiting(r))
    .sort((a, b) => (isOpen(b) - isOpen(a)) || urgency(a, b) || activity(b).localeCompare(activity(a)) || b.id - a.id);
  for (const li of el.offers.children) paintPreview(li);
  el.waiting.replaceChildren(...waiting.map(listItem));
  el.mine.replaceChildren(...mine.map(listItem));
  el.waitingCount.textContent = waiting.length;
  el.mineCount.textContent = mine.filter(isOpen).length;
  el.waitingEmpty.hidden = waiting.length > 0;
  el.mineEmpty.hidden = mine.length > 0;
  // My load as the router counts it: assigned chats plus open offers, against my capacity.
  if (ui.presence && ui.presence.capacity) {
    const load = mine.filter((r) => r.c.status === "assigned" && r.c.assignee && r.c.assignee.id === ui.presence.agent).length + offers.size;
    el.load.hidden = false;
    el.load.textContent = `${load}/${ui.presence.capacity} chats`;
    el.load.dataset.full = String(load >= ui.presence.capacity);
  }
  const unread = mine.reduce((n, r) => n + unreadCount(r), 0);
  const offered = offers.size ? `${offers.size} incoming · ` : "";
  document.title = `${unread ? `(${unread}) ` : ""}${offered}${waiting.length ? `${waiting.length} waiting · ` : ""}Parley console`;
}

/** Once a second: the timers count up, in place (the order follows on the next redraw);
 * a chat of mine that crosses its reply target (amber), then twice it (red), nudges me. */
export function tickSla(nudge) {
  const now = Date.now();
  for (const r of convs.values()) {
    if (!r.c || !isMine(r)) continue;
    const level = sla(r, now).level;
    if ((level === "warn" || level === "late") && r.slaLevel && r.slaLevel !== level && nudge) nudge(r, level);
    r.slaLevel = level;
  }
  for (const span of document.querySelectorAll("[data-testid=conversation-sla]")) {
    const li = span.closest("li[data-conversation]");
    const r = li && convs.get(Number(li.dataset.conversation));
    if (r) paintSla(span, r, now);
  }
}
