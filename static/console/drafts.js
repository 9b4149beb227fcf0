// Each conversation's unsent composer text and its mode (reply or note), in memory and in a
// Storage (the console gives it sessionStorage: it follows one tab across a reload, as the
// widget's draft does, and two tabs writing different drafts do not overwrite each other).
// No DOM here: composer.js shows a draft, tests/js/drafts.test.js covers this.

const EMPTY = Object.freeze({ text: "", mode: "reply" });

/** get(id) -> {text, mode}; set(id, {text, mode}). An empty composer keeps nothing, not
 * even its mode: a chat where no note is being written opens in Reply. */
export function draftStore(storage, prefix) {
  const memory = new Map();
  const key = (id) => `${prefix}${id}`;
  function read(id) {
    try {
      const raw = storage && storage.getItem(key(id));
      const d = raw ? JSON.parse(raw) : null;
      if (d && typeof d.text === "string") return { text: d.text, mode: d.mode === "note" ? "note" : "reply" };
    } catch {
      // unreadable or not ours: no draft
    }
    return EMPTY;
  }
  return {
    get(id) {
      if (!id) return EMPTY;
      if (!memory.has(id)) memory.set(id, read(id));
      return memory.get(id);
    },
    set(id, { text, mode }) {
      if (!id) return;
      const d = { text: text || "", mode: mode === "note" ? "note" : "reply" };
      const empty = !d.text;
      memory.set(id, empty ? EMPTY : d);
      try {
        if (empty) storage.removeItem(key(id));
        else storage.setItem(key(id), JSON.stringify(d));
      } catch {
        // storage full or refused (private mode): the draft still lives in memory
      }
    },
    drop(id) {
      this.set(id, EMPTY);
    },
  };
}
