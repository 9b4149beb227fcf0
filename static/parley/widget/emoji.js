// An emoji picker for the composer: a button that opens a small grid of common emoji; a
// pick goes in at the cursor. Keyboard: the grid's buttons take Tab and arrows, Escape
// closes it and gives the focus back to the composer.
import { el } from "./dom.js";
import { t } from "./state.js";
import { ICONS } from "./styles.js";

const EMOJI = ("😀 😂 🙂 😉 😍 🤔 😅 😢 😮 😡 👍 👎 👏 🙏 👌 💪 🎉 ❤️ 🔥 ✅ ❌ ⭐ 📦 🚚 🛒 💳 🧾 🔧 🔨 🪛 🧰 🪚 🎨 🖌️ 🌱 🌻 💡 🔌 🚿 🏠").split(" ");

export function emojiPicker(onInput) {
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "emoji-toggle";
  toggle.innerHTML = ICONS.smile; // the same face on every system (aria-label below)
  toggle.setAttribute("aria-label", t("emoji"));
  toggle.setAttribute("aria-expanded", "false");
  toggle.setAttribute("aria-controls", "pw-emoji");
  toggle.setAttribute("data-testid", "parley-emoji");
  const grid = document.createElement("div");
  grid.id = "pw-emoji";
  grid.className = "emoji-grid";
  grid.setAttribute("role", "group");
  grid.setAttribute("aria-label", t("emoji"));
  grid.setAttribute("data-testid", "parley-emoji-grid");
  grid.hidden = true;
  for (const e of EMOJI) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = e;
    b.setAttribute("aria-label", e);
    grid.appendChild(b);
  }
  const show = (open) => {
    grid.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) grid.querySelector("button").focus();
  };
  toggle.addEventListener("click", () => show(grid.hidden));
  grid.addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    const input = el.input;
    const at = input.selectionStart ?? input.value.length;
    input.value = input.value.slice(0, at) + b.textContent + input.value.slice(input.selectionEnd ?? at);
    show(false);
    input.focus();
    input.selectionStart = input.selectionEnd = at + b.textContent.length;
    onInput();
  });
  grid.addEventListener("keydown", (ev) => {
    const items = Array.from(grid.querySelectorAll("button"));
    const i = items.indexOf(document.activeElement);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 8, ArrowUp: -8 }[ev.key];
    if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopPropagation(); // the panel stays open
      show(false);
      el.input.focus();
    } else if (step && i >= 0) {
      ev.preventDefault();
      items[Math.min(items.length - 1, Math.max(0, i + step))].focus();
    }
  });
  el.form.insertBefore(toggle, el.input);
  el.form.parentNode.insertBefore(grid, el.form);
}
