// Internal notes: agents only (docs/protocol.md, "Internal notes"). They have no seq, so the
// protocol client's resume does not cover them: the console fetches a conversation's notes
// when it loads it in full and again after every hello (a reconnect), and note.new adds
// the rest. Shown in the transcript among the messages, by time, in their own colour.
import { uuid } from "../parley/client/index.js";
import { toast } from "./dom.js";
import { client, convs, ui } from "./state.js";

let round = 0; // one fetch per conversation per hello

export function newRound() {
  round += 1;
}

/** Ask for the notes after the last one held (all of them the first time). */
export function fetchNotes(r) {
  if (!r || !r.full || r.noteRound === round) return;
  r.noteRound = round;
  client.send({ type: "notes.fetch", id: `nf:${r.id}`, conversation: r.id, after: r.noteTop || 0 }, false);
}

/** A note from note.new, note.accepted or notes.batch; true if it was new. */
function keep(note) {
  const r = convs.get(note.conversation);
  if (!r || r.notes.some((n) => n.id === note.id)) return false;
  r.notes.push(note);
  r.notes.sort((a, b) => a.id - b.id);
  r.noteTop = Math.max(r.noteTop || 0, note.id);
  return r;
}

export function onNote(note, rerender) {
  const r = keep(note);
  if (!r || r.id !== ui.selectedId) return;
  rerender(r);
}

export function onNotesBatch(f, rerender) {
  let changed = null;
  for (const note of f.notes || []) changed = keep(note) || changed;
  const r = convs.get(f.conversation);
  if (f.has_more && r) fetchNotes(r);
  if (changed && changed.id === ui.selectedId) rerender(changed);
}

/** Send a note; false if the socket is not open (the text stays in the composer). */
export function sendNote(r, body) {
  const text = body.trim();
  if (!r || !text) return false;
  const sent = client.send(
    { type: "note.add", id: `n:${r.id}`, conversation: r.id, body: text, client_note_id: `n-${uuid()}` },
    true,
  );
  if (!sent) toast("Not connected: the note was not saved. Try again in a moment.");
  return sent;
}

/** A note in the transcript: textContent only (a note is agents' free text). */
export function noteNode(note) {
  const li = document.createElement("li");
  li.className = `note note-${note.kind}`;
  li.dataset.testid = "transcript-note";
  li.dataset.kind = "note";
  li.dataset.note = note.id;
  const head = document.createElement("div");
  head.className = "note-head";
  const label = { handoff: "Bot hand-off", transfer: "Transfer note", note: "Internal note" }[note.kind] || "Note";
  head.textContent = `${label} · ${note.author_name || "Agent"} · only agents see this`;
  const body = document.createElement("div");
  body.className = "note-body";
  body.dataset.testid = "transcript-note-body";
  body.textContent = note.body;
  li.append(head, body);
  return li;
}

/** Messages and notes in one list, by time (a note has no seq). */
export function merged(r) {
  const out = r.msgs.map((m) => ({ at: String(m.created_at || ""), m }));
  for (const n of r.notes) out.push({ at: String(n.created_at || ""), n });
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
