// Offers and presence: the router's offers to me (pushed, and listed again by every pong so
// a lost push or outcome heals within a heartbeat; lists.js draws and counts them down),
// and my status.
import { el } from "./dom.js";
import { notify } from "./notify.js";
import { upsert } from "./conversations.js";
import { renderLists, renderSoon } from "./lists.js";
import { client, offers, ui } from "./state.js";

export function offerSet(res) {
  if (!offers.has(res.id)) {
    const c = res.conversation || {};
    notify("New chat offer", `${c.customer ? c.customer.name : "A customer"}${res.queue ? ` · ${res.queue.name}` : ""}`, `offer-${res.id}`);
  }
  // expires_in, not expires_at: the client's clock may drift from the server's.
  offers.set(res.id, { res, deadline: Date.now() + (res.expires_in ?? 20) * 1000 });
  if (res.conversation && res.conversation.customer && client.fresh(res.conversation)) upsert(res.conversation);
  renderOffers();
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

/** The offers changed: the card and the list it leaves (or joins) are redrawn now, together
 * (lists.js). Drawing the card at once and the Waiting list on the next frame listed the
 * conversation twice in between. */
export function renderOffers() {
  renderLists();
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
