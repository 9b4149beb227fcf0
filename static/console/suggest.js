// Autocomplete: as the agent types a reply, whole replies the site's agents often write
// that start with it (server: chat/suggest.py), best first for this queue and intent.
// Tab takes the first; a click takes any. Asked 150 ms after the last keystroke.
import { el } from "./dom.js";
import { client, ui } from "./state.js";

let timer = null;
let asked = "";
let shown = [];

export function onTyped() {
  clearTimeout(timer);
  const text = el.input.value;
  if (ui.composerMode !== "reply" || text.startsWith("/") || text.trim().length < 3 || !ui.selectedId) {
    return clear();
  }
  if (shown.length && !shown[0].toLowerCase().startsWith(text.trim().toLowerCase())) clear();
  timer = setTimeout(() => {
    asked = text;
    client.send({ type: "suggest", id: "sg", conversation: ui.selectedId, prefix: text }, false);
  }, 150);
}

export function onSuggestions(f) {
  if (f.prefix !== asked || f.prefix !== el.input.value || f.conversation !== ui.selectedId) return;
  shown = f.suggestions || [];
  el.suggestions.hidden = shown.length === 0;
  el.suggestions.replaceChildren(
    ...shown.map((text, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "suggestion";
      b.dataset.testid = "suggestion";
      b.dataset.index = i;
      b.textContent = text;
      b.title = i === 0 ? "Tab to use it" : "";
      return b;
    }),
  );
}

export function clear() {
  shown = [];
  el.suggestions.hidden = true;
  el.suggestions.replaceChildren();
}

export function take(i) {
  const text = shown[i];
  if (!text) return false;
  el.input.value = text;
  clear();
  el.input.focus();
  el.input.dispatchEvent(new Event("input"));
  return true;
}

/** Tab in the reply box takes the first suggestion; true if it did. */
export function suggestionKey(ev) {
  if (ev.key !== "Tab" || ev.shiftKey || !shown.length) return false;
  ev.preventDefault();
  return take(0);
}
