// The widget's elements, in the frame's own document (the frame page, on Parley's origin):
// the host page's CSS and scripts cannot reach them. Built by build() once the texts are known.
import { t } from "./state.js";
import { CSS, ICONS } from "./styles.js";

export const el = {};

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

export function build(title) {
  const style = document.createElement("style");
  style.textContent = CSS;
  document.head.appendChild(style);
  const root = document.createElement("div");
  root.innerHTML =
    '<section class="panel" id="pw-panel" data-testid="parley-panel" role="dialog" aria-modal="true" aria-labelledby="pw-title">' +
    '<header><div class="avatar">' + ICONS.chat + "</div>" +
    '<div class="titles"><h1 id="pw-title">' + esc(title) + '</h1><p data-testid="parley-status"></p></div>' +
    '<button type="button" class="icon" data-testid="parley-close" aria-label="' + esc(t("close_chat")) + '">' + ICONS.close + "</button></header>" +
    '<div class="banner" data-testid="parley-banner" role="status" hidden></div>' +
    '<div class="queue" data-testid="parley-queue" role="status" hidden></div>' +
    '<div class="scroll" data-testid="parley-scroll">' +
    '<div class="empty" data-testid="parley-empty"><strong>' + esc(t("empty_title")) + "</strong>" + esc(t("empty_body")) + "</div>" +
    '<ol data-testid="parley-messages" aria-label="' + esc(t("conversation")) + '"></ol>' +
    '<ol data-testid="parley-pending" aria-label="' + esc(t("pending")) + '"></ol>' +
    '<div class="after" data-testid="parley-after"></div></div>' +
    '<div class="typing" data-testid="parley-typing" hidden></div>' +
    '<form class="composer"><label class="sr-only" for="pw-input">' + esc(t("your_message")) + "</label>" +
    '<textarea id="pw-input" data-testid="parley-input" rows="1" maxlength="4000" dir="auto" placeholder="' + esc(t("placeholder")) + '" enterkeyhint="send"></textarea>' +
    '<button type="submit" class="send" data-testid="parley-send" aria-label="' + esc(t("send")) + '">' + ICONS.send + "</button></form>" +
    '<div class="brand">' + esc(t("powered")) + "</div>" +
    // Read out by screen readers: one line per new message (the log itself is not live, so
    // a history load or a redraw is not read out again).
    '<div class="sr-only" data-testid="parley-live" aria-live="polite" aria-atomic="false"></div></section>';
  document.body.appendChild(root.firstChild);
  const $ = (sel) => document.querySelector(sel);
  Object.assign(el, {
    panel: $(".panel"),
    title: $("#pw-title"),
    status: $("[data-testid=parley-status]"),
    banner: $(".banner"),
    queue: $(".queue"),
    scroll: $(".scroll"),
    empty: $(".empty"),
    list: $("[data-testid=parley-messages]"),
    pending: $("[data-testid=parley-pending]"),
    after: $("[data-testid=parley-after]"),
    typing: $(".typing"),
    form: $("form.composer"),
    input: $("textarea"),
    send: $(".send"),
    close: $("[data-testid=parley-close]"),
    live: $("[data-testid=parley-live]"),
  });
  // Whatever changes the height above or below the messages (a queue banner, the typing
  // line, a growing composer), a reader at the bottom stays at the bottom.
  el.scroll.addEventListener("scroll", () => {
    stuck = nearBottom();
  });
  new ResizeObserver(() => {
    if (stuck) scrollDown();
  }).observe(el.scroll);
}

let stuck = true;

export function nearBottom() {
  return el.scroll.scrollHeight - el.scroll.scrollTop - el.scroll.clientHeight < 80;
}

export function scrollDown() {
  el.scroll.scrollTop = el.scroll.scrollHeight;
  stuck = true;
}

/** Announce a line to screen readers (the live region). */
export function announce(text) {
  const line = document.createElement("p");
  line.textContent = text;
  el.live.appendChild(line);
  while (el.live.childNodes.length > 3) el.live.firstChild.remove();
}

/** Keep Tab and Shift+Tab inside the open panel. */
export function trapFocus(ev) {
  if (ev.key !== "Tab") return;
  const items = Array.from(
    el.panel.querySelectorAll("button:not([disabled]), textarea:not([disabled]), input:not([disabled]), [href], [tabindex]:not([tabindex='-1'])"),
  ).filter((x) => x.offsetParent !== null);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (ev.shiftKey && document.activeElement === first) {
    ev.preventDefault();
    last.focus();
  } else if (!ev.shiftKey && document.activeElement === last) {
    ev.preventDefault();
    first.focus();
  }
}
