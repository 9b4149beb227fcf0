// The console's address for the conversation on screen: /console/#/conversations/123.
// A fragment, not a path: the server serves the console at /console/ only, so a path such as
// /console/conversations/123 would need a Django route to survive a reload; a fragment never
// reaches the server, needs no server change and keeps the page's one URL for sign-in's
// `next`. No DOM here: navigate.js applies these to `history`, tests/js/console_url.test.js
// covers them.

const PATTERN = /^#\/conversations\/([1-9][0-9]{0,15})\/?$/;

/** The conversation an address's fragment names, or null (none, or not one of ours). */
export function parseRoute(hash) {
  const m = PATTERN.exec(String(hash || ""));
  if (!m) return null;
  const id = Number(m[1]);
  return Number.isSafeInteger(id) ? id : null;
}

/** The fragment for a conversation; "" for the console with nothing open. */
export function routeHash(id) {
  return id ? `#/conversations/${id}` : "";
}

/** The whole address (path and query kept, fragment replaced) for a conversation or none. */
export function routeUrl(loc, id) {
  return `${loc.pathname}${loc.search || ""}${routeHash(id)}`;
}

/** The conversation a history entry stands for after back/forward: the one its address
 * names, else the one recorded in its state (an entry whose address names none, e.g. the
 * console as it was loaded, where the console itself opened a chat). */
export function poppedId(hash, state) {
  const named = parseRoute(hash);
  if (named) return named;
  const id = state && Number(state.conversation);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** What to do to the history when the conversation on screen becomes `id` (null: none).
 * how: "push" the agent opened it (a click, j/k, a search result, Take, an offer): a new
 *      entry, so that Back returns to the previous one;
 *      "auto" the console chose it by itself (the first chat after loading, one handed over
 *      while none was open): the address stays as it was, only the entry's state learns
 *      which chat it shows, so that Back comes back to it;
 *      "pop"  back/forward already moved the address.
 * Nothing open any more (taken by someone else, left, not found): the entry is replaced by
 * the bare console address, so that neither Reload nor Back lands on a chat that is gone.
 * Returns {op: "push" | "replace", url, state} or null (leave the history alone). */
export function plan(loc, id, how) {
  if (how === "pop") return null;
  const current = parseRoute(loc.hash);
  if (!id) return current ? { op: "replace", url: routeUrl(loc, null), state: { conversation: null } } : null;
  if (how === "auto") return current ? null : { op: "replace", url: routeUrl(loc, null), state: { conversation: id } };
  if (current === id) return null;
  return { op: "push", url: routeUrl(loc, id), state: { conversation: id } };
}

/** The notice for an address that names a conversation this agent may not open (or that
 * does not exist: the server gives both the same answer, so neither do we). */
export function notOpenText(id) {
  return `Conversation ${id} is not open to you: it may be with another agent, or the link may be wrong.`;
}
