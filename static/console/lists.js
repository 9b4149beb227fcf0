// The sidebar: the router's offers to me, the waiting room and my chats, each item a
// preview with its unread count, and the page title. Clicks are handled by console.js
// (delegated on the lists).
import { arrange } from "./arrange.js";
import { paintTake } from "./capacity.js";
import { coalesce } from "./schedule.js";
import { clock, el, translationOf } from "./dom.js";
import { icon } from "./icons.js";
import { paintSla, sla } from "./sla.js";
import { STATUS_LABEL, convs, isMine, isMyMessage, isOpen, isWaiting, offers, ui, unreadCount } from "./state.js";

// The newest message applied, not the snapshot's last_message_at (a row kept the time of
// the snapshot while messages kept arriving).
function lastAt(r) {
  return (r.msgs.length && r.msgs[r.msgs.length - 1].created_at) || r.c.last_message_at;
}

function initials(name) {
  const words = (name || "").split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}]/gu, "")).filter(Boolean);
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

function ago(iso) {
  if (!iso) return "";
  // Whole minutes gone (floor): "1 min" only once a minute has passed, as clocks count.
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
  if (minutes < 1) return "now";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function previewOf(r) {
  if (r.typing) return { text: `${r.typing.name} is typing…`, typing: true };
  const newestFirst = [...r.msgs].reverse();
  // A waiting or offered chat shows what the customer last wrote (the bot's handoff line
  // says nothing about the request); an open one, whoever spoke last.
  const customer = isWaiting(r) && newestFirst.find((m) => m.kind === "text" && m.sender && m.sender.role === "customer");
  const last = customer || newestFirst.find((m) => m.kind !== "event") || r.msgs[r.msgs.length - 1];
  if (!last) return { text: r.c && r.c.last_seq ? "…" : "No messages yet" };
  const files = (last.attachments || []).map((a) => a.name);
  return { text: (isMyMessage(r, last) ? "You: " : "") + (translationOf(last) || last.body || ""), files };
}

/** A preview's text, then each file with a paperclip icon (icons.js) that says "Attachment". */
function fillPreview(span, preview) {
  span.replaceChildren(preview.text);
  for (const name of preview.files || []) {
    if (span.textContent) span.append(" ");
    span.append(icon("clip", "Attachment:"), name);
  }
  span.classList.toggle("typing", Boolean(preview.typing));
}

function paintPreview(li) {
  const r = convs.get(Number(li.dataset.conversation));
  const span = li.querySelector("[data-testid=conversation-preview]");
  if (!span) return;
  fillPreview(span, r && r.c ? previewOf(r) : { text: "" });
}

/** A heading's count badge: the number, what it counts for the pointer ("2 open chats")
 * and, in the heading's name, for screen readers ("My chats: 2 open chats"); data-count
 * for styles (an empty list's badge is quieter). */
function paintCount(badge, n, what) {
  badge.textContent = n;
  badge.dataset.count = n;
  const label = `${n} ${what} chat${n === 1 ? "" : "s"}`;
  badge.title = label;
  const heading = badge.closest("h2");
  if (heading) heading.setAttribute("aria-label", `${heading.firstChild.textContent.trim()}: ${label}`);
}

/** Redraw the lists on the next frame (many changes in one frame: one redraw). */
export const renderSoon = coalesce(() => renderLists());

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
  const last = lastAt(r);
  const when = isWaiting(r) ? ago(r.c.queued_at) : last ? clock(last) : "";
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
  fillPreview(open.querySelector(".item-preview"), preview);
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
    paintTake(btn, r.id);
    li.appendChild(btn);
  }
  return li;
}

// An offer card. Its buttons are handled by console.js (delegated on the list, by data-testid).
function offerItem(o) {
  const { res, deadline } = o;
  const c = res.conversation || {};
  const name = c.customer ? c.customer.name : `Conversation #${c.id}`;
  const li = document.createElement("li");
  li.className = "offer";
  li.dataset.testid = "offer";
  li.dataset.reservation = res.id;
  li.dataset.conversation = c.id;
  li.innerHTML = `<div class="offer-top"><button type="button" class="offer-name"></button>
    <span class="offer-countdown" data-testid="offer-countdown"></span></div>
    <p class="offer-meta"></p><p class="item-preview offer-preview" data-testid="conversation-preview"></p>
    <div class="offer-bar"><span></span></div>
    <div class="offer-actions">
      <button type="button" class="btn btn-primary btn-small" data-testid="offer-accept">Accept</button>
      <button type="button" class="btn btn-outline btn-small" data-testid="offer-decline">Decline</button>
    </div>`;
  li.querySelector(".offer-name").textContent = name;
  const bits = [res.queue ? res.queue.name : null, res.sticky ? "returning customer" : null, res.attempt > 1 ? `offer ${res.attempt}` : null];
  li.querySelector(".offer-meta").textContent = bits.filter(Boolean).join(" · ") + (res.note ? ` · Note: ${res.note}` : "");
  li.dataset.deadline = deadline;
  li.dataset.total = Math.max(1, (res.expires_in ?? 20) * 1000);
  updateCountdown(li);
  cardOffer.set(li, o);
  return li;
}

const cardOffer = new WeakMap(); // card -> the offer it was drawn from
let offerTimer = null;

function updateCountdown(li) {
  const left = Math.max(0, Number(li.dataset.deadline) - Date.now());
  li.querySelector(".offer-countdown").textContent = left ? `${Math.ceil(left / 1000)} s` : "expiring…";
  li.querySelector(".offer-bar span").style.width = `${(100 * left) / Number(li.dataset.total)}%`;
}

// A card is kept while its offer is unchanged (an Accept under the pointer is not swapped
// for a copy by an unrelated redraw); a new or changed offer gets a new card.
function drawOffers(cards) {
  const kept = new Map(Array.from(el.offers.children, (li) => [cardOffer.get(li), li]));
  const items = cards.map((o) => kept.get(o) || offerItem(o));
  if (items.length !== el.offers.children.length || items.some((li, i) => el.offers.children[i] !== li)) {
    el.offers.replaceChildren(...items);
  }
  for (const li of items) paintPreview(li);
  el.offersSection.hidden = items.length === 0;
  paintCount(el.offersCount, items.length, "incoming");
  if (items.length && !offerTimer) offerTimer = setInterval(() => Array.from(el.offers.children).forEach(updateCountdown), 1000);
  if (!items.length && offerTimer) {
    clearInterval(offerTimer);
    offerTimer = null;
  }
}

/** Draw the offer cards, Waiting and Mine from one arrangement, in one pass: a
 * conversation is never seen in two places (nor by a test's locator). Offers changing call
 * this directly; everything else through renderSoon. */
export function renderLists() {
  const now = Date.now();
  const sections = arrange(convs.values(), offers.values(), { waiting: isWaiting, mine: isMine });
  // Most urgent first: the longest past its reply target (then priority, then id).
  const urgency = (a, b) => sla(b, now).ratio - sla(a, now).ratio;
  const waiting = sections.waiting.sort((a, b) => (b.c.priority - a.c.priority) || urgency(a, b) || String(a.c.queued_at).localeCompare(String(b.c.queued_at)) || a.id - b.id);
  const activity = (r) => String(lastAt(r) || r.c.created_at);
  const mine = sections.mine.sort((a, b) => (isOpen(b) - isOpen(a)) || urgency(a, b) || activity(b).localeCompare(activity(a)) || b.id - a.id);
  // My load as the router counts it: assigned chats plus open offers, against my capacity
  // (before the items: Take is disabled when it is full).
  ui.load = mine.filter((r) => r.c.status === "assigned" && r.c.assignee && ui.presence && r.c.assignee.id === ui.presence.agent).length + sections.offers.length;
  const waitingItems = waiting.map(listItem);
  const mineItems = mine.map(listItem);
  if (ui.selectedId) paintTake(el.takeBtn, ui.selectedId);
  drawOffers(sections.offers);
  el.waiting.replaceChildren(...waitingItems);
  el.mine.replaceChildren(...mineItems);
  paintCount(el.waitingCount, waiting.length, "waiting");
  paintCount(el.mineCount, mine.filter(isOpen).length, "open");
  el.waitingEmpty.hidden = waiting.length > 0;
  el.mineEmpty.hidden = mine.length > 0;
  if (ui.presence && ui.presence.capacity) {
    el.load.hidden = false;
    el.load.textContent = `${ui.load}/${ui.presence.capacity} chats`;
    el.load.dataset.full = String(ui.load >= ui.presence.capacity);
  }
  const unread = mine.reduce((n, r) => n + unreadCount(r), 0);
  const offered = sections.offers.length ? `${sections.offers.length} incoming · ` : "";
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
