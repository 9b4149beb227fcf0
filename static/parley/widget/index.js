// The widget in its frame (/widget/frame/, on Parley's origin), which the one-tag loader
// (static/parley/widget.js) puts on the host page. start() reads the frame page's config,
// tells the host it is ready, and waits for the host's init (identity, open) to connect.
//   state.js (config, storage, state, texts), session.js (token, the shared client),
//   conversation.js (what frames change, sending), render.js (drawing), dom.js, styles.js.
import { attachButton } from "./attach.js";
import { afterArrival, startIfBot, submit, submitAttachments, typingInput } from "./conversation.js";
import { build, el, scrollDown, trapFocus } from "./dom.js";
import { emojiPicker } from "./emoji.js";
import { renderPrechat } from "./prechat.js";
import { render } from "./render.js";
import { identify, makeClient, visitorToken } from "./session.js";
import { client, configure, env, isOpenConversation, state, t, tab, toHost } from "./state.js";

function setOpen(open) {
  state.open = open;
  render.unread();
  if (open) {
    scrollDown();
    el.input.focus({ preventScroll: true });
    afterArrival(); // the customer now sees the messages: read receipt
    startIfBot(); // the bot greets when the chat opens
  }
}

function autosize() {
  el.input.style.height = "auto";
  el.input.style.height = Math.min(el.input.scrollHeight + 2, 120) + "px";
}

function closeByCustomer() {
  setOpen(false);
  toHost({ type: "close" });
}

function fromHost(ev) {
  if (ev.origin !== env.HOST || ev.source !== window.parent) return;
  const m = ev.data || {};
  if (m.type === "init") {
    if (client) return;
    identify(m.identity, false);
    mount(Boolean(m.open));
  } else if (m.type === "open" || m.type === "close") {
    if (client) setOpen(m.type === "open");
  } else if (m.type === "identify" && client) {
    identify(m.identity, true);
  }
}

function listen() {
  el.close.addEventListener("click", closeByCustomer);
  el.panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      closeByCustomer();
    } else trapFocus(ev);
  });
  // A bot question's buttons (render.js draws them; the list is redrawn, so caught here).
  el.list.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button[data-choice]");
    if (!btn) return;
    btn.closest(".choices").hidden = true;
    submit(btn.textContent, btn.dataset.choice);
    el.input.focus();
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
  attachButton(submitAttachments, () => (isOpenConversation() ? state.conv.id : null), visitorToken);
  emojiPicker(() => {
    autosize();
    tab.set("draft", el.input.value);
    typingInput(el.input.value);
  });

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" || !client) return; // not mounted yet
    if (!client.connected && !state.blocked) client.connect();
    else if (state.convId) client.resume(state.convId, true); // background tabs miss pushes
    afterArrival();
  });
  // The tabs share one socket (client/tabs.js), which outlives this tab: what this tab
  // started, it withdraws as it goes (registered before the transport's own pagehide, which
  // tells the hub this tab is gone).
  window.addEventListener("pagehide", () => {
    if (client) client.typingStop();
  });
  window.addEventListener("pageshow", (ev) => {
    // Back from the back/forward cache: this tab left the shared socket's hub at pagehide.
    if (ev.persisted) location.reload();
  });
  window.addEventListener("online", () => {
    if (client && !state.blocked) client.wake(); // connect now, with a fresh back-off
  });
  window.addEventListener("storage", (ev) => {
    // Another tab changed the outbox or saw a newer conversation.
    if (client && ev.key === env.KEY + ":outbox") render.pending();
  });
}

function mount(open) {
  makeClient();
  renderPrechat(() => {
    startIfBot();
    el.input.focus();
  });
  if (state.convId) client.track(state.convId, 0);
  render.all();
  render.connection();
  client.connect();
  setOpen(open);
}

export function start() {
  const node = document.getElementById("parley-config");
  configure(JSON.parse(node.textContent));
  build(env.TITLE);
  // Shown at once, but no client until the host's init arrives (mount): a message written
  // before it would have nothing to go through (the composer opens in render.connection).
  el.input.disabled = el.send.disabled = true;
  listen();
  window.addEventListener("message", fromHost);
  toHost({
    type: "ready",
    labels: { open: t("open_chat"), close: t("close_chat"), unread: t("unread") },
  });
  // Opened on its own (no host page): a chat page of its own.
  if (window.parent === window) mount(true);
}

start();
