// The address bar follows the conversation on screen, and the conversation follows the
// address: a reload or a link opened in a new tab shows the chat the address names (once
// the hello has given the console its lists), Back and Forward move between the chats
// opened in this tab. route.js decides, this module applies it to `history` and says so
// when the address names a chat this agent may not open.
import { fetchContext } from "./context.js";
import { el } from "./dom.js";
import { notOpenText, parseRoute, plan, poppedId } from "./route.js";
import { client, convs, rec, setSelected, ui } from "./state.js";

// A chat the address named that has not been shown yet. Should the server refuse it, or
// the console drop it as not mine, the agent is told why instead of landing on an empty
// pane without a word.
let pending = null;

/** On load, before the first render: the address's chat wins over the tab's last one
 * (sessionStorage), so a link pasted into a tab opens what it names. helloConversations
 * fetches a selected chat the snapshot does not list. */
export function routeFromAddress() {
  const id = parseRoute(location.hash);
  if (!id) return;
  setSelected(id);
  pending = id;
}

/** select() calls this as the chat on screen becomes `id` (null: none); how: route.js. */
export function routeTo(id, how) {
  if (id !== pending) pending = null;
  // The agent opening a chat clears the notice; the console's own pick does not (it
  // would hide why the link opened nothing).
  if (id && how !== "auto") el.routeNotice.hidden = true;
  const step = plan(location, id, how);
  if (!step) return;
  try {
    if (step.op === "push") history.pushState(step.state, "", step.url);
    else history.replaceState(step.state, "", step.url);
  } catch {
    // a sandboxed or opaque-origin page may refuse: the console works without its address
  }
}

/** The chat on screen arrived and stays: the address was good. */
export function routeShown(id) {
  if (id === pending) pending = null;
}

/** Say that a chat cannot be shown (the server's not_found: missing or not visible). */
export function sayNotOpen(id) {
  pending = null;
  el.routeNotice.textContent = notOpenText(id);
  el.routeNotice.hidden = false;
}

/** The console is dropping `id` as not mine: true if the address had asked for it (the
 * notice says so then, rather than a toast about someone taking it). */
export function routeRefused(id) {
  if (!id || id !== pending) return false;
  sayNotOpen(id);
  return true;
}

/** A burst the server refused (rate_limited: dropped unread; several tabs loading at once
 * on one shared socket do it) is resumed by the client only for the chats it holds messages
 * of. The chat on screen that has not loaded yet (the one a link named) would stay
 * "Loading…" for good: it is asked for again, once the client's own retry is out. */
export function retryUnloaded() {
  setTimeout(() => {
    const r = convs.get(ui.selectedId);
    if (!r || r.c) return;
    client.resume(r.id, true);
    fetchContext(r.id);
  }, 1000);
}

/** Back/Forward (and a fragment typed in the address bar): show the chat the entry names,
 * fetched in full if the console does not hold it (a closed one of mine, say). */
export function installRoute(select) {
  window.addEventListener("popstate", (ev) => {
    const id = poppedId(location.hash, ev.state);
    if (id === ui.selectedId) return;
    if (id && !convs.has(id)) {
      const r = rec(id);
      r.full = true;
      client.resume(id, true);
      pending = id;
    }
    select(id, "pop");
  });
}

/** The notice says a link opened nothing: the console does not open a chat by itself. */
export function noticeShown() {
  return !el.routeNotice.hidden;
}
