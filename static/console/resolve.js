// Resolve, with an Undo: the "Resolved · Undo" toast holds the conversation.resolve frame for
// UNDO_MS before it goes out (undo.js says why: the protocol has no un-resolve for an
// agent). Meanwhile the chat shows "Resolving…" (transcript.js, lists.js read ui.resolving);
// Undo leaves it as it was, open and mine. Wired to the page by console.js.
import { el, toast } from "./dom.js";
import { renderSoon } from "./lists.js";
import { client, convs, isOpen, ui } from "./state.js";
import { renderChatHead } from "./transcript.js";
import { UNDO_MS, deferrer } from "./undo.js";

const later = deferrer();
let undoTimer = null;

export function resolve(id) {
  const r = convs.get(id);
  if (!r || !isOpen(r)) return;
  const started = later.start(id, () => {
    if (ui.resolving === id) ui.resolving = null;
    hideUndo(id);
    client.send({ type: "conversation.resolve", id: `x:${id}`, conversation: id }, true);
    redrawResolving();
  });
  if (!started) return;
  ui.resolving = id;
  redrawResolving();
  el.undoText.textContent = "Resolved";
  el.undoToast.title = r.c ? `${r.c.customer.name}: resolved` : "";
  el.undoToast.dataset.conversation = id;
  el.undoToast.hidden = false;
  clearTimeout(undoTimer);
  undoTimer = setTimeout(() => hideUndo(id), UNDO_MS);
}

export function undoResolve() {
  const id = Number(el.undoToast.dataset.conversation);
  if (!later.cancel(id)) return;
  if (ui.resolving === id) ui.resolving = null;
  hideUndo(id);
  redrawResolving();
  toast("Undone: the conversation stays open.");
  if (id === ui.selectedId && !el.form.hidden) el.input.focus();
}

function hideUndo(id) {
  if (Number(el.undoToast.dataset.conversation) !== id) return;
  clearTimeout(undoTimer);
  el.undoToast.hidden = true;
}

function redrawResolving() {
  renderChatHead();
  renderSoon();
}

/** The page goes away: a resolve waiting for its Undo goes out now (the agent meant it). */
export function flushResolve() {
  later.flush();
}
