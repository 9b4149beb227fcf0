// The composer belongs to the conversation on screen: each chat keeps its own draft and
// its Reply/Internal note mode (drafts.js). One shared textarea carried the text typed for
// one customer into the next chat, where Enter sent it to the wrong person, and a note
// mode chosen in one chat stayed on in the next.
import { paintAttach, restage } from "./attachments.js";
import { closePicker } from "./canned.js";
import { el } from "./dom.js";
import { draftStore } from "./drafts.js";
import { ME, ui } from "./state.js";
import { clear as clearSuggestions } from "./suggest.js";

const store = draftStore(globalThis.sessionStorage, `parley:console:${location.host}:${ME}:draft:`);
let holder = null; // the conversation whose draft the composer holds

export function setComposerMode(mode) {
  ui.composerMode = mode;
  el.form.dataset.mode = mode;
  for (const tab of el.modeTabs) tab.setAttribute("aria-pressed", String(tab.dataset.mode === mode));
  el.send.textContent = mode === "note" ? "Save note" : "Send";
  el.input.placeholder =
    mode === "note"
      ? "Write an internal note… only agents see it (Enter to save)"
      : "Write a reply… (Enter to send, Shift+Enter for a new line)";
  paintAttach(); // a note carries no files
  saveDraft();
}

/** Keep what the composer holds as its conversation's draft (after every change). */
export function saveDraft() {
  if (holder) store.set(holder, { text: el.input.value, mode: ui.composerMode });
}

/** The conversation on screen changed: keep the old one's draft, show the new one's (an
 * empty reply for a conversation without one). */
export function showDraft(id) {
  if (id === holder) return;
  saveDraft();
  holder = null; // nothing is saved while the composer is being refilled
  closePicker();
  clearSuggestions();
  const d = store.get(id);
  el.input.value = d.text;
  setComposerMode(d.mode);
  holder = id || null;
}

/** A conversation that left this console (taken by someone else): nothing to come back to. */
export function dropDraft(id) {
  if (id === holder) return;
  store.drop(id);
}

/** A send the server refused for good (too many files, a blocked word): its text and files
 * go back into the composer to fix and send again, when that chat is on screen with an
 * empty reply; else false (the transcript keeps it as "Not sent"). */
export function giveBack(entry) {
  if (entry.conversation !== holder || ui.composerMode !== "reply" || el.input.value.trim()) return false;
  el.input.value = entry.body || "";
  saveDraft();
  restage(entry.conversation, entry.attachments);
  return true;
}
