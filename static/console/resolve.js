// Resolve, with an Undo: conversation.resolve goes out at once (the customer, integrations
// and the agent's lists see it now), and the "Resolved · Undo" toast offers to take it back
// for UNDO_MS: Undo (or `z`) sends conversation.unresolve and the server gives the chat
// back, open and mine, or says why not (undo.js words it). Wired to the page by console.js.
import { el, toast } from "./dom.js";
import { client, convs, isOpen, ui } from "./state.js";
import { undoRefusal, undoWindow } from "./undo.js";

const offer = undoWindow();

export function resolve(id) {
  const r = convs.get(id);
  if (!r || !isOpen(r)) return;
  if (!client.send({ type: "conversation.resolve", id: `x:${id}`, conversation: id }, true)) {
    return toast("Not connected: the conversation was not resolved.");
  }
  el.undoText.textContent = "Resolved";
  el.undoToast.title = r.c ? `${r.c.customer.name}: resolved` : "";
  el.undoToast.dataset.conversation = id;
  el.undoToast.hidden = false;
  offer.offer(id, hideUndo);
}

export function undoResolve() {
  const id = Number(el.undoToast.dataset.conversation);
  if (!offer.take(id)) return;
  hideUndo(id);
  if (!client.send({ type: "conversation.unresolve", id: `u:${id}`, conversation: id }, true)) {
    toast("Not connected: the conversation stays resolved.");
  }
}

/** The server's answers: an `error` to a resolve (ref `x:…`: nothing to undo) or to an
 * undo (ref `u:…`), or the `ack` of an undo. */
export function onResolveReply(f) {
  if (f.type === "error" && f.ref.startsWith("x:")) {
    const id = Number(f.ref.slice(2));
    offer.take(id);
    hideUndo(id);
    return toast(`Not resolved: ${f.message}`);
  }
  if (f.type === "error") return toast(undoRefusal(f));
  toast("Undone: the conversation is open and yours again.");
  if (f.conversation === ui.selectedId && !el.form.hidden) el.input.focus();
}

function hideUndo(id) {
  if (Number(el.undoToast.dataset.conversation) !== id) return;
  el.undoToast.hidden = true;
}
