// Offers and presence: the router's offers to me (pushed, and listed again by every pong so
// a lost push or outcome heals within a heartbeat), counted down locally, and my status.
import { el } from "./dom.js";
import { notify } from "./notify.js";
import { upsert } from "./conversations.js";
import { paintPreview, renderSoon } from "./lists.js";
import { client, offers, ui } from "./state.js";

let offerTimer = null;

export function offerSet(res) {
  if (!offers.has(res.id)) {
    const c = res.conversation || {};
    notify("New chat offer", `${c.customer ? c.customer.name : "A customer"}${res.queue ? ` · ${res.queue.name}` : ""}`, `offer-${res.id}`);
  }
  // expires_in, not expires_at: the client's clock may drift from the server's.
  offers.set(res.id, { res, deadline: Date.now() + (res.expires_in ?? 20) * 1000 });
  if (res.conversation && res.conversation.customer && client.fresh(res.conversation)) upsert(res.conversation);
  renderOffers();
  renderSoon();
}

// pong lists my open offers: an offer whose push was lost shows up within a heartbeat (it
// would otherwise expire unseen and count as my miss), and one whose outcome was lost goes.
export function onOpenOffers(list) {
  const open = new Set(list.map((res) => res.id));
  let gone = false;
  for (const id of Array.from(offers.keys())) {
    if (!open.has(id)) gone = offers.delete(id);
  }
  for (const res of list) if (!offers.has(res.id)) offerSet(res);
  if (gone) renderOffers();
}

export function answerOffer(id, accept) {
  const frame = accept
    ? { type: "reservation.accept", id: `a:${id}`, reservation: id }
    : { type: "reservation.decline", id: `d:${id}`, reservation: id };
  client.send(frame, true);
}

export function renderOffers() {
  el.offersSection.hidden = offers.size === 0;
  el.offersCount.textContent = offers.size;
  el.offers.replaceChildren(...Array.from(offers.values()).map(offerItem));
  if (offers.size && !offerTimer) offerTimer = setInterval(tickOffers, 1000);
  if (!offers.size && offerTimer) {
    clearInterval(offerTimer);
    offerTimer = null;
  }
  renderSoon(); // the title counts offers
}

// Its buttons are handled by console.js (delegated on the list, by data-testid).
function offerItem({ res, deadline }) {
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
  paintPreview(li);
  li.dataset.deadline = deadline;
  li.dataset.total = Math.max(1, (res.expires_in ?? 20) * 1000);
  updateCountdown(li);
  return li;
}

function updateCountdown(li) {
  const left = Math.max(0, Number(li.dataset.deadline) - Date.now());
  li.querySelector(".offer-countdown").textContent = left ? `${Math.ceil(left / 1000)} s` : "expiring…";
  li.querySelector(".offer-bar span").style.width = `${(100 * left) / Number(li.dataset.total)}%`;
}

function tickOffers() {
  for (const li of el.offers.children) updateCountdown(li);
}

export function setPresence(p) {
  if (!p) return;
  ui.presence = p;
  el.presenceSelect.value = p.status === "away" && p.away_reason ? `away:${p.away_reason}` : p.status;
  el.presence.dataset.status = p.status;
  el.presence.dataset.awayReason = p.away_reason || "";
  renderSoon(); // my load against this capacity (lists.js)
  el.presenceMessage.hidden = !p.message;
  el.presenceMessage.textContent = p.message || "";
}
