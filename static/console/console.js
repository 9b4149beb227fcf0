// Parley agent console: the waiting room, my chats, one transcript at a time.
// Follows docs/protocol.md through the shared protocol client (static/parley/client/, the
// widget's too): the database is the truth, pushes are hints, gaps are resumed by seq, and
// every message goes through an outbox until the server accepts it. This module wires the
// client to the console's parts and the page's events:
//   state.js (records, selection), conversations.js (what frames change), offers.js (offers,
//   presence), lists.js (sidebar), transcript.js (chat pane), dom.js (elements, toast).
import { createClient, storedOutbox } from "../parley/client/index.js";
import { tabSocket } from "../parley/client/tabs.js";
import { resyncBanner, setConnection, showTranslation } from "./banner.js";
import { installShortcuts, step } from "./keys.js";
import { onResults, onSearchInput, openResult } from "./search.js";
import { clear as clearSuggestions, onSuggestions, onTyped, suggestionKey, take as takeSuggestion } from "./suggest.js";
import { askOnce, notify } from "./notify.js";
import { customerSilence } from "./sla.js";
import {
  applyMessage,
  helloConversations,
  onReceipt,
  onTransferred,
  onTyping,
  onUpdated,
  select,
  typingInput,
  upsert,
} from "./conversations.js";
import { STILL_UPLOADING, installAttachments, stagedFor, takeStaged, uploadingFor } from "./attachments.js";
import { installDrawer } from "./drawer.js";
import { installRoute, retryUnloaded, routeFromAddress, sayNotOpen } from "./navigate.js";
import { el, toast } from "./dom.js";
import { closePicker, fetchCanned, openPicker, insert, onCannedError, onComposerInput, onManagerClick, onReplies, onSaved, openManager, pickerKey, refuseUnfilled, saveFromForm } from "./canned.js";
import { onContext, onPastTranscript, openPast, renderContext } from "./context.js";
import { renderLists, renderSoon, tickSla } from "./lists.js";
import { answerOffer, offerSet, onOpenOffers, renderOffers, setPresence } from "./offers.js";
import { ME, OUTBOX_KEY, cfg, convs, isMine, isMyMessage, isOpen, offers, rec, ui, useClient } from "./state.js";
import { onNote, onNotesBatch, sendNote } from "./notes.js";
import { giveBack, saveDraft, setComposerMode, showDraft } from "./composer.js";
import { take, takeRefused } from "./capacity.js";
import { renderChat, renderPending } from "./transcript.js";
import { onResolveReply, resolve, undoResolve } from "./resolve.js";
import { onTargets, onTransferAck, onTransferError, openTransfer, submitTransfer } from "./transfer.js";

// The ping is also the agent's heartbeat (no ping for AGENT_HEARTBEAT_TIMEOUT: no offers).
// Browsers throttle timers in background tabs, not a worker's messages: tick from a worker.
let worker = null;
function every(ms, fn) {
  try {
    const src = "let t; onmessage = (e) => { clearInterval(t); if (e.data > 0) t = setInterval(() => postMessage(0), e.data); };";
    worker = worker || new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
    worker.onmessage = fn;
    worker.postMessage(ms);
    return () => worker.postMessage(0);
  } catch {
    worker = null; // a strict CSP may forbid blob: workers
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  }
}

// One socket for all of this agent's tabs where the browser has SharedWorker (a page that
// wraps WebSocket, as some tests do, sets parleyOwnSocket to keep its own).
// Without SharedWorker, the tabs elect a leader whose socket they share (leader.js).
const hubName = `parley-console-${ME}`;
const { Transport: SharedTransport, kind: sharedKind } = tabSocket({
  own: window.parleyOwnSocket,
  workerUrl: cfg.sharedWorkerUrl,
  name: hubName,
});
window.parleySharedSocket = sharedKind;

const client = createClient({
  WebSocket: SharedTransport || undefined,
  url: () => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${cfg.wsPath}`,
  heartbeatInterval: cfg.heartbeatInterval || 20,
  every,
  // Under the server's per-socket limit (10/s, burst 30) when a reconnect resumes many
  // conversations at once; user actions jump the queue.
  pace: { burst: 20, perSecond: 8 },
  outbox: storedOutbox(localStorage, OUTBOX_KEY),
  hooks: {
    status: (name) => setConnection(name === "stopped" ? "blocked" : name),
    authFailed({ code, reason }) {
      if (code === 4401) {
        location.assign(`${cfg.loginUrl}?next=${encodeURIComponent(location.pathname + location.hash)}`);
      } else {
        ui.blocked = reason || "This account may not use the console.";
        setConnection("blocked");
      }
    },
    hello: onHello,
    conversation(c, f) {
      if (f.type === "messages.batch" && !convs.has(c.id) && c.id !== ui.selectedId) return;
      if (f.type === "messages.batch") rec(c.id);
      upsert(c);
      renderSoon();
    },
    unknownMessage(m) {
      // A conversation we have not heard of yet: fetch it (the batch carries its state).
      const r = rec(m.conversation);
      r.base = Math.max(0, m.seq - 1);
      client.track(r.id, r.base);
      client.resume(r.id, true);
    },
    isOwn(id, m) {
      const r = convs.get(id);
      if (!r) return false;
      // My own send echoed back teaches me my participant id in this conversation.
      if (!r.myPid && m.client_msg_id && m.sender && m.sender.role === "agent" && r.s.accepted.has(m.client_msg_id)) {
        r.myPid = m.sender.participant;
      }
      return isMyMessage(r, m);
    },
    message: (id, m) => applyMessage(convs.get(id), m),
    updated: (id, m) => onUpdated(convs.get(id), m),
    arrived: () => renderSoon(),
    receiptWanted(id) {
      // Delivered as messages arrive in my chats, read for the one on screen.
      const r = convs.get(id);
      if (!r || !isMine(r) || !r.myPid || !r.full) return null;
      return { read: document.visibilityState === "visible" && r.id === ui.selectedId };
    },
    receiptsSent: () => renderSoon(),
    outbox() {
      if (convs.has(ui.selectedId)) renderPending(convs.get(ui.selectedId));
    },
    refused(entry, f) {
      const back = entry && giveBack(entry);
      if (entry && !back) rec(entry.conversation).failed.push({ ...entry, reason: f.message });
      toast(`Message not sent: ${f.message}${back ? " It is back in the reply box." : ""}`);
    },
    lost(id) {
      convs.delete(id);
      if (id === ui.selectedId) {
        sayNotOpen(id); // the server's not_found: missing, or not this agent's to see
        select(null);
      }
      renderSoon();
    },
    error: onError,
    frame: handle,
  },
});
useClient(client);

// --- frames from the server (what the client leaves to the console) ------------------------
function handle(f) {
  switch (f.type) {
    case "pong":
      if (Array.isArray(f.offers)) onOpenOffers(f.offers);
      return;
    case "receipt.updated":
      return onReceipt(f);
    case "typing":
      return onTyping(f);
    case "reservation.offered":
      return offerSet(f.reservation);
    case "reservation.accepted":
    case "reservation.declined":
    case "reservation.expired":
    case "reservation.revoked":
      offers.delete(f.reservation.id);
      if (f.type === "reservation.expired") toast(`You missed an offer: ${f.reservation.reason || "not answered in time"}.`);
      return renderOffers();
    case "agent.presence":
      return setPresence(f.presence);
    case "conversation.transferred":
      return onTransferred(f);
    case "ack":
      return onAck(f);
    case "note.new":
    case "note.accepted":
      return onNote(f.note, renderChat);
    case "notes.batch":
      return onNotesBatch(f, renderChat);
    case "conversation.context":
      return onContext(f);
    case "past.transcript":
      return onPastTranscript(f);
    case "transfer.targets":
      return onTargets(f);
    case "suggestions":
      return onSuggestions(f);
    case "search.results":
      return onResults(f);
    case "canned.replies":
      return onReplies(f);
    case "canned.saved":
    case "canned.deleted":
      return onSaved(f);
  }
}

function onHello(f) {
  fetchCanned();
  resyncBanner(f);
  showTranslation(f.translation);
  offers.clear();
  for (const res of f.offers || []) offerSet(res);
  renderOffers();
  setPresence(f.presence);
  helloConversations(f.conversations || []);
  renderSoon();
  renderChat();
}

function onAck(f) {
  if (f.for === "conversation.transfer" || f.for === "conversation.invite") onTransferAck(f);
  if (f.for === "conversation.take" || f.for === "reservation.accept") select(f.conversation);
  if (f.for === "conversation.unresolve") onResolveReply(f);
  if (f.for === "reservation.accept" || f.for === "reservation.decline") {
    offers.delete(f.reservation);
    renderOffers();
  }
}

function onError(f) {
  // What the client does not handle itself (it retries rate-limited frames, failed sends
  // and resumes): the answers to this console's own requests.
  const ref = typeof f.ref === "string" ? f.ref : "";
  if (f.code === "rate_limited") return retryUnloaded();
  if (!ref) return;
  if (ref.startsWith("cx:") || ref.startsWith("nf:")) return; // a side panel's refresh: the next one heals it
  if (ref.startsWith("a:") || ref.startsWith("d:")) {
    offers.delete(Number(ref.slice(2)));
    renderOffers();
    return toast(f.message);
  }
  if (ref.startsWith("tr:") || ref.startsWith("to:")) return onTransferError(f);
  if (ref.startsWith("x:") || ref.startsWith("u:")) return onResolveReply(f);
  if (ref === "cs" || ref === "cd" || ref === "cl") return onCannedError(f);
  if (ref === "q" || ref === "sg") return; // a refused query or suggestion: nothing to say
  if (ref.startsWith("t:")) return takeRefused(f);
  toast(f.message);
}

// --- sending -------------------------------------------------------------------------------
function submit(text) {
  const r = convs.get(ui.selectedId);
  if (ui.composerMode === "note") return sendNote(r, text);
  const body = text.trim();
  if (!r || !isMine(r) || !isOpen(r) || (!body && !stagedFor(r.id).length)) return false;
  if (uploadingFor(r.id)) return toast(STILL_UPLOADING), false;
  if (refuseUnfilled()) return false;
  client.typingStop();
  const files = takeStaged(r.id); // sent with this reply: one message, text and files
  client.enqueue({ conversation: r.id, body, ...(files.length ? { attachments: files } : {}) });
  return true;
}

// --- events --------------------------------------------------------------------------------
// The lists and offer cards are redrawn often: their clicks are caught here, by data-testid.
function onListClick(ev) {
  const button = ev.target.closest("button");
  const li = button && button.closest("li[data-conversation]");
  if (!li) return;
  const id = Number(li.dataset.conversation);
  if (button.dataset.testid === "conversation-open") select(id);
  else if (button.dataset.testid === "conversation-take") take(id);
}
document.addEventListener("click", askOnce, { once: true, capture: true });
el.waiting.addEventListener("click", onListClick);
el.mine.addEventListener("click", onListClick);
el.offers.addEventListener("click", (ev) => {
  const button = ev.target.closest("button");
  const li = button && button.closest("li[data-reservation]");
  if (!li) return;
  const id = Number(li.dataset.reservation);
  if (button.dataset.testid === "offer-accept") answerOffer(id, true);
  else if (button.dataset.testid === "offer-decline") answerOffer(id, false);
  else if (button.classList.contains("offer-name") && Number(li.dataset.conversation)) select(Number(li.dataset.conversation));
});
installAttachments();
el.form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (submit(el.input.value)) {
    el.input.value = "";
    clearSuggestions();
    saveDraft(); // sent: nothing left to keep
  }
});
el.input.addEventListener("keydown", (ev) => {
  if (pickerKey(ev) || suggestionKey(ev)) return;
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    el.form.requestSubmit();
  }
});
el.input.addEventListener("input", () => {
  saveDraft();
  typingInput(el.input.value);
  onComposerInput();
  onTyped();
});
el.input.addEventListener("blur", () => setTimeout(closePicker, 150));
el.suggestions.addEventListener("click", (ev) => {
  const b = ev.target.closest("[data-testid=suggestion]");
  if (b) takeSuggestion(Number(b.dataset.index));
});
el.picker.addEventListener("mousedown", (ev) => {
  const li = ev.target.closest("[data-testid=canned-option]");
  if (!li) return;
  ev.preventDefault();
  insert(Number(li.dataset.index));
});
el.cannedManage.addEventListener("click", openManager);
el.cannedSave.addEventListener("click", saveFromForm);
el.cannedList.addEventListener("click", onManagerClick);
for (const tab of el.modeTabs) {
  tab.addEventListener("click", () => {
    if (ui.composerMode !== tab.dataset.mode) client.typingStop();
    setComposerMode(tab.dataset.mode);
    el.input.focus();
  });
}
el.takeBtn.addEventListener("click", () => take(ui.selectedId));
el.presenceSelect.addEventListener("change", () => {
  const [status, awayReason] = el.presenceSelect.value.split(":");
  const frame = { type: "presence.set", id: client.nextId("s:"), status };
  if (awayReason) frame.away_reason = awayReason;
  if (!client.send(frame, true) && ui.presence) {
    setPresence(ui.presence); // offline: keep showing the real status
  }
});
el.resolveBtn.addEventListener("click", () => ui.selectedId && resolve(ui.selectedId));
el.undoButton.addEventListener("click", undoResolve);
el.transferBtn.addEventListener("click", () => openTransfer("transfer"));
el.inviteBtn.addEventListener("click", () => openTransfer("invite"));
el.leaveBtn.addEventListener("click", () => ui.selectedId && client.send({ type: "conversation.leave", id: `l:${ui.selectedId}`, conversation: ui.selectedId }, true));
el.helpOpen.addEventListener("click", () => el.helpDialog.showModal());
el.searchInput.addEventListener("input", onSearchInput);
el.searchResults.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-conversation]");
  if (b) openResult(Number(b.dataset.conversation), select);
});
installShortcuts({
  accept() {
    const card = el.offers.querySelector("li[data-reservation]"); // the first one shown
    if (card) answerOffer(Number(card.dataset.reservation), true);
  },
  next: () => step(1, select),
  previous: () => step(-1, select),
  reply: () => !el.form.hidden && el.input.focus(), // never a mode switch: a note's text must not turn into a reply
  note: () => !el.form.hidden && (setComposerMode("note"), el.input.focus()),
  canned: openPicker,
  transfer: () => !el.transferBtn.hidden && !el.transferBtn.disabled && openTransfer("transfer"),
  resolve: () => ui.selectedId && !el.resolveBtn.hidden && resolve(ui.selectedId),
  undo: () => !el.undoToast.hidden && undoResolve(),
});
el.transferSubmit.addEventListener("click", submitTransfer);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  if (!client.connected && !ui.blocked) client.connect();
  client.resumeAll(true); // background tabs miss pushes
  if (ui.selectedId && convs.has(ui.selectedId)) client.arrived(ui.selectedId);
});
window.addEventListener("online", () => {
  if (!ui.blocked) client.wake(); // connect now, with a fresh back-off
});
window.addEventListener("storage", (ev) => {
  if (ev.key === OUTBOX_KEY && convs.has(ui.selectedId)) renderPending(convs.get(ui.selectedId));
});
setInterval(renderSoon, 30000); // waiting times, and the urgency order
setInterval(() => {
  tickSla((r, level) => {
    const what = level === "late" ? "is far past the reply target" : "is past the reply target";
    toast(`${r.c.customer.name} ${what}: answer soon.`);
    notify("A customer is waiting for you", `${r.c.customer.name} ${what}.`, `sla-${r.id}`);
    const li = document.querySelector(`[data-testid=mine-list] li[data-conversation="${r.id}"]`);
    if (li) li.classList.add("nudged");
  });
  paintStillThere();
}, 1000);
function paintStillThere() {
  const r = convs.get(ui.selectedId);
  const silent = r && isMine(r) ? customerSilence(r, Date.now()) : -1;
  const after = (r && r.c && r.c.queue && r.c.queue.silence_nudge) || 180;
  el.stillThere.hidden = !(silent >= 0 && silent >= after);
}
el.stillThere.addEventListener("click", () => {
  if (!ui.selectedId) return;
  client.send({ type: "customer.nudge", id: `n:${ui.selectedId}`, conversation: ui.selectedId }, true);
  el.stillThere.hidden = true;
});
el.contextPast.addEventListener("click", (ev) => {
  const b = ev.target.closest("[data-testid=context-past-open]");
  if (b) openPast(Number(b.dataset.past));
});

routeFromAddress();
installRoute(select);
installDrawer();
showDraft(ui.selectedId); // the one the address names, or the one selected before a reload
renderChat();
renderContext();
renderLists();
client.connect();
