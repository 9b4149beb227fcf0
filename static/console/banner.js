// The reconnect banner: what the console is doing about a lost connection, and then what
// it caught up on (each conversation resumes from its last seq; notes and offers refetched).
import { el } from "./dom.js";

let resyncTimer = null;

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
  const n = (hello.conversations || []).length;
  el.resync.dataset.state = "resynced";
  el.resync.textContent = `Reconnected: caught up on ${n} conversation${n === 1 ? "" : "s"} and ${(hello.offers || []).length} offer(s).`;
  resyncTimer = setTimeout(() => (el.resync.hidden = true), 6000);
}

