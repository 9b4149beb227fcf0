// The context panel on a narrow screen. Below 1100 px there is no room for it beside the
// conversation (console.css), and hiding it left an agent on a laptop without the
// customer's email, page or past chats. The "Customer details" button in the conversation's
// head shows it as a drawer over the transcript, and the button, Escape, or the chat
// closing puts it away. Wide screens show the panel as a column and hide the button.
import { el } from "./dom.js";

const narrow = window.matchMedia("(max-width: 1100px)");

export const drawerOpen = () => el.context.dataset.drawer === "open";

// The drawer starts below the conversation's head, so that the button that opened it
// stays in sight and under the pointer to close it (the head's height varies: its buttons
// wrap on a narrow screen).
function place() {
  const top = Math.max(0, Math.round(el.chatHead.getBoundingClientRect().bottom));
  el.context.style.setProperty("--drawer-top", `${top}px`);
}

export function openDrawer() {
  place();
  el.context.dataset.drawer = "open";
  el.contextToggle.setAttribute("aria-expanded", "true");
  el.context.focus({ preventScroll: true }); // keyboard users go on reading where it opened
}

/** refocus: give the focus back to the button when it was in the drawer (or on it). */
export function closeDrawer(refocus = true) {
  if (!drawerOpen()) return;
  const within = el.context.contains(document.activeElement) || document.activeElement === el.contextToggle;
  delete el.context.dataset.drawer;
  el.contextToggle.setAttribute("aria-expanded", "false");
  if (refocus && within && !el.contextToggle.closest("[hidden]")) el.contextToggle.focus();
}

export function installDrawer() {
  el.contextToggle.addEventListener("click", () => (drawerOpen() ? closeDrawer() : openDrawer()));
  document.addEventListener("keydown", (ev) => {
    // A dialog over the drawer (a past conversation) takes its own Escape first.
    if (ev.key !== "Escape" || !drawerOpen() || ev.defaultPrevented || document.querySelector("dialog[open]")) return;
    if (!narrow.matches) return;
    ev.preventDefault();
    closeDrawer();
  });
  // Widened past 1100 px, the panel is a column again: no drawer state left behind.
  narrow.addEventListener("change", () => !narrow.matches && closeDrawer(false));
  window.addEventListener("resize", () => drawerOpen() && place());
  // At the narrowest widths the page itself scrolls (the panes stack): the head moves, so
  // the drawer's top follows it.
  window.addEventListener("scroll", () => drawerOpen() && place(), { passive: true });
  if (window.ResizeObserver) new ResizeObserver(() => drawerOpen() && place()).observe(el.chatHead);
}
