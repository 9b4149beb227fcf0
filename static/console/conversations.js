// The conversation records: what a snapshot, a message, a receipt or a typing frame changes,
// which conversations are loaded in full (mine and the one on screen) or as a preview
// (waiting ones), and which one is selected. Seq order and gaps are the client's
// (client/resume.js): it hands these functions each message once, in order.
import { dropDraft, showDraft } from "./composer.js";
import { el, toast, translationOf } from "./dom.js";
import { notify } from "./notify.js";
import { renderSoon } from "./lists.js";
import { contextStale, fetchContext, renderContext } from "./context.js";
import { noticeShown, routeRefused, routeShown, routeTo } from "./navigate.js";
import { fetchNotes, newRound } from "./notes.js";
import { awaitingFromMessage, awaitingFromSnapshot } from "./sla.js";
import { ME, MY_NAME, client, convs, forget, isMine, isOpen, isWaiting, rec, setSelected, ui } from "./state.js";
import { appendToTranscript, messageNode, renderChat, renderChatHead, renderTicks, renderTyping } from "./transcript.js";

/** Store a conversation payload; drop it if it is neither waiting nor mine any more. */
export function upsert(c) {
  const r = rec(c.id);
  const wasMine = isMine(r);
  const oldStatus = r.c && r.c.status;
  const oldAssignee = r.c && r.c.assignee ? r.c.assignee.id : null;
  r.c = c;
  awaitingFromSnapshot(r, c);
  if (r.c && (oldStatus !== c.status || oldAssignee !== (c.assignee ? c.assignee.id : null)) && oldStatus) contextStale(r.id);
  client.noteTop(c.id, c.last_seq);
  const agents = (c.participants || []).filter((p) => p.role === "agent" && p.active);
  const mine = agents.find((p) => p.name === MY_NAME) || (agents.length === 1 && isMine(r) ? agents[0] : null);
  if (mine) {
    r.myPid = mine.id;
    client.cursors(r.id, mine.delivered_seq, mine.read_seq);
  }
  for (const p of c.participants || []) {
    if (p.role === "customer") {
      r.cust.delivered = Math.max(r.cust.delivered, p.delivered_seq);
      r.cust.read = Math.max(r.cust.read, p.read_seq);
    }
  }
  if (!isMine(r) && !isWaiting(r)) {
    forget(r.id);
    if (r.id === ui.selectedId) {
      const who = c.assignee ? c.assignee.name : null;
      // "is now with": taken, transferred, or opened from search after it moved on.
      if (!routeRefused(r.id)) toast(who ? `${c.customer.name}'s conversation is now with ${who}.` : `${c.customer.name}'s conversation left the queue.`);
      select(null);
    }
    dropDraft(r.id);
    return;
  }
  if (isMine(r) && !wasMine && r.id !== ui.selectedId && !ui.selectedId && !noticeShown()) select(r.id, "auto");
  ensureLoaded(r);
  if (r.id === ui.selectedId) {
    routeShown(r.id);
    renderChatHead();
    if (isMine(r) && !wasMine) el.input.focus(); // just taken: ready to reply
  }
}

/** Mine and the selected one get their whole transcript; waiting ones a short preview. */
export function ensureLoaded(r) {
  if (!r.c) return;
  if ((isMine(r) || r.id === ui.selectedId) && !r.full) {
    r.full = true;
    r.base = 0;
    r.msgs = [];
    client.track(r.id, 0);
    client.resume(r.id, true);
    fetchNotes(r);
    if (r.id === ui.selectedId) renderChat();
  } else if (!r.full && r.s.lastSeq === 0 && r.base === 0 && !r.s.resumeRef && r.c.last_seq) {
    r.base = Math.max(0, (r.c.last_seq || 0) - 3);
    client.track(r.id, r.base);
    client.resume(r.id, true);
  }
}

/** The hello's snapshot: what I hold that it does not list is refreshed or forgotten. */
export function helloConversations(list) {
  newRound();
  const seen = new Set();
  for (const c of list) {
    seen.add(c.id);
    upsert(c);
  }
  for (const r of Array.from(convs.values())) {
    if (seen.has(r.id)) continue; // the client catches it up from the snapshot's last_seq
    if (isMine(r) || r.id === ui.selectedId || !r.c) client.resume(r.id, true); // refresh its state
    else forget(r.id); // left the waiting room while we were away
  }
  if (ui.selectedId && !convs.has(ui.selectedId)) {
    const r = rec(ui.selectedId); // selected before a reload; not in the snapshot (closed?)
    r.full = true;
    client.resume(r.id, true);
  }
  // Notes have no seq to resume by: whatever came while the socket was away is fetched.
  for (const r of convs.values()) fetchNotes(r);
  if (ui.selectedId) fetchContext(ui.selectedId);
}

/** Show conversation `id` (null: none). how: "push" (the agent opened it), "auto" (the
 * console did) or "pop" (Back/Forward): how the address follows (route.js). */
export function select(id, how = "push") {
  if (id !== ui.selectedId) client.typingStop();
  routeTo(id, how);
  setSelected(id);
  showDraft(id);
  if (id && convs.has(id)) {
    ensureLoaded(convs.get(id));
    client.arrived(id); // it is on screen now: read receipt
  }
  if (id) fetchContext(id);
  renderContext();
  renderChat();
  renderSoon();
}

export function applyMessage(r, m) {
  // In order and once (client.js deduplicates and resumes gaps).
  r.msgs.push(m);
  awaitingFromMessage(r, m);
  // A customer's new words in my chat (a resume on load brings old ones: not those).
  if (isMine(r) && m.sender.role === "customer" && m.kind === "text" && Date.now() - Date.parse(m.created_at) < 60000) {
    notify(`${m.sender.name} wrote`, (translationOf(m) || m.body).slice(0, 140), `conversation-${r.id}`);
  }
  // The server moves a sender's cursors to its own message without a receipt.updated.
  if (m.sender.role === "customer" && r.cust.read < m.seq) {
    r.cust.read = r.cust.delivered = m.seq;
    if (r.id === ui.selectedId) renderTicks(r);
  }
  if (r.typing && m.sender.participant === r.typing.participant) stopTyping(r);
  if (r.id === ui.selectedId) appendToTranscript(r, m);
}

export function onUpdated(r, m) {
  // The language pipeline changed a delivered message (translation, moderation): replace it.
  const i = r.msgs.findIndex((x) => x.seq === m.seq);
  if (i < 0) return;
  r.msgs[i] = m;
  if (r.id === ui.selectedId) {
    const old = el.transcript.querySelector(`li[data-seq="${m.seq}"]`);
    if (old) old.replaceWith(messageNode(r, m, null, r.msgs[i - 1]));
  }
  renderSoon();
}

export function onReceipt(f) {
  const r = convs.get(f.conversation);
  if (!r) return;
  if (f.role === "customer") {
    r.cust.delivered = Math.max(r.cust.delivered, f.delivered_seq);
    r.cust.read = Math.max(r.cust.read, f.read_seq);
    if (r.id === ui.selectedId) renderTicks(r);
  } else if (f.participant === r.myPid) {
    client.cursors(r.id, f.delivered_seq, f.read_seq); // read in another tab
    renderSoon();
  }
}

export function onTransferred(f) {
  const c = f.conversation || {};
  const name = c.customer ? c.customer.name : `#${c.id}`;
  if (f.to_agent === ME) toast(`${f.by} passed you the conversation with ${name}${f.note ? `: “${f.note}”` : "."}`);
  else if (f.from_agent === ME) toast(`The conversation with ${name} was transferred.`);
  if (c.customer && client.fresh(c)) upsert(c);
  renderSoon();
}

// Typing: the client paces my frames (typingInput); these show the customer's.
export function typingInput(text) {
  if (ui.composerMode === "note") return; // a note is not for the customer: no "typing…"
  const r = convs.get(ui.selectedId);
  if (!r || !isMine(r) || !isOpen(r)) return;
  client.typing(r.id, text);
}

export function onTyping(f) {
  const r = convs.get(f.conversation);
  if (!r || f.participant === r.myPid || (f.role === "agent" && f.name === MY_NAME)) return;
  if (f.state === "stop") return stopTyping(r);
  if (r.typing) clearTimeout(r.typing.timer);
  r.typing = { name: f.name, participant: f.participant, timer: setTimeout(() => stopTyping(r), 6000) };
  renderTyping();
  renderSoon();
}

function stopTyping(r) {
  if (!r.typing) return;
  clearTimeout(r.typing.timer);
  r.typing = null;
  renderTyping();
  renderSoon();
}
