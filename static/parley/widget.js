/*! Parley chat widget. Embed it with one tag:
 *
 *   <script src="https://chat.example.com/static/parley/widget.js" data-site="SITE_KEY" async></script>
 *
 * It talks to the server it was loaded from (or to data-server="https://…"), renders inside
 * a Shadow DOM so the host page's CSS cannot reach it, and follows docs/protocol.md: the
 * database is the truth, pushes are hints, and anything missed is recovered by seq. The
 * protocol itself (reconnect, heartbeat, outbox, resume, receipts) is client.js, loaded from
 * beside this file, which the agent console shares.
 * Optional attributes: data-title (panel title), data-server (API base URL), and for a
 * logged-in customer data-external-id + data-user-hash (HMAC-SHA256 of the id with the
 * site's identity secret, computed by your backend), data-name, data-email.
 */
(function () {
  "use strict";

  const script =
    document.currentScript || document.querySelector("script[data-site][src*='widget.js']");
  if (!script || !script.dataset.site || window.__parleyWidget) return;
  window.__parleyWidget = true;

  const SITE = script.dataset.site;
  const BASE = (script.dataset.server || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  const WS_BASE = BASE.replace(/^http/, "ws");
  const TITLE = script.dataset.title || "Chat with us";
  const KEY = "parley:" + BASE + ":" + SITE;
  const OPEN = ["bot", "queued", "offered", "assigned", "reopened"];
  const WAITING = ["queued", "offered", "reopened"];
  const LOCALE_RE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$/;
  const IDENTITY = [["externalId", "external_id"], ["userHash", "user_hash"], ["name", "name"], ["email", "email"]];

  // --- storage: localStorage is shared by tabs, sessionStorage follows one tab's navigation
  const memory = {};
  function storage(kind) {
    return {
      get(name, fallback) {
        try {
          const raw = window[kind].getItem(KEY + ":" + name);
          return raw == null ? fallback : JSON.parse(raw);
        } catch (e) {
          return name in memory ? memory[name] : fallback;
        }
      },
      set(name, value) {
        memory[name] = value;
        try {
          window[kind].setItem(KEY + ":" + name, JSON.stringify(value));
        } catch (e) {
          /* private mode or quota: memory only */
        }
      },
    };
  }
  const local = storage("localStorage");
  const tab = storage("sessionStorage");

  // --- state -------------------------------------------------------------------------------
  const state = {
    token: local.get("token", null),
    convId: local.get("conv", null), // the conversation this customer last had
    conv: null, // its payload
    messages: [], // contiguous, in seq order (the client holds the seq cursor)
    starting: false,
    peer: { delivered: 0, read: 0 }, // the agents' furthest cursors
    failed: [], // messages the server refused for good
    typing: new Map(), // participant -> {name, timer}
    queue: null, // the last queue.position frame of the current conversation
    open: tab.get("open", false),
    blocked: null, // why the chat cannot run here (close 4403)
  };

  // --- connection: the shared protocol client ------------------------------------------------
  let client = null; // made in mount(), once client.js is loaded
  let needToken = true; // every page load refreshes its token once
  let shownQuestion = 0;
  const NO_CURSORS = { delivered: 0, read: 0 };

  /** The seq state of the current conversation (client.js), or null. */
  const held = () => (state.convId ? client.get(state.convId) : null);
  const me = () => (held() ? held().me : NO_CURSORS); // my cursors as the server has them

  async function refreshToken() {
    const body = { site_key: SITE };
    if (state.token) body.token = state.token;
    for (const [attr, field] of IDENTITY) if (script.dataset[attr]) body[field] = script.dataset[attr];
    const lang = navigator.language || "";
    if (LOCALE_RE.test(lang)) body.locale = lang;
    const res = await fetch(BASE + "/api/v1/widget/sessions/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    });
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      const data = await res.json().catch(() => ({}));
      const err = new Error((data.error && data.error.message) || "The chat is not available.");
      err.fatal = true;
      throw err;
    }
    if (!res.ok) throw new Error("session " + res.status);
    const data = await res.json();
    state.token = data.token;
    local.set("token", data.token);
    needToken = false;
    if (data.customer && local.get("customer", null) !== data.customer.id) {
      // A different visitor (the old token was refused): forget the old one's conversation.
      local.set("customer", data.customer.id);
      if (state.convId) resetConversation(null);
    }
  }

  function makeClient() {
    return window.ParleyClient.createClient({
      async url() {
        if (needToken || !state.token) await refreshToken();
        return WS_BASE + "/ws/widget/?token=" + encodeURIComponent(state.token);
      },
      outbox: window.ParleyClient.storedOutbox(window.localStorage, KEY + ":outbox"),
      hooks: {
        status(name) {
          if (name !== "online") state.starting = false;
          render.connection();
        },
        connectFailed(err) {
          if (err && err.fatal) block(err.message);
        },
        authFailed({ code, reason }) {
          if (code === 4401) {
            needToken = true; // the token expired or is bad: get a fresh one, then reconnect
            client.retry();
          } else {
            block(reason || "This chat cannot be used on this page.");
          }
        },
        hello: onHello,
        conversation(c, f) {
          if (f.type === "messages.batch") {
            if (c.id === state.convId) setConversation(c);
          } else if (c.id === state.convId || !state.convId || c.id > state.convId) {
            setConversation(c); // the client then fetches what last_seq says is missing
          }
        },
        unknownMessage(m) {
          // Another tab may have started a newer conversation: follow it.
          if (!state.convId || m.conversation > state.convId) {
            resetConversation(m.conversation);
            client.resume(m.conversation, true);
          }
        },
        isOwn: (id, m) => isMine(m),
        message: applyMessage,
        updated: onUpdated,
        arrived: () => render.unread(),
        receiptWanted: (id) => id === state.convId && { read: isReading() },
        receiptsSent: () => render.unread(),
        outbox: () => render.pending(),
        unaddressed() {
          if (isOpenConversation()) client.address(state.conv.id);
          else if (!state.starting) {
            // No open conversation: start one (idempotent across tabs), then send into it.
            state.starting = true;
            const lang = navigator.language || "";
            client.send({ type: "conversation.start", id: client.nextId("s"), language: LOCALE_RE.test(lang) ? lang : "" });
          }
        },
        refused(entry, f) {
          // The conversation is not ours (any more): send it into a fresh one.
          if (f.code === "not_found" || f.code === "forbidden") return "readdress";
          if (entry) state.failed.push({ ...entry, reason: f.message });
          // Refused for good (e.g. message_blocked): never resent; the text goes back to edit.
          if (entry && !el.input.value.trim()) el.input.value = entry.body;
        },
        lost: () => resetConversation(null),
        error: onError,
        frame: handle,
      },
    });
  }

  function block(reason) {
    state.blocked = reason;
    client.stop();
    render.connection();
  }

  // --- frames from the server (what client.js leaves to the widget) ------------------------
  function handle(f) {
    switch (f.type) {
      case "conversation.started":
        state.starting = false;
        if (client.fresh(f.conversation)) setConversation(f.conversation);
        return; // the client then sends the outbox into it
      case "queue.position":
        if (f.conversation === state.convId || !state.convId) state.queue = f;
        return render.header();
      case "receipt.updated":
        return onReceipt(f);
      case "typing":
        return onTyping(f);
    }
  }

  function onHello(f) {
    const open = (f.conversations || [])
      .filter((c) => OPEN.includes(c.status))
      .sort((a, b) => b.id - a.id)[0];
    if (open) setConversation(open);
    render.connection();
    if (state.convId) client.resume(state.convId, true); // after a reconnect, always ask
  }

  function setConversation(c) {
    if (!c) return;
    if (c.id !== state.convId) {
      if (state.convId && c.id < state.convId) return; // an older one: keep the newer
      resetConversation(c.id);
    }
    state.conv = c;
    client.noteTop(c.id, c.last_seq);
    for (const p of c.participants || []) {
      if (p.role === "customer") {
        client.cursors(c.id, p.delivered_seq, p.read_seq);
      } else if (p.role === "agent") {
        state.peer.delivered = Math.max(state.peer.delivered, p.delivered_seq);
        state.peer.read = Math.max(state.peer.read, p.read_seq);
      }
    }
    render.header();
    render.ticks();
  }

  function resetConversation(id) {
    if (state.convId) client.forget(state.convId);
    state.convId = id;
    local.set("conv", id);
    if (id) client.track(id, 0);
    state.conv = null;
    state.messages = [];
    state.peer = { delivered: 0, read: 0 };
    state.queue = null;
    clearTyping();
    render.all();
  }

  function applyMessage(id, m) {
    // In order and once (client.js deduplicates and resumes gaps).
    state.messages.push(m);
    if (m.sender.role === "agent" && state.peer.read < m.seq) {
      // The server moves a sender's cursors to its own message without a receipt.updated.
      state.peer.read = state.peer.delivered = m.seq;
      render.ticks();
    }
    stopTyping(m.sender.participant);
    render.message(m);
  }

  function onUpdated(id, m) {
    // The language pipeline changed a delivered message (translation, moderation): replace it.
    const i = state.messages.findIndex((x) => x.seq === m.seq);
    if (i < 0) return;
    state.messages[i] = m;
    const old = el.list.querySelector('li[data-seq="' + m.seq + '"]');
    if (old) old.replaceWith(messageNode(m, null, state.messages[i - 1]));
    render.choices();
  }

  function onReceipt(f) {
    if (f.conversation !== state.convId) return;
    if (f.role === "customer") client.cursors(f.conversation, f.delivered_seq, f.read_seq);
    else if (f.role === "agent") {
      state.peer.delivered = Math.max(state.peer.delivered, f.delivered_seq);
      state.peer.read = Math.max(state.peer.read, f.read_seq);
    } else return;
    render.ticks();
    render.unread();
  }

  function onError(f) {
    // What client.js does not handle itself: rate limits (it retries) and our own frames.
    const ref = typeof f.ref === "string" ? f.ref : "";
    if (f.code === "rate_limited") {
      state.starting = false;
      return;
    }
    if (ref.startsWith("s")) {
      state.starting = false;
      setTimeout(() => client.flush(), 2000);
    }
  }

  // --- sending -----------------------------------------------------------------------------
  function isOpenConversation() {
    return state.conv && OPEN.includes(state.conv.status);
  }

  function submit(text, choice) {
    const body = text.trim();
    if (!body || state.blocked) return false;
    client.typingStop();
    client.enqueue({
      body,
      conversation: isOpenConversation() ? state.conv.id : null,
      ...(choice ? { choice } : {}),
    });
    if (!client.connected) client.connect();
    return true;
  }

  // Receipts (client.js): delivered on arrival, read while the panel is open and the tab visible.
  function isReading() {
    return state.open && document.visibilityState === "visible";
  }

  function afterArrival() {
    if (state.convId) client.arrived(state.convId);
    render.unread();
  }

  // Typing: client.js paces the frames; the widget says what is in the composer.
  function typingInput(text) {
    if (isOpenConversation()) client.typing(state.conv.id, text);
  }

  function onTyping(f) {
    if (f.conversation !== state.convId || f.role === "customer") return; // my other tabs
    if (f.state === "stop") return stopTyping(f.participant);
    const current = state.typing.get(f.participant);
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(() => stopTyping(f.participant), 6000);
    state.typing.set(f.participant, { name: f.name, timer });
    render.typing();
  }

  function stopTyping(participant) {
    const current = state.typing.get(participant);
    if (!current) return;
    clearTimeout(current.timer);
    state.typing.delete(participant);
    render.typing();
  }

  function clearTyping() {
    for (const participant of Array.from(state.typing.keys())) stopTyping(participant);
  }

  // --- view --------------------------------------------------------------------------------
  const ICONS = {
    chat: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z" fill="currentColor"/></svg>',
    close: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none"/></svg>',
    send: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3.4 20.6 21 12 3.4 3.4 3.4 10l12.6 2-12.6 2z" fill="currentColor"/></svg>',
  };
  const TICKS = {
    sending: { text: "◷", label: "Sending" },
    sent: { text: "✓", label: "Sent" },
    delivered: { text: "✓✓", label: "Delivered" },
    read: { text: "✓✓", label: "Read" },
    failed: { text: "!", label: "Not sent" },
  };

  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.pw { --brand: #2456d6; --brand-dark: #1a44b0; --ink: #1c2433; --muted: #6b7587; --line: #e6e9ef;
  --bubble: #f1f3f7; position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); -webkit-font-smoothing: antialiased; }
button { font: inherit; cursor: pointer; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.launcher { width: 58px; height: 58px; border-radius: 50%; border: 0; background: var(--brand); color: #fff;
  display: grid; place-items: center; box-shadow: 0 8px 24px rgba(20, 40, 100, .28); position: relative;
  margin-left: auto; transition: transform .15s ease, background .15s; }
.launcher:hover { background: var(--brand-dark); transform: translateY(-1px); }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #9db6ff; outline-offset: 2px; }
.launcher svg { width: 26px; height: 26px; }
.launcher .close-icon { display: none; }
.launcher[aria-expanded="true"] .chat-icon { display: none; }
.launcher[aria-expanded="true"] .close-icon { display: block; }
.badge { position: absolute; top: -3px; right: -3px; min-width: 20px; height: 20px; padding: 0 6px;
  border-radius: 10px; background: #e5484d; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 20px; text-align: center; box-shadow: 0 0 0 2px #fff; }
.panel { width: 370px; height: min(600px, calc(100vh - 110px)); margin-bottom: 14px; background: #fff;
  border-radius: 16px; box-shadow: 0 18px 50px rgba(20, 30, 60, .25), 0 0 0 1px rgba(20, 30, 60, .06);
  display: flex; flex-direction: column; overflow: hidden; animation: rise .18s ease-out; }
.panel[hidden] { display: none; }
@keyframes rise { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
header { background: linear-gradient(135deg, var(--brand), #3b6ff0); color: #fff; padding: 16px 14px 16px 18px;
  display: flex; align-items: center; gap: 12px; }
header .avatar { width: 38px; height: 38px; border-radius: 50%; background: rgba(255,255,255,.2);
  display: grid; place-items: center; font-weight: 700; flex: none; }
header .avatar svg { width: 20px; height: 20px; }
header .titles { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 16px; font-weight: 650; }
header p { margin: 2px 0 0; font-size: 12.5px; opacity: .88; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.icon { width: 34px; height: 34px; border-radius: 8px; border: 0; background: transparent; color: #fff;
  display: grid; place-items: center; }
.icon:hover { background: rgba(255,255,255,.16); }
.icon svg { width: 18px; height: 18px; }
.banner { padding: 8px 14px; font-size: 12.5px; background: #fff6e0; color: #7a5300; border-bottom: 1px solid #f3e2b4; }
.banner.error { background: #fdecec; color: #8b1c1c; border-color: #f5caca; }
.banner[hidden], .queue[hidden], .choices[hidden] { display: none; }
.queue { padding: 9px 14px; font-size: 12.5px; background: #eef3ff; color: #23408e; border-bottom: 1px solid #dbe4fb; }
.queue.offline { background: #fff6e0; color: #7a5300; border-color: #f3e2b4; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 2px; max-width: 92%; }
.choices button { border: 1px solid var(--brand); color: var(--brand); background: #fff; border-radius: 16px;
  padding: 6px 12px; font-size: 13px; font-weight: 550; }
.choices button:hover { background: var(--brand); color: #fff; }
.link { border: 0; background: none; padding: 0; color: var(--brand); font-size: 11px; cursor: pointer; text-decoration: underline; }
.scroll { flex: 1; overflow-y: auto; padding: 16px 14px 6px; background: #fbfcfe; scroll-behavior: smooth; }
ol { list-style: none; margin: 0; padding: 0; }
.empty { text-align: center; color: var(--muted); margin: 40px 18px; font-size: 13.5px; }
.empty strong { display: block; color: var(--ink); font-size: 15px; margin-bottom: 4px; }
li.msg { display: flex; flex-direction: column; align-items: flex-start; margin: 2px 0 8px; max-width: 100%; }
li.msg.mine { align-items: flex-end; }
.who { font-size: 11.5px; color: var(--muted); margin: 6px 0 3px 4px; }
.bubble { max-width: 82%; padding: 8px 12px; border-radius: 16px 16px 16px 4px; background: var(--bubble);
  white-space: pre-wrap; overflow-wrap: anywhere; }
li.mine .bubble { background: var(--brand); color: #fff; border-radius: 16px 16px 4px 16px; }
li.bot .bubble { background: #eef6f1; border: 1px solid #d6eadc; }
li.system .bubble { background: #fff; border: 1px solid var(--line); font-size: 13px; }
.meta { font-size: 11px; color: var(--muted); margin: 3px 6px 0; display: flex; gap: 6px; align-items: center; }
.tick { letter-spacing: -3px; padding-right: 3px; font-weight: 700; font-size: 12px; }
.tick[data-status="read"] { color: var(--brand); }
.tick[data-status="failed"] { color: #c4262b; letter-spacing: 0; }
li.pending .bubble { opacity: .75; }
li.failed .bubble { background: #fbe9e9; color: #8b1c1c; }
li.event { text-align: center; color: var(--muted); font-size: 12px; margin: 10px 12px; }
.typing { padding: 0 16px 6px; font-size: 12px; color: var(--muted); background: #fbfcfe; min-height: 18px; }
.typing[hidden] { display: block; visibility: hidden; }
.dots span { display: inline-block; width: 5px; height: 5px; margin-right: 2px; border-radius: 50%;
  background: var(--muted); animation: blink 1.2s infinite; }
.dots span:nth-child(2) { animation-delay: .2s; } .dots span:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
form { display: flex; align-items: flex-end; gap: 8px; padding: 10px 10px 10px 14px; border-top: 1px solid var(--line); background: #fff; }
textarea { flex: 1; resize: none; border: 1px solid var(--line); border-radius: 12px; padding: 9px 12px;
  font: inherit; color: inherit; max-height: 120px; min-height: 40px; background: #fff; }
textarea:focus { border-color: #9db6ff; outline: none; }
.send { width: 40px; height: 40px; border: 0; border-radius: 12px; background: var(--brand); color: #fff;
  display: grid; place-items: center; flex: none; }
.send:disabled { background: #c5cde0; cursor: default; }
.send svg { width: 18px; height: 18px; }
.brand { text-align: center; font-size: 11px; color: #9aa3b2; padding: 0 0 8px; background: #fff; }
@media (max-width: 480px) {
  .pw { right: 12px; bottom: 12px; left: 12px; }
  .panel { width: 100%; height: calc(100vh - 100px); }
}
@media (prefers-reduced-motion: reduce) { .panel, .dots span, .launcher { animation: none; transition: none; } }
`;

  const host = document.createElement("div");
  host.setAttribute("data-testid", "parley-widget");
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" + CSS + "</style>" +
    '<div class="pw">' +
    '<section class="panel" id="pw-panel" data-testid="parley-panel" role="dialog" aria-labelledby="pw-title" hidden>' +
    '<header><div class="avatar">' + ICONS.chat + "</div>" +
    '<div class="titles"><h2 id="pw-title"></h2><p data-testid="parley-status"></p></div>' +
    '<button type="button" class="icon" data-testid="parley-close" aria-label="Close chat">' + ICONS.close + "</button></header>" +
    '<div class="banner" data-testid="parley-banner" role="status" hidden></div>' +
    '<div class="queue" data-testid="parley-queue" role="status" hidden></div>' +
    '<div class="scroll">' +
    '<div class="empty" data-testid="parley-empty"><strong>Hi there!</strong>Ask us anything about products, orders or delivery. We usually reply in a few minutes.</div>' +
    '<ol data-testid="parley-messages" role="log" aria-live="polite" aria-label="Conversation"></ol>' +
    '<ol data-testid="parley-pending" aria-label="Messages being sent"></ol></div>' +
    '<div class="typing" data-testid="parley-typing" aria-live="polite" hidden></div>' +
    '<form><label class="sr-only" for="pw-input">Your message</label>' +
    '<textarea id="pw-input" data-testid="parley-input" rows="1" maxlength="4000" placeholder="Write a message…" enterkeyhint="send"></textarea>' +
    '<button type="submit" class="send" data-testid="parley-send" aria-label="Send message">' + ICONS.send + "</button></form>" +
    '<div class="brand">Powered by Parley</div></section>' +
    '<button type="button" class="launcher" data-testid="parley-launcher" aria-controls="pw-panel" aria-expanded="false" aria-label="Open chat">' +
    '<span class="chat-icon">' + ICONS.chat + '</span><span class="close-icon">' + ICONS.close + "</span>" +
    '<span class="badge" data-testid="parley-unread" hidden></span></button></div>';

  const $ = (sel) => root.querySelector(sel);
  const el = {
    panel: $(".panel"),
    title: $("#pw-title"),
    status: $("[data-testid=parley-status]"),
    banner: $(".banner"),
    queue: $(".queue"),
    scroll: $(".scroll"),
    empty: $(".empty"),
    list: $("[data-testid=parley-messages]"),
    pending: $("[data-testid=parley-pending]"),
    typing: $(".typing"),
    form: $("form"),
    input: $("textarea"),
    send: $(".send"),
    launcher: $(".launcher"),
    badge: $(".badge"),
    close: $("[data-testid=parley-close]"),
  };
  el.title.textContent = TITLE;

  function isMine(m) {
    return m.sender && m.sender.role === "customer";
  }

  function tickStatus(seq) {
    if (seq <= state.peer.read) return "read";
    if (seq <= state.peer.delivered) return "delivered";
    return "sent";
  }

  function timeOf(iso) {
    const d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function messageNode(m, status, prev) {
    const li = document.createElement("li");
    li.setAttribute("data-testid", "parley-message");
    li.dataset.kind = m.kind || "text";
    if (m.seq) li.dataset.seq = m.seq;
    if (m.kind === "event") {
      li.className = "event";
      li.textContent = m.body;
      return li;
    }
    const mine = status ? true : isMine(m);
    li.className = "msg " + (mine ? "mine" : m.kind) + (status === "sending" ? " pending" : "") + (status === "failed" ? " failed" : "");
    li.dataset.mine = mine ? "true" : "false";
    if (!mine && m.sender && (!prev || prev.sender.participant !== m.sender.participant || prev.kind === "event")) {
      const who = document.createElement("div");
      who.className = "who";
      who.textContent = m.kind === "system" ? "System" : m.sender.name;
      li.appendChild(who);
    }
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.setAttribute("data-testid", "parley-message-body");
    const translated = translationOf(m);
    bubble.textContent = translated || m.body;
    li.appendChild(bubble);
    if (m.kind === "bot" && m.data && Array.isArray(m.data.buttons) && m.data.buttons.length) {
      const choices = document.createElement("div");
      choices.className = "choices";
      choices.setAttribute("data-testid", "parley-choices");
      choices.setAttribute("role", "group");
      choices.setAttribute("aria-label", "Answers");
      choices.hidden = true; // render.choices() shows the current question's only
      for (const b of m.data.buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.setAttribute("data-testid", "parley-choice");
        btn.textContent = b.label;
        btn.addEventListener("click", () => {
          choices.hidden = true;
          submit(b.label, String(b.id));
        });
        choices.appendChild(btn);
      }
      li.appendChild(choices);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    const time = document.createElement("time");
    time.textContent = timeOf(m.created_at);
    meta.appendChild(time);
    if (translated) {
      // Shown in the reader's language; the original is one click away.
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "link";
      toggle.setAttribute("data-testid", "parley-original-toggle");
      toggle.textContent = "Show original";
      let original = false;
      toggle.addEventListener("click", () => {
        original = !original;
        bubble.textContent = original ? m.body : translated;
        toggle.textContent = original ? "Show translation" : "Show original";
      });
      meta.appendChild(toggle);
    }
    if (mine && m.moderation === "masked") {
      const note = document.createElement("span");
      note.textContent = "Some words were hidden";
      meta.appendChild(note);
    }
    if (mine) {
      const tick = document.createElement("span");
      tick.className = "tick";
      tick.setAttribute("data-testid", "parley-tick");
      meta.appendChild(tick);
      setTick(li, tick, status || tickStatus(m.seq));
    }
    if (status === "failed" && m.reason) {
      const why = document.createElement("span");
      why.textContent = m.reason;
      meta.appendChild(why);
    }
    li.appendChild(meta);
    return li;
  }

  function translationOf(m) {
    const view = m.view || {};
    const t = view.as === "recipient" && view.language && m.translations && m.translations[view.language];
    return t && t.state === "done" && t.body && t.body !== m.body ? t.body : null;
  }

  function setTick(li, tick, status) {
    li.dataset.status = status;
    tick.dataset.status = status;
    tick.textContent = TICKS[status].text;
    tick.title = TICKS[status].label;
    tick.setAttribute("aria-label", TICKS[status].label);
  }

  function nearBottom() {
    return el.scroll.scrollHeight - el.scroll.scrollTop - el.scroll.clientHeight < 80;
  }

  function scrollDown() {
    el.scroll.scrollTop = el.scroll.scrollHeight;
  }

  const render = {
    all() {
      el.list.textContent = "";
      state.messages.forEach((m, i) => el.list.appendChild(messageNode(m, null, state.messages[i - 1])));
      this.pending();
      this.header();
      this.typing();
      this.unread();
    },
    message(m) {
      const stick = nearBottom();
      el.list.appendChild(messageNode(m, null, state.messages[state.messages.length - 2]));
      this.pending();
      if (stick || isMine(m)) scrollDown();
    },
    pending() {
      el.pending.textContent = "";
      const items = client.pending(state.convId, true); // accepted (by seq), then unsent
      for (const e of items) {
        el.pending.appendChild(messageNode({ kind: "text", body: e.body, created_at: e.created_at }, e.seq ? "sent" : "sending"));
      }
      for (const e of state.failed) {
        el.pending.appendChild(messageNode({ kind: "text", body: e.body, created_at: e.created_at, reason: e.reason }, "failed"));
      }
      el.empty.hidden = state.messages.length > 0 || items.length > 0 || state.failed.length > 0;
      if (items.length) scrollDown();
      this.choices();
    },
    choices() {
      // Only the bot's current question (asked after the customer's last answer) offers
      // its buttons and input hint; answering hides them.
      let answered = client.outbox().length > 0 ? Infinity : 0;
      let asked = null;
      for (const m of state.messages) {
        if (isMine(m)) answered = Math.max(answered, m.seq);
        else if (m.kind === "bot") asked = m;
      }
      const current = asked && asked.seq > answered ? asked : null;
      for (const box of el.list.querySelectorAll(".choices")) {
        box.hidden = !current || Number(box.closest("li").dataset.seq) !== current.seq;
      }
      const hint = (current && current.data && current.data.input) || {};
      const modes = { email: "email", phone: "tel", number: "numeric" };
      el.input.setAttribute("inputmode", modes[hint.type] || "text");
      el.input.placeholder = hint.placeholder || (hint.type === "email" ? "name@example.com" : "Write a message…");
      if (current && current.seq !== shownQuestion) scrollDown();
      shownQuestion = current ? current.seq : 0;
    },
    ticks() {
      for (const li of el.list.querySelectorAll("li.mine")) {
        const status = tickStatus(Number(li.dataset.seq));
        if (li.dataset.status !== status) setTick(li, li.querySelector(".tick"), status);
      }
    },
    header() {
      const c = state.conv;
      let text = "We usually reply in a few minutes";
      if (c) {
        if (c.status === "assigned" && c.assignee) text = "You are chatting with " + c.assignee.name;
        else if (WAITING.includes(c.status)) text = "Waiting for an agent…";
        else if (c.status === "bot") text = "Our assistant is here to help";
        else if (c.status === "resolved" || c.status === "abandoned") text = "Conversation closed. Write to start a new one";
      }
      el.status.textContent = text;
      const q = state.queue;
      const waiting = q && q.message && (!c || WAITING.includes(c.status)) && q.conversation === state.convId;
      el.queue.hidden = !waiting;
      el.queue.textContent = waiting ? q.message : "";
      el.queue.classList.toggle("offline", Boolean(waiting && q.mode === "offline"));
    },
    typing() {
      const names = Array.from(state.typing.values()).map((t) => t.name);
      el.typing.hidden = names.length === 0;
      el.typing.innerHTML = names.length ? '<span class="dots"><span></span><span></span><span></span></span> ' : "";
      if (names.length) el.typing.append(names.join(", ") + (names.length > 1 ? " are" : " is") + " typing…");
    },
    unread() {
      const count = state.messages.filter((m) => m.seq > me().read && !isMine(m) && m.kind !== "event").length;
      const show = count > 0 && !state.open;
      el.badge.hidden = !show;
      el.badge.textContent = show ? String(count) : "";
      el.launcher.setAttribute("aria-label", state.open ? "Close chat" : count ? "Open chat, " + count + " unread" : "Open chat");
    },
    connection() {
      let text = "";
      el.banner.classList.toggle("error", Boolean(state.blocked));
      if (state.blocked) text = "Chat unavailable: " + state.blocked;
      else if (!client.ready && client.everConnected) text = "Connection lost. Reconnecting… your messages will be sent.";
      el.banner.hidden = !text;
      el.banner.textContent = text;
      el.input.disabled = el.send.disabled = Boolean(state.blocked);
      if (state.blocked) el.empty.hidden = true;
    },
  };

  function setOpen(open) {
    state.open = open;
    tab.set("open", open);
    el.panel.hidden = !open;
    el.launcher.setAttribute("aria-expanded", String(open));
    render.unread();
    if (open) {
      scrollDown();
      el.input.focus({ preventScroll: true });
      afterArrival(); // the customer now sees the messages: read receipt
    }
  }

  // --- events ------------------------------------------------------------------------------
  el.launcher.addEventListener("click", () => {
    setOpen(!state.open);
    if (!state.open) el.launcher.focus();
  });
  el.close.addEventListener("click", () => {
    setOpen(false);
    el.launcher.focus();
  });
  el.panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      setOpen(false);
      el.launcher.focus();
    }
  });
  el.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (submit(el.input.value)) {
      el.input.value = "";
      tab.set("draft", "");
      autosize();
    }
  });
  el.input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      el.form.requestSubmit();
    }
  });
  function autosize() {
    el.input.style.height = "auto";
    el.input.style.height = Math.min(el.input.scrollHeight + 2, 120) + "px";
  }
  el.input.addEventListener("input", () => {
    autosize();
    tab.set("draft", el.input.value);
    typingInput(el.input.value);
  });
  el.input.value = tab.get("draft", "");

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    if (!client) return;
    if (!client.connected && !state.blocked) client.connect();
    else if (state.convId) client.resume(state.convId, true); // background tabs miss pushes
    afterArrival();
  });
  window.addEventListener("online", () => {
    if (client && !state.blocked) client.wake(); // connect now, with a fresh back-off
  });
  window.addEventListener("storage", (ev) => {
    // Another tab changed the outbox or saw a newer conversation.
    if (client && ev.key === KEY + ":outbox") render.pending();
  });

  function mount() {
    client = makeClient();
    if (state.convId) client.track(state.convId, 0);
    document.body.appendChild(host);
    render.all();
    setOpen(state.open);
    render.connection();
    client.connect();
  }

  // The protocol client sits beside this file (same origin, same version); one tag still
  // embeds the widget. A page that already loaded it (or a test) is not asked twice.
  function withClient(ready, tries) {
    if (window.ParleyClient) return ready();
    const tag = document.createElement("script");
    tag.src = new URL("client.js", script.src).href;
    if (script.nonce) tag.nonce = script.nonce; // a page's CSP that allowed us allows it
    tag.onload = () => (window.ParleyClient ? ready() : undefined);
    tag.onerror = () => {
      tag.remove();
      if (tries < 5) setTimeout(() => withClient(ready, tries + 1), 2000 * 2 ** tries);
    };
    (document.head || document.documentElement).appendChild(tag);
  }

  withClient(() => {
    if (document.body) mount();
    else document.addEventListener("DOMContentLoaded", mount);
  }, 0);
})();
