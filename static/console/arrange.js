// Where the sidebar lists each conversation: as an offer card, under Waiting or under Mine,
// and never in two of them. Pure (records and offers in, lists out): lists.js draws the
// three from one arrangement in one pass (tests/js/arrange.test.js).

/** The conversation id an offer is for (an offer without its conversation: undefined). */
export const offerConversation = (o) => (o && o.res && o.res.conversation ? o.res.conversation.id : undefined);

/**
 * records: conversation records ({id, c}); offers: {res, deadline} in the order received;
 * is: {waiting(r), mine(r)} (state.js). Returns {offers, waiting, mine}, waiting and mine
 * unsorted. One card per conversation, the newest reservation's: an expiry whose push was
 * lost leaves the old one in the map until the next pong. A conversation already mine (the
 * accept's conversation.updated came before its ack) is under Mine, its card gone.
 */
export function arrange(records, offers, is) {
  const held = new Map();
  for (const r of records) if (r.c) held.set(r.id, r);
  const newest = new Map(); // conversation id -> its newest offer
  const cards = [];
  for (const o of offers) {
    const id = offerConversation(o);
    const r = held.get(id);
    if (r && is.mine(r) && !is.waiting(r)) continue;
    if (id === undefined) {
      cards.push(o);
      continue;
    }
    const seen = newest.get(id);
    if (!seen || o.res.id > seen.res.id) newest.set(id, o);
    if (!seen) cards.push(o);
  }
  const shown = cards.map((o) => (offerConversation(o) === undefined ? o : newest.get(offerConversation(o))));
  const waiting = [];
  const mine = [];
  for (const r of held.values()) {
    if (is.waiting(r)) {
      if (!newest.has(r.id)) waiting.push(r);
    } else if (is.mine(r)) mine.push(r);
  }
  return { offers: shown, waiting, mine };
}
