// The widget's state: where it talks to and as whom (from the frame page's config and the
// host page's init message), what it keeps in storage, the conversation it shows, its texts
// and the protocol client (made by session.js).

export const OPEN = ["bot", "queued", "offered", "assigned", "reopened"];
export const WAITING = ["queued", "offered", "reopened"];
export const LOCALE_RE = /^(?=.{2,16}$)[A-Za-z]{2,3}([-_][A-Za-z]{4})?([-_][A-Za-z0-9]{2,8})?$/; // chat/services/validation.py

/** From the frame page's config (configure): SITE, BASE (this origin), WS_BASE, TITLE, KEY
 * (the storage prefix), HOST (the embedding page's origin), LANG, BOT (the site runs a bot
 * flow), TEXTS, WORKER (the shared socket's SharedWorker module); identity ({externalId, userHash, name, email}) comes from the host page. */
export const env = { identity: {}, VISIT: {} };

/** conversation.start, with where the customer is when we know it. */
export function startFrame(id) {
  const frame = { type: "conversation.start", id, language: env.LANG };
  for (const [k, v] of Object.entries(env.VISIT)) if (v) frame[k] = v;
  return frame;
}

/** Tell the host page (at its origin only: a page that claimed another origin hears nothing). */
export function toHost(msg) {
  if (window.parent !== window) window.parent.postMessage(msg, env.HOST);
}

/** A text in the visitor's language (chat/widget_texts.py), placeholders filled. */
export function t(key, vars) {
  const text = (env.TEXTS && env.TEXTS[key]) || key;
  return text.replace(/%\((\w+)\)s/g, (m, name) => (vars && name in vars ? String(vars[name]) : m));
}

// --- storage: localStorage is shared by tabs, sessionStorage follows one tab's navigation.
// A browser that blocks third-party storage (an incognito window, strict tracking
// protection) refuses both to this frame on another site's page: the widget then keeps
// what it knows in memory, as a visitor of this one page, and its tabs share nothing.
function probe(kind) {
  try {
    const s = window[kind];
    s.setItem("parley:probe", "1");
    s.removeItem("parley:probe");
    return s;
  } catch (e) {
    return null;
  }
}
/** localStorage, or null where the browser refuses it to this frame. */
export const sharedStorage = probe("localStorage");
const memory = {};
function storage(kind) {
  return {
    get(name, fallback) {
      try {
        const raw = window[kind].getItem(env.KEY + ":" + name);
        return raw == null ? fallback : JSON.parse(raw);
      } catch (e) {
        return name in memory ? memory[name] : fallback;
      }
    },
    set(name, value) {
      memory[name] = value;
      try {
        window[kind].setItem(env.KEY + ":" + name, JSON.stringify(value));
      } catch (e) {
        /* private mode or quota: memory only */
      }
    },
  };
}
export const local = storage("localStorage");
export const tab = storage("sessionStorage");

/** What the widget shows (filled by configure, once the storage key is known). */
export const state = {};

/** `config`: the frame page's JSON (chat/widget_frame.py). */
export function configure(config) {
  env.SITE = config.site;
  env.BASE = location.origin;
  env.WS_BASE = env.BASE.replace(/^http/, "ws");
  env.TEXTS = config.texts || {};
  env.TITLE = config.title || t("title");
  env.HOST = config.hostOrigin;
  // The host page's address and referrer (the loader's frame URL): only http(s) URLs the
  // server accepts, so that a file: page or an over-long URL never blocks a start.
  const q = new URLSearchParams(location.search);
  const url = (v) => (/^https?:\/\//i.test(v || "") && v.length <= 2000 ? v : "");
  env.VISIT = { page_url: url(q.get("page")), referrer: url(q.get("ref")) };
  env.LANG = config.language || "en";
  env.BOT = Boolean(config.bot);
  env.PRECHAT = config.prechat || [];
  env.KEY = "parley:" + env.SITE;
  env.WORKER = config.sharedWorkerUrl || "";
  Object.assign(state, {
    token: local.get("token", null),
    convId: local.get("conv", null), // the conversation this customer last had
    conv: null, // its payload
    messages: [], // contiguous, in seq order (the client holds the seq cursor)
    starting: false,
    peer: { delivered: 0, read: 0 }, // the agents' furthest cursors
    failed: [], // messages the server refused for good
    typing: new Map(), // participant -> {name, timer}
    queue: null, // the last queue.position frame of the current conversation
    open: false, // the host page says (init, open, close)
    prechatDone: false, // the visitor answered the site's pre-chat form (the session says)
    email: "", // the visitor's address, known from the session or the pre-chat form
    seen: 0, // the last seq shown while the panel was open and the tab visible
    liveFrom: null, // messages past this seq arrived while the page was here: told to the host
    blocked: null, // why the chat cannot run here (close 4403)
    service: null, // the service notice from hello ({state, message}): shown in the banner
  });
}

/** The shared protocol client (client/index.js), set once by session.js. */
export let client = null;
export function useClient(c) {
  client = c;
}

const NO_CURSORS = { delivered: 0, read: 0 };
/** The seq state of the current conversation (the client's), or null. */
export const held = () => (state.convId ? client.get(state.convId) : null);
/** My cursors as the server has them. */
export const me = () => (held() ? held().me : NO_CURSORS);

export function isMine(m) {
  return m.sender && m.sender.role === "customer";
}

export function isOpenConversation() {
  return state.conv && OPEN.includes(state.conv.status);
}
