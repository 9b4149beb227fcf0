// An action that waits before it is done, so that it can be undone (Resolve's "Undo"):
// the server has no way for an agent to take a resolve back (REST's reopen queues the
// conversation again for anyone, and the customer has already been told and asked to rate),
// so the console holds the frame for a few seconds instead of sending it at once.
// One at a time: starting another does the one waiting first (as a mail client's "Undo
// send"). Pure (timers injected): tests/js/undo.test.js.

export const UNDO_MS = 6000;

/**
 * Returns {start(key, run, ms), cancel(key), flush(), pending(key)}: `run` is called once,
 * `ms` after start unless cancelled; flush() runs the waiting one now (a page going away).
 */
export function deferrer({ setTimeout: set = globalThis.setTimeout, clearTimeout: clear = globalThis.clearTimeout } = {}) {
  let waiting = null; // {key, run, timer}
  const finish = () => {
    const w = waiting;
    waiting = null;
    if (w) {
      clear(w.timer);
      w.run();
    }
  };
  return {
    start(key, run, ms = UNDO_MS) {
      if (waiting && waiting.key === key) return false; // already on its way
      finish();
      waiting = { key, run, timer: set(finish, ms) };
      return true;
    },
    cancel(key) {
      if (!waiting || waiting.key !== key) return false;
      clear(waiting.timer);
      waiting = null;
      return true;
    },
    flush: finish,
    pending: (key) => Boolean(waiting && (key === undefined || waiting.key === key)),
  };
}
