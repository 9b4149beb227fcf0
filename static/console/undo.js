// Resolve's "Undo": the resolve goes to the server at once, and Undo takes it back there
// (conversation.unresolve, docs/protocol.md). What stays here is the console's side of it:
// which resolve the toast offers to undo, for how long (UNDO_MS, shorter than the server's
// RESOLVE_UNDO_SECONDS, so an Undo clicked in time is not refused as late), and what the
// server's refusals mean to the agent. One at a time: a newer resolve replaces the offer.
// Pure (timers injected): tests/js/undo.test.js.

export const UNDO_MS = 6000;

/**
 * Returns {offer(key, onEnd, ms), take(key), current()}: offer() makes `key` undoable for
 * `ms` and calls onEnd(key) when that time is over (not when taken or replaced); take()
 * returns true once, while `key` is offered, and ends the offer; current() the key offered.
 */
export function undoWindow({ setTimeout: set = globalThis.setTimeout, clearTimeout: clear = globalThis.clearTimeout } = {}) {
  let offered = null; // {key, timer}
  const end = () => {
    if (offered) clear(offered.timer);
    offered = null;
  };
  return {
    offer(key, onEnd = () => {}, ms = UNDO_MS) {
      end();
      const mine = {
        key,
        timer: set(() => {
          if (offered !== mine) return;
          offered = null;
          onEnd(key);
        }, ms),
      };
      offered = mine;
    },
    take(key) {
      if (!offered || offered.key !== key) return false;
      end();
      return true;
    },
    current: () => (offered ? offered.key : null),
  };
}

const REASONS = {
  undo_expired: "it is too late to undo",
  not_resolved: "the conversation is not resolved any more (the customer may have written)",
  not_resolver: "someone else resolved it",
  customer_rated: "the customer has already rated it",
  not_assigned: "it was not assigned when it was resolved",
};

/** The toast for a refused undo (an `error` frame answering conversation.unresolve). */
export function undoRefusal(error) {
  const why = REASONS[error && error.code] || String((error && error.message) || "the server refused").replace(/\.$/, "");
  return `Could not undo: ${why}.`;
}
