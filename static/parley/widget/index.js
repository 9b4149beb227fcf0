// The widget, once its loader (static/parley/widget.js, the one tag a site embeds) has
// imported it: start(tag) reads the tag, wires the page's events and connects.
//   state.js (config, storage, state), session.js (token, the shared client), conversation.js
//   (what frames change, sending), render.js (drawing), dom.js (Shadow DOM), styles.js.
import { afterArrival, submit, typingInput } from "./conversation.js";
import { el, host, scrollDown } from "./dom.js";
import { render } from "./render.js";
import { makeClient } from "./session.js";
import { client, configure, env, state, tab } from "./state.js";

function setOpen(open) {
  state.open = open;
  tab.set("open", open);
  el.panel.hidden = !open;
  el.launcher.setAttribute("aria-expanded", String(open));
  render.unread();
  if (open) {
    scrollDown();
    el.input.focus({ preventScroll: true });
    afterArrival(); // the customer now sees the messages: read receipt
  }
}

function autosize() {
  el.input.style.height = "auto";
  el.input.style.height = Math.min(el.input.scrollHeight + 2, 120) + "px";
}

function listen() {
  el.launcher.addEventListener("click", () => {
    setOpen(!state.open);
    if (!state.open) el.launcher.focus();
  });
  el.close.addEventListener("click", () => {
    setOpen(false);
    el.launcher.focus();
  });
  el.panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      setOpen(false);
      el.launcher.focus();
    }
  });
  // A bot question's buttons (render.js draws them; the list is redrawn, so caught here).
  el.list.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button[data-choice]");
    if (!btn) return;
    btn.closest(".choices").hidden = true;
    submit(btn.textContent, btn.dataset.choice);
  });
  el.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (submit(el.input.value)) {
      el.input.value = "";
      tab.set("draft", "");
      autosize();
    }
  });
  el.input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      el.form.requestSubmit();
    }
  });
  el.input.addEventListener("input", () => {
    autosize();
    tab.set("draft", el.input.value);
    typingInput(el.input.value);
  });
  el.input.value = tab.get("draft", "");

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" || !client) return; // not mounted yet
    if (!client.connected && !state.blocked) client.connect();
    else if (state.convId) client.resume(state.convId, true); // background tabs miss pushes
    afterArrival();
  });
  window.addEventListener("online", () => {
    if (client && !state.blocked) client.wake(); // connect now, with a fresh back-off
  });
  window.addEventListener("storage", (ev) => {
    // Another tab changed the outbox or saw a newer conversation.
    if (client && ev.key === env.KEY + ":outbox") render.pending();
  });
}

function mount() {
  makeClient();
  if (state.convId) client.track(state.convId, 0);
  document.body.appendChild(host);
  render.all();
  setOpen(state.open);
  render.connection();
  client.connect();
}

/** `tag`: the embedding script element (its data-* attributes); `src`: its absolute URL. */
export function start(tag, src) {
  configure(tag, src);
  el.title.textContent = env.TITLE;
  listen();
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
}
