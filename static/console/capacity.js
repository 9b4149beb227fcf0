// My chat slots. Taking a conversation from the waiting list needs a free one (the router's
// capacity against my load: assigned chats plus open offers, what the top bar shows), so
// Take is disabled while they are all in use instead of being refused after the click.
// A conversation offered to me already holds its slot: taking it stays allowed.
import { toast } from "./dom.js";
import { client, offers, ui } from "./state.js";

export const FULL = "All your chat slots are in use: resolve or transfer a chat to take another.";

export function atCapacity() {
  return Boolean(ui.presence && ui.presence.capacity && (ui.load || 0) >= ui.presence.capacity);
}

function offeredToMe(id) {
  for (const o of offers.values()) if (o.res.conversation && o.res.conversation.id === id) return true;
  return false;
}

export function cannotTake(id) {
  return atCapacity() && !offeredToMe(id);
}

/** A Take button: aria-disabled (not disabled) keeps it focusable, so its title says why. */
export function paintTake(button, id) {
  const full = cannotTake(id);
  button.setAttribute("aria-disabled", String(full));
  if (full) button.title = FULL;
  else button.removeAttribute("title");
}

export function take(id) {
  if (!id) return;
  if (cannotTake(id)) return toast(FULL);
  client.send({ type: "conversation.take", id: `t:${id}`, conversation: id }, true);
}

/** The server's refusal of my take, said to me (its message names me in the third person). */
export function takeRefused(f) {
  if (f.code === "already_taken") return toast("Someone else took this conversation first.");
  if (f.code === "at_capacity") return toast("You have no free chat slot: resolve or transfer a chat to take another.");
  toast(f.message);
}
