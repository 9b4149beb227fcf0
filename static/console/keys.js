// Keyboard shortcuts (single keys, ignored while typing in a field; Escape leaves the
// reply box): a accept the first offer, j / k next / previous chat, r reply box, n internal
// note, c canned replies, t transfer, e resolve, z undo the resolve, ? this list.
import { el } from "./dom.js";
import { ui } from "./state.js";

export const SHORTCUTS = [
  ["a", "Accept the first incoming offer"],
  ["j", "Next chat"],
  ["k", "Previous chat"],
  ["r", "Focus the reply box"],
  ["n", "Write an internal note"],
  ["c", "Canned replies (type to filter)"],
  ["t", "Transfer the open chat"],
  ["e", "Resolve the open chat"],
  ["z", "Undo the resolve (while its toast shows)"],
  ["Esc", "Leave the reply box, close a dialog"],
  ["?", "Show this list"],
];

function typing(target) {
  return target && (target.closest("input, textarea, select, [contenteditable=true]") || target.isContentEditable);
}

/** actions: {accept, next, previous, reply, note, canned, transfer, resolve, undo}. */
export function installShortcuts(actions) {
  el.helpList.replaceChildren(
    ...SHORTCUTS.map(([key, what]) => {
      const li = document.createElement("li");
      const k = document.createElement("kbd");
      k.textContent = key;
      li.append(k, ` ${what}`);
      return li;
    }),
  );
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape" && ev.target === el.input) {
      el.input.blur();
      return;
    }
    if (typing(ev.target) || document.querySelector("dialog[open]")) return;
    const run = {
      a: actions.accept,
      j: actions.next,
      k: actions.previous,
      r: actions.reply,
      n: actions.note,
      c: actions.canned,
      t: actions.transfer,
      e: actions.resolve,
      z: actions.undo || (() => {}),
      "?": () => el.helpDialog.showModal(),
    }[ev.key];
    if (!run) return;
    ev.preventDefault();
    run();
  });
}

/** Select the next (delta 1) or previous (-1) chat in the lists' order. */
export function step(delta, select) {
  const items = Array.from(document.querySelectorAll("[data-testid=mine-list] li[data-conversation], [data-testid=waiting-list] li[data-conversation]"));
  if (!items.length) return;
  const ids = items.map((li) => Number(li.dataset.conversation));
  const at = ids.indexOf(ui.selectedId);
  select(ids[(at + delta + ids.length) % ids.length] ?? ids[0]);
}
