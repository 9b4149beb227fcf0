// Parley agent console: the waiting room, my chats, one transcript at a time.
// Follows docs/protocol.md through client.js (loaded before this module, shared with the
// widget): the database is the truth, pushes are hints, gaps are resumed by seq, and every
// message goes through an outbox until the server accepts it.

const cfg = JSON.parse(document.getElementById("parley-console-config").textContent);
const ME = cfg.userId;
const MY_NAME = cfg.userName;
const WAITING = ["queued", "offered", "reopened"];
const OPEN = ["bot", "queued", "offered", "assigned", "reopened"];
const STATUS_LABEL = {
  bot: "With bot",
  queued: "Waiting",
  offered: "Offered",
  assigned: "Open",
  reopened: "Reopened",
  resolved: "Resolved",
  abandoned: "Abandoned",
};
const OUTBOX_KEY = `parley:console:${location.host}:${ME}:outbox`;
const SELECTED_KEY = "parley:console:selected";

// --- state ---------------------------------------------------------------------------------
/** id -> conversation record: payload, the messages held (contiguous after `base`), and `s`,
 * the client's seq state (lastSeq, knownTop, accepted, my cursors `me`). */
const convs = new Map();
let selectedId = Number(sessionStorage.getItem(SELECTED_KEY)) || null;

function rec(id) {
  let r = convs.get(id);
  if (!r) {
    r = {
      id,
      c: null, // the conversation payload
      msgs: [],
      base: 0, // messages after this seq are held; 0 once the full transcript is loaded
      full: false,
      s: client.track(id, 0),
      myPid: null,
      cust: { delivered: 0, read: 0 },
      typing: null, // {name, timer}
      failed: [],
    };
    convs.set(id, r);
  }
  return r;
}

function forget(id) {
  convs.delete(id);
  client.forget(id);
}

const isMine = (r) => Boolean(r.c && r.c.assignee && r.c.assignee.id === ME);
const isWaiting = (r) => Boolean(r.c && WAITING.includes(r.c.status));
const isOpen = (r) => Boolean(r.c && OPEN.includes(r.c.status));

function isMyMessage(r, m) {
  if (!m.sender) return false;
  if (r.myPid) return m.sender.participant === r.myPid;
  return m.sender.role === "agent" && m.sender.name === MY_NAME;
}

// --- connection: the shared protocol client -------------------------------------------------
let blocked = null;

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

const client = window.ParleyClient.createClient({
  url: () => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${cfg.wsPath}`,
  heartbeatInterval: cfg.heartbeatInterval || 20,
  every,
  // Under the server's per-socket limit (10/s, burst 30) when a reconnect resumes many
  // conversations at once; user actions jump the queue.
  pace: { burst: 20, perSecond: 8 },
  outbox: window.ParleyClient.storedOutbox(localStorage, OUTBOX_KEY),
  hooks: {
    status: (name) => setConnection(name === "stopped" ? "blocked" : name),
    authFailed({ code, reason }) {
      if (code === 4401) {
        location.assign(`${cfg.loginUrl}?next=${encodeURIComponent(location.pathname)}`);
      } else {
        blocked = reason || "This account may not use the console.";
        setConnection("blocked");
      }
    },
    hello: onHello,
    conversation(c, f) {
      if (f.type === "messages.batch" && !convs.has(c.id) && c.id !== selectedId) return;
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
      return { read: document.visibilityState === "visible" && r.id === selectedId };
    },
    receiptsSent: () => renderSoon(),
    outbox() {
      if (convs.has(selectedId)) renderPending(convs.get(selectedId));
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
      if (id === selectedId) select(null);
      renderSoon();
    },
    error: onError,
    frame: handle,
  },
});

// --- frames from the server (what client.js leaves to the console) -------------------------
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

function onHello(f) {
  offers.clear();
  for (const res of f.offers || []) offerSet(res);
  renderOffers();
  setPresence(f.presence);
  const seen = new Set();
  for (const c of f.conversations || []) {
    seen.add(c.id);
    upsert(c);
  }
  for (const r of Array.from(convs.values())) {
    if (seen.has(r.id)) continue; // the client catches it up from the snapshot's last_seq
    if (isMine(r) || r.id === selectedId || !r.c) client.resume(r.id, true); // refresh its state
    else forget(r.id); // left the waiting room while we were away
  }
  if (selectedId && !convs.has(selectedId)) {
    const r = rec(selectedId); // selected before a reload; not in the snapshot (closed?)
    r.full = true;
    client.resume(r.id, true);
  }
  renderSoon();
  renderChat();
}

/** Store a conversation payload; drop it if it is neither waiting nor mine any more. */
function upsert(c) {
  const r = rec(c.id);
  const wasMine = isMine(r);
  r.c = c;
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
    if (r.id === selectedId) {
      const who = c.assignee ? c.assignee.name : null;
      toast(who ? `${c.customer.name}'s conversation was taken by ${who}.` : `${c.customer.name}'s conversation left the queue.`);
      select(null);
    }
    return;
  }
  if (isMine(r) && !wasMine && r.id !== selectedId && !selectedId) select(r.id);
  ensureLoaded(r);
  if (r.id === selectedId) {
    renderChatHead();
    if (isMine(r) && !wasMine) el.input.focus(); // just taken: ready to reply
  }
}

/** Mine and the selected one get their whole transcript; waiting ones a short preview. */
function ensureLoaded(r) {
  if (!r.c) return;
  if ((isMine(r) || r.id === selectedId) && !r.full) {
    r.full = true;
    r.base = 0;
    r.msgs = [];
    client.track(r.id, 0);
    client.resume(r.id, true);
    if (r.id === selectedId) renderChat();
  } else if (!r.full && r.s.lastSeq === 0 && r.base === 0 && !r.s.resumeRef && r.c.last_seq) {
    r.base = Math.max(0, (r.c.last_seq || 0) - 3);
    client.track(r.id, r.base);
    client.resume(r.id, true);
  }
}

function applyMessage(r, m) {
  // In order and once (client.js deduplicates and resumes gaps).
  r.msgs.push(m);
  // The server moves a sender's cursors to its own message without a receipt.updated.
  if (m.sender.role === "customer" && r.cust.read < m.seq) {
    r.cust.read = r.cust.delivered = m.seq;
    if (r.id === selectedId) renderTicks(r);
  }
  if (r.typing && m.sender.participant === r.typing.participant) stopTyping(r);
  if (r.id === selectedId) appendToTranscript(r, m);
}

function onReceipt(f) {
  const r = convs.get(f.conversation);
  if (!r) return;
  if (f.role === "customer") {
    r.cust.delivered = Math.max(r.cust.delivered, f.delivered_seq);
    r.cust.read = Math.max(r.cust.read, f.read_seq);
    if (r.id === selectedId) renderTicks(r);
  } else if (f.participant === r.myPid) {
    client.cursors(r.id, f.delivered_seq, f.read_seq); // read in another tab
    renderSoon();
  }
}

function onAck(f) {
  if (f.for === "conversation.take" || f.for === "reservation.accept") select(f.conversation);
  if (f.for === "reservation.accept" || f.for === "reservation.decline") {
    offers.delete(f.reservation);
    renderOffers();
  }
}

function onUpdated(r, m) {
  // The language pipeline changed a delivered message (translation, moderation): replace it.
  const i = r.msgs.findIndex((x) => x.seq === m.seq);
  if (i < 0) return;
  r.msgs[i] = m;
  if (r.id === selectedId) {
    const old = el.transcript.querySelector(`li[data-seq="${m.seq}"]`);
    if (old) old.replaceWith(messageNode(r, m, null, r.msgs[i - 1]));
  }
  renderSoon();
}

function onTransferred(f) {
  const c = f.conversation || {};
  const name = c.customer ? c.customer.name : `#${c.id}`;
  if (f.to_agent === ME) toast(`${f.by} passed you the conversation with ${name}${f.note ? `: “${f.note}”` : "."}`);
  else if (f.from_agent === ME) toast(`The conversation with ${name} was transferred.`);
  if (c.customer && client.fresh(c)) upsert(c);
  renderSoon();
}

// --- offers and presence -------------------------------------------------------------------
/** reservation id -> {res, deadline}: the router's offers to me, counted down locally. */
const offers = new Map();
let offerTimer = null;

function offerSet(res) {
  // expires_in, not expires_at: the client's clock may drift from the server's.
  offers.set(res.id, { res, deadline: Date.now() + (res.expires_in ?? 20) * 1000 });
  if (res.conversation && res.conversation.customer && client.fresh(res.conversation)) upsert(res.conversation);
  renderOffers();
  renderSoon();
}

// pong lists my open offers: an offer whose push was lost shows up within a heartbeat (it
// would otherwise expire unseen and count as my miss), and one whose outcome was lost goes.
function onOpenOffers(list) {
  const open = new Set(list.map((res) => res.id));
  let gone = false;
  for (const id of Array.from(offers.keys())) {
    if (!open.has(id)) gone = offers.delete(id);
  }
  for (const res of list) if (!offers.has(res.id)) offerSet(res);
  if (gone) renderOffers();
}

function answerOffer(id, accept) {
  const frame = accept
    ? { type: "reservation.accept", id: `a:${id}`, reservation: id }
    : { type: "reservation.decline", id: `d:${id}`, reservation: id };
  client.send(frame, true);
}

let presence = null;
function setPresence(p) {
  if (!p) return;
  presence = p;
  el.presenceSelect.value = p.status;
  el.presence.dataset.status = p.status;
  el.presenceMessage.hidden = !p.message;
  el.presenceMessage.textContent = p.message || "";
}

function onError(f) {
  // What client.js does not handle itself (it retries rate-limited frames, failed sends
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

// --- sending -------------------------------------------------------------------------------
function submit(text) {
  const r = convs.get(selectedId);
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

// Receipts (client.js): delivered as messages arrive in my chats, read for the one on screen.
function arrived(r) {
  client.arrived(r.id);
}

// Typing: client.js paces the frames; the console says what is in the composer.
function typingInput(text) {
  const r = convs.get(selectedId);
  if (!r || !isMine(r) || !isOpen(r)) return;
  client.typing(r.id, text);
}

function onTyping(f) {
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

// --- view ----------------------------------------------------------------------------------
const $ = (sel) => document.querySelector(sel);
const el = {
  connection: $("[data-testid=console-connection]"),
  waiting: $("[data-testid=waiting-list]"),
  mine: $("[data-testid=mine-list]"),
  waitingCount: $("[data-testid=waiting-count]"),
  mineCount: $("[data-testid=mine-count]"),
  waitingEmpty: $("[data-testid=waiting-empty]"),
  mineEmpty: $("[data-testid=mine-empty]"),
  chatEmpty: $("[data-testid=chat-empty]"),
  chat: $("[data-testid=chat]"),
  title: $("[data-testid=chat-title]"),
  meta: $("[data-testid=chat-meta]"),
  status: $("[data-testid=chat-status]"),
  takeBtn: $("[data-testid=chat-take]"),
  resolveBtn: $("[data-testid=chat-resolve]"),
  scroll: $(".transcript"),
  transcript: $("[data-testid=transcript]"),
  pending: $("[data-testid=transcript-pending]"),
  typing: $("[data-testid=chat-typing]"),
  form: $("[data-testid=composer]"),
  input: $("[data-testid=composer-input]"),
  note: $("[data-testid=composer-note]"),
  toast: $("[data-testid=toast]"),
  presence: $("[data-testid=presence]"),
  presenceSelect: $("[data-testid=presence-select]"),
  presenceMessage: $("[data-testid=presence-message]"),
  offersSection: $("[data-testid=offers]"),
  offers: $("[data-testid=offers-list]"),
  offersCount: $("[data-testid=offers-count]"),
};

const TICKS = {
  sending: ["◷", "Sending"],
  sent: ["✓", "Sent"],
  delivered: ["✓✓", "Delivered"],
  read: ["✓✓", "Read"],
  failed: ["!", "Not sent"],
};

function setConnection(stateName) {
  const labels = {
    connecting: "Connecting…",
    online: "Online",
    offline: client.everConnected ? "Reconnecting…" : "Connecting…",
    blocked: blocked || "Unavailable",
  };
  el.connection.dataset.state = stateName;
  el.connection.textContent = labels[stateName];
}

function initials(name) {
  const words = (name || "").split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}]/gu, "")).filter(Boolean);
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

function clock(iso) {
  return new Date(iso || Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function ago(iso) {
  if (!iso) return "";
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
  if (minutes < 1) return "now";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function unreadCount(r) {
  if (!isMine(r)) return 0;
  return r.msgs.filter((m) => m.seq > r.s.me.read && m.kind !== "event" && !isMyMessage(r, m)).length;
}

function previewOf(r) {
  if (r.typing) return { text: `${r.typing.name} is typing…`, typing: true };
  const last = [...r.msgs].reverse().find((m) => m.kind !== "event") || r.msgs[r.msgs.length - 1];
  if (!last) return { text: r.c && r.c.last_seq ? "…" : "No messages yet" };
  return { text: (isMyMessage(r, last) ? "You: " : "") + (translationOf(last) || last.body) };
}

let renderQueued = false;
function renderSoon() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderLists();
  });
}

function listItem(r) {
  const li = document.createElement("li");
  li.className = "item" + (r.id === selectedId ? " selected" : "") + (isOpen(r) ? "" : " closed");
  li.dataset.testid = "conversation-item";
  li.dataset.conversation = r.id;
  li.dataset.status = r.c.status;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "item-open";
  open.dataset.testid = "conversation-open";
  open.setAttribute("aria-current", r.id === selectedId ? "true" : "false");
  const name = r.c.customer.name;
  const preview = previewOf(r);
  const unread = unreadCount(r);
  const when = isWaiting(r) ? ago(r.c.queued_at) : r.c.last_message_at ? clock(r.c.last_message_at) : "";
  open.innerHTML = `<span class="avatar" aria-hidden="true"></span>
    <span class="item-body"><span class="item-top"><strong class="item-name"></strong><span class="item-time"></span></span>
    <span class="item-preview" data-testid="conversation-preview"></span></span>`;
  open.querySelector(".avatar").textContent = initials(name);
  open.querySelector(".item-name").textContent = name;
  open.querySelector(".item-time").textContent = when;
  const pv = open.querySelector(".item-preview");
  pv.textContent = preview.text;
  pv.classList.toggle("typing", Boolean(preview.typing));
  if (!isOpen(r)) {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = STATUS_LABEL[r.c.status] || r.c.status;
    open.querySelector(".item-top").appendChild(chip);
  }
  if (unread) {
    const badge = document.createElement("span");
    badge.className = "unread";
    badge.dataset.testid = "conversation-unread";
    badge.textContent = unread;
    badge.setAttribute("aria-label", `${unread} unread`);
    open.appendChild(badge);
  }
  open.addEventListener("click", () => select(r.id));
  li.appendChild(open);
  if (isWaiting(r)) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "btn btn-small take";
    btn.dataset.testid = "conversation-take";
    btn.textContent = "Take";
    btn.setAttribute("aria-label", `Take the conversation with ${name}`);
    btn.addEventListener("click", () => take(r.id));
    li.appendChild(btn);
  }
  return li;
}

function renderOffers() {
  el.offersSection.hidden = offers.size === 0;
  el.offersCount.textContent = offers.size;
  el.offers.replaceChildren(...Array.from(offers.values()).map(offerItem));
  if (offers.size && !offerTimer) offerTimer = setInterval(tickOffers, 1000);
  if (!offers.size && offerTimer) {
    clearInterval(offerTimer);
    offerTimer = null;
  }
  renderSoon(); // the title counts offers
}

function offerItem({ res, deadline }) {
  const c = res.conversation || {};
  const name = c.customer ? c.customer.name : `Conversation #${c.id}`;
  const li = document.createElement("li");
  li.className = "offer";
  li.dataset.testid = "offer";
  li.dataset.reservation = res.id;
  li.dataset.conversation = c.id;
  li.innerHTML = `<div class="offer-top"><button type="button" class="offer-name"></button>
    <span class="offer-countdown" data-testid="offer-countdown"></span></div>
    <p class="offer-meta"></p><div class="offer-bar"><span></span></div>
    <div class="offer-actions">
      <button type="button" class="btn btn-primary btn-small" data-testid="offer-accept">Accept</button>
      <button type="button" class="btn btn-outline btn-small" data-testid="offer-decline">Decline</button>
    </div>`;
  li.querySelector(".offer-name").textContent = name;
  li.querySelector(".offer-name").addEventListener("click", () => c.id && select(c.id));
  const bits = [res.queue ? res.queue.name : null, res.sticky ? "returning customer" : null, res.attempt > 1 ? `offer ${res.attempt}` : null];
  li.querySelector(".offer-meta").textContent = bits.filter(Boolean).join(" · ") + (res.note ? ` · Note: ${res.note}` : "");
  li.querySelector("[data-testid=offer-accept]").addEventListener("click", () => answerOffer(res.id, true));
  li.querySelector("[data-testid=offer-decline]").addEventListener("click", () => answerOffer(res.id, false));
  li.dataset.deadline = deadline;
  li.dataset.total = Math.max(1, (res.expires_in ?? 20) * 1000);
  updateCountdown(li);
  return li;
}

function updateCountdown(li) {
  const left = Math.max(0, Number(li.dataset.deadline) - Date.now());
  li.querySelector(".offer-countdown").textContent = left ? `${Math.ceil(left / 1000)} s` : "expiring…";
  li.querySelector(".offer-bar span").style.width = `${(100 * left) / Number(li.dataset.total)}%`;
}

function tickOffers() {
  for (const li of el.offers.children) updateCountdown(li);
}

function renderLists() {
  const all = Array.from(convs.values()).filter((r) => r.c);
  const waiting = all
    .filter(isWaiting)
    .sort((a, b) => (b.c.priority - a.c.priority) || String(a.c.queued_at).localeCompare(String(b.c.queued_at)) || a.id - b.id);
  const activity = (r) => String((r.msgs.length && r.msgs[r.msgs.length - 1].created_at) || r.c.last_message_at || r.c.created_at);
  const mine = all
    .filter((r) => isMine(r) && !isWaiting(r))
    .sort((a, b) => (isOpen(b) - isOpen(a)) || activity(b).localeCompare(activity(a)) || b.id - a.id);
  el.waiting.replaceChildren(...waiting.map(listItem));
  el.mine.replaceChildren(...mine.map(listItem));
  el.waitingCount.textContent = waiting.length;
  el.mineCount.textContent = mine.filter(isOpen).length;
  el.waitingEmpty.hidden = waiting.length > 0;
  el.mineEmpty.hidden = mine.length > 0;
  const unread = mine.reduce((n, r) => n + unreadCount(r), 0);
  const offered = offers.size ? `${offers.size} incoming · ` : "";
  document.title = `${unread ? `(${unread}) ` : ""}${offered}${waiting.length ? `${waiting.length} waiting · ` : ""}Parley console`;
}

function select(id) {
  if (id !== selectedId) client.typingStop();
  selectedId = id;
  if (id) sessionStorage.setItem(SELECTED_KEY, String(id));
  else sessionStorage.removeItem(SELECTED_KEY);
  if (id && convs.has(id)) {
    ensureLoaded(convs.get(id));
    arrived(convs.get(id)); // it is on screen now: read receipt
  }
  renderChat();
  renderSoon();
}

function renderChat() {
  const r = selectedId ? convs.get(selectedId) : null;
  el.chatEmpty.hidden = Boolean(r);
  el.chat.hidden = !r;
  if (!r) return;
  el.transcript.replaceChildren();
  r.msgs.forEach((m, i) => el.transcript.appendChild(messageNode(r, m, null, r.msgs[i - 1])));
  renderChatHead();
  renderPending(r);
  renderTyping();
  el.scroll.scrollTop = el.scroll.scrollHeight;
}

function renderChatHead() {
  const r = convs.get(selectedId);
  if (!r || !r.c) {
    el.title.textContent = "Loading…";
    return;
  }
  const c = r.c;
  el.title.textContent = c.customer.name;
  const bits = [`#${c.id}`];
  if (c.queue) bits.push(c.queue.name);
  if (c.language) bits.push(c.language.toUpperCase());
  if (c.assignee && !isMine(r)) bits.push(`with ${c.assignee.name}`);
  el.meta.textContent = bits.join(" · ");
  el.status.textContent = STATUS_LABEL[c.status] || c.status;
  el.status.dataset.status = c.status;
  el.takeBtn.hidden = !isWaiting(r);
  el.resolveBtn.hidden = !(isMine(r) && isOpen(r));
  const canWrite = isMine(r) && isOpen(r);
  el.form.hidden = !canWrite;
  el.note.hidden = canWrite;
  el.note.textContent = isWaiting(r)
    ? "This customer is waiting. Take the conversation to reply."
    : isOpen(r)
      ? "You are not in this conversation."
      : "This conversation is closed.";
}

function messageNode(r, m, status, prev) {
  const li = document.createElement("li");
  li.dataset.testid = "transcript-message";
  li.dataset.kind = m.kind;
  if (m.seq) li.dataset.seq = m.seq;
  if (m.kind === "event") {
    li.className = "event";
    li.textContent = m.body;
    return li;
  }
  const mine = status ? true : isMyMessage(r, m);
  li.className = `msg ${mine ? "mine" : m.kind}${status === "sending" ? " pending" : ""}${status === "failed" ? " failed" : ""}`;
  li.dataset.mine = String(mine);
  if (!mine && m.sender && (!prev || !prev.sender || prev.sender.participant !== m.sender.participant || prev.kind === "event")) {
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = m.kind === "system" ? `System · ${m.data && m.data.source ? m.data.source : ""}` : m.sender.name;
    li.appendChild(who);
  }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.dataset.testid = "transcript-body";
  const translated = translationOf(m);
  bubble.textContent = translated || m.body;
  li.appendChild(bubble);
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = document.createElement("time");
  time.textContent = clock(m.created_at);
  meta.appendChild(time);
  if (translated) {
    // Shown in my language; the original (moderated) text is one click away.
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "link";
    toggle.dataset.testid = "transcript-original-toggle";
    toggle.textContent = `Translated from ${(m.language || "?").toUpperCase()} · show original`;
    let original = false;
    toggle.addEventListener("click", () => {
      original = !original;
      bubble.textContent = original ? m.body : translated;
      toggle.textContent = original ? "Show translation" : `Translated from ${(m.language || "?").toUpperCase()} · show original`;
    });
    meta.appendChild(toggle);
  } else if (!mine && m.translation === "pending") {
    meta.append(" · translating…");
  }
  if (mine && m.moderation === "masked") meta.append(" · some words were hidden from the customer");
  if (mine) {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.dataset.testid = "transcript-tick";
    meta.appendChild(tick);
    setTick(li, tick, status || tickStatus(r, m.seq));
  }
  if (status === "failed") meta.append(` ${m.reason || "Not sent"}`);
  li.appendChild(meta);
  return li;
}

function translationOf(m) {
  const view = m.view || {};
  const t = view.as === "recipient" && view.language && m.translations && m.translations[view.language];
  return t && t.state === "done" && t.body && t.body !== m.body ? t.body : null;
}

function tickStatus(r, seq) {
  if (seq <= r.cust.read) return "read";
  if (seq <= r.cust.delivered) return "delivered";
  return "sent";
}

function setTick(li, tick, status) {
  li.dataset.status = status;
  tick.dataset.status = status;
  tick.textContent = TICKS[status][0];
  tick.title = TICKS[status][1];
  tick.setAttribute("aria-label", TICKS[status][1]);
}

function renderTicks(r) {
  for (const li of el.transcript.querySelectorAll("li.mine")) {
    const status = tickStatus(r, Number(li.dataset.seq));
    if (li.dataset.status !== status) setTick(li, li.querySelector(".tick"), status);
  }
}

function nearBottom() {
  return el.scroll.scrollHeight - el.scroll.scrollTop - el.scroll.clientHeight < 100;
}

function appendToTranscript(r, m) {
  const stick = nearBottom();
  el.transcript.appendChild(messageNode(r, m, null, r.msgs[r.msgs.length - 2]));
  renderPending(r);
  if (stick || isMyMessage(r, m)) el.scroll.scrollTop = el.scroll.scrollHeight;
}

function renderPending(r) {
  const items = client.pending(r.id); // accepted (by seq), then unsent
  el.pending.replaceChildren(
    ...items.map((e) => messageNode(r, { kind: "text", body: e.body, created_at: e.created_at }, e.seq ? "sent" : "sending")),
    ...r.failed.map((e) => messageNode(r, { kind: "text", body: e.body, created_at: e.created_at, reason: e.reason }, "failed")),
  );
  if (items.length) el.scroll.scrollTop = el.scroll.scrollHeight;
}

function renderTyping() {
  const r = convs.get(selectedId);
  const who = r && r.typing ? r.typing.name : null;
  el.typing.classList.toggle("active", Boolean(who));
  el.typing.querySelector(".typing-text").textContent = who ? `${who} is typing…` : "";
}

let toastTimer = null;
function toast(text) {
  el.toast.textContent = text;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.toast.hidden = true), 5000);
}

// --- events --------------------------------------------------------------------------------
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
el.takeBtn.addEventListener("click", () => selectedId && take(selectedId));
el.presenceSelect.addEventListener("change", () => {
  if (!client.send({ type: "presence.set", id: client.nextId("s:"), status: el.presenceSelect.value }, true) && presence) {
    el.presenceSelect.value = presence.status; // offline: keep showing the real status
  }
});
el.resolveBtn.addEventListener("click", () => selectedId && resolve(selectedId));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  if (!client.connected && !blocked) client.connect();
  client.resumeAll(true); // background tabs miss pushes
  if (selectedId && convs.has(selectedId)) arrived(convs.get(selectedId));
});
window.addEventListener("online", () => {
  if (!blocked) client.wake(); // connect now, with a fresh back-off
});
window.addEventListener("storage", (ev) => {
  if (ev.key === OUTBOX_KEY && convs.has(selectedId)) renderPending(convs.get(selectedId));
});
setInterval(renderSoon, 30000); // waiting times

renderChat();
renderLists();
client.connect();
