// The top bar's state: the connection chip, the reconnect banner (what the console is doing about a lost connection,
// then what it caught up on) and the translation engine's real state.
import { el } from "./dom.js";
import { ME, client, ui } from "./state.js";

let resyncTimer = null;

/** The connection chip, from the client's status (or "blocked": refused for good). */
export function setConnection(stateName) {
  if (stateName === "offline" && client.everConnected) resyncBanner(null);
  const labels = {
    connecting: "Connecting…",
    online: "Connected", // the socket; "Online" is the agent's status, beside it
    offline: client.everConnected ? "Reconnecting…" : "Connecting…",
    blocked: ui.blocked || "Unavailable",
  };
  el.connection.dataset.state = stateName;
  el.connection.textContent = labels[stateName];
  el.connection.title = labels[stateName]; // the chip may be cut short on a narrow screen
}

/** hello: after a reconnect, what was caught up; null: the connection is lost. */
export function resyncBanner(hello) {
  clearTimeout(resyncTimer);
  if (!hello) {
    el.resync.dataset.state = "offline";
    el.resync.textContent = "Connection lost. Reconnecting… your messages wait in the outbox and go out when it is back.";
    el.resync.hidden = false;
    return;
  }
  if (el.resync.hidden) return; // the first connection: nothing to resync
  // Said as the agent counts: their own chats apart from the waiting room's (a probe read
  // "caught up on 3 conversations" with one chat open).
  const all = hello.conversations || [];
  const mine = all.filter((c) => c.assignee && c.assignee.id === ME).length;
  const offers = (hello.offers || []).length;
  const waiting = all.filter((c) => ["queued", "offered", "reopened"].includes(c.status)).length;
  const parts = [`${mine} chat${mine === 1 ? "" : "s"} of yours`, `${waiting} waiting`];
  if (offers) parts.push(`${offers} offer${offers === 1 ? "" : "s"}`);
  el.resync.dataset.state = "resynced";
  el.resync.textContent = `Reconnected and up to date: ${parts.join(", ")}.`;
  resyncTimer = setTimeout(() => (el.resync.hidden = true), 6000);
}

// The translation engine's real state (hello.translation): a console that only showed
// language badges would let an agent think the customer's text is being translated.
export function showTranslation(t) {
  const chip = document.querySelector("[data-testid=translation-state]");
  ui.translation = t || null;
  if (!chip || !t) return;
  chip.hidden = false;
  chip.dataset.state = t.state || (t.enabled ? "ready" : "off");
  const label = { ready: `Translation: ${t.engine}`, unavailable: "Translation unavailable", off: "Translation off" };
  chip.textContent = label[chip.dataset.state] || "Translation";
  chip.title = t.reason ? `${chip.textContent}: ${t.reason}` : chip.textContent; // the chip may be cut short
}
