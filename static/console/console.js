// Parley agent console: the waiting room, my chats, one transcript at a time.
// Follows docs/protocol.md through the shared protocol client (static/parley/client/, the
// widget's too): the database is the truth, pushes are hints, gaps are resumed by seq, and
// every message goes through an outbox until the server accepts it. This module wires the
// client to the console's parts and the page's events:
//   state.js (records, selection), conversations.js (what frames change), offers.js (offers,
//   presence), lists.js (sidebar), transcript.js (chat pane), dom.js (elements, toast).
import { createClient, storedOutbox } from "../parley/client/index.js";
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
import { el, toast } from "./dom.js";
import { renderLists, renderSoon } from "./lists.js";
import { answerOffer, offerSet, onOpenOffers, renderOffers, setPresence } from "./offers.js";
import { OUTBOX_KEY, cfg, convs, isMine, isMyMessage, isOpen, offers, rec, ui, useClient } from "./state.js";
import { renderChat, renderPending } from "./transcript.js";

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

const client = createClient({
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
        location.assign(`${cfg.loginUrl}?next=${encodeURIComponent(location.pathname)}`);
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
      if (entry) {
        const r = rec(entry.conversation);
        r.failed.push({ ...entry, reason: f.message });
      }
      toast(`Message not sent: ${f.message}`);
    },
    lost(id) {
      convs.delete(id);
      if (id === ui.selectedId) select(null);
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
  }
}

// The translation engine's real state (hello.translation): a console that only showed
// language badges would let an agent think the customer's text is being translated.
function showTranslation(t) {
  const chip = document.querySelector("[data-testid=translation-state]");
  ui.translation = t || null;
  if (!chip || !t) return;
  chip.hidden = false;
  chip.dataset.state = t.state || (t.enabled ? "ready" : "off");
  const label = { ready: `Translation: ${t.engine}`, unavailable: "Translation unavailable", off: "Translation off" };
  chip.textContent = label[chip.dataset.state] || "Translation";
  chip.title = t.reason || "";
}

function onHello(f) {
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
  if (f.for === "conversation.take" || f.for === "reservation.accept") select(f.conversation);
  if (f.for === "reservation.accept" || f.for === "reservation.decline") {
    offers.delete(f.reservation);
    renderOffers();
  }
}

function onError(f) {
  // What the client does not handle itself (it retries rate-limited frames, failed sends
  // and resumes): the answers to this console's own requests.
  const ref = typeof f.ref === "string" ? f.ref : "";
  if (f.code === "rate_limited" || !ref) return;
  if (ref.startsWith("a:") || ref.startsWith("d:")) {
    offers.delete(Number(ref.slice(2)));
    renderOffers();
    return toast(f.message);
  }
  if (ref.startsWith("t:")) {
    return toast(f.code === "already_taken" ? "Someone else took this conversation first." : f.message);
  }
  toast(f.message);
}

function setConnection(stateName) {
  const labels = {
    connecting: "Connecting…",
    online: "Online",
    offline: client.everConnected ? "Reconnecting…" : "Connecting…",
    blocked: ui.blocked || "Unavailable",
  };
  el.connection.dataset.state = stateName;
  el.connection.textContent = labels[stateName];
}

// --- sending -------------------------------------------------------------------------------
function submit(text) {
  const r = convs.get(ui.selectedId);
  const body = text.trim();
  if (!r || !body || !isMine(r) || !isOpen(r)) return false;
  client.typingStop();
  client.enqueue({ conversation: r.id, body });
  return true;
}

function take(id) {
  client.send({ type: "conversation.take", id: `t:${id}`, conversation: id }, true);
}

function resolve(id) {
  client.send({ type: "conversation.resolve", id: `x:${id}`, conversation: id }, true);
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
el.form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (submit(el.input.value)) el.input.value = "";
});
el.input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    el.form.requestSubmit();
  }
});
el.input.addEventListener("input", () => typingInput(el.input.value));
el.takeBtn.addEventListener("click", () => ui.selectedId && take(ui.selectedId));
el.presenceSelect.addEventListener("change", () => {
  if (!client.send({ type: "presence.set", id: client.nextId("s:"), status: el.presenceSelect.value }, true) && ui.presence) {
    el.presenceSelect.value = ui.presence.status; // offline: keep showing the real status
  }
});
el.resolveBtn.addEventListener("click", () => ui.selectedId && resolve(ui.selectedId));
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
setInterval(renderSoon, 30000); // waiting times

renderChat();
renderLists();
client.connect();
