// The widget's elements: a host element whose Shadow DOM holds the launcher and the panel,
// so the host page's CSS cannot reach them. Built when the module loads, attached by mount.
import { CSS, ICONS } from "./styles.js";

export const host = document.createElement("div");
host.setAttribute("data-testid", "parley-widget");
const root = host.attachShadow({ mode: "open" });
root.innerHTML =
  "<style>" + CSS + "</style>" +
  '<div class="pw">' +
  '<section class="panel" id="pw-panel" data-testid="parley-panel" role="dialog" aria-labelledby="pw-title" hidden>' +
  '<header><div class="avatar">' + ICONS.chat + "</div>" +
  '<div class="titles"><h2 id="pw-title"></h2><p data-testid="parley-status"></p></div>' +
  '<button type="button" class="icon" data-testid="parley-close" aria-label="Close chat">' + ICONS.close + "</button></header>" +
  '<div class="banner" data-testid="parley-banner" role="status" hidden></div>' +
  '<div class="queue" data-testid="parley-queue" role="status" hidden></div>' +
  '<div class="scroll">' +
  '<div class="empty" data-testid="parley-empty"><strong>Hi there!</strong>Ask us anything about products, orders or delivery. We usually reply in a few minutes.</div>' +
  '<ol data-testid="parley-messages" role="log" aria-live="polite" aria-label="Conversation"></ol>' +
  '<ol data-testid="parley-pending" aria-label="Messages being sent"></ol></div>' +
  '<div class="typing" data-testid="parley-typing" aria-live="polite" hidden></div>' +
  '<form><label class="sr-only" for="pw-input">Your message</label>' +
  '<textarea id="pw-input" data-testid="parley-input" rows="1" maxlength="4000" placeholder="Write a message…" enterkeyhint="send"></textarea>' +
  '<button type="submit" class="send" data-testid="parley-send" aria-label="Send message">' + ICONS.send + "</button></form>" +
  '<div class="brand">Powered by Parley</div></section>' +
  '<button type="button" class="launcher" data-testid="parley-launcher" aria-controls="pw-panel" aria-expanded="false" aria-label="Open chat">' +
  '<span class="chat-icon">' + ICONS.chat + '</span><span class="close-icon">' + ICONS.close + "</span>" +
  '<span class="badge" data-testid="parley-unread" hidden></span></button></div>';

const $ = (sel) => root.querySelector(sel);
export const el = {
  panel: $(".panel"),
  title: $("#pw-title"),
  status: $("[data-testid=parley-status]"),
  banner: $(".banner"),
  queue: $(".queue"),
  scroll: $(".scroll"),
  empty: $(".empty"),
  list: $("[data-testid=parley-messages]"),
  pending: $("[data-testid=parley-pending]"),
  typing: $(".typing"),
  form: $("form"),
  input: $("textarea"),
  send: $(".send"),
  launcher: $(".launcher"),
  badge: $(".badge"),
  close: $("[data-testid=parley-close]"),
};

export function nearBottom() {
  return el.scroll.scrollHeight - el.scroll.scrollTop - el.scroll.clientHeight < 80;
}

export function scrollDown() {
  el.scroll.scrollTop = el.scroll.scrollHeight;
}
