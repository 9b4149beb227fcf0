// The widget's state: where it talks to and as whom (from its script tag), what it keeps in
// storage, the conversation it shows, and the protocol client (made by session.js).

export const OPEN = ["bot", "queued", "offered", "assigned", "reopened"];
export const WAITING = ["queued", "offered", "reopened"];
export const LOCALE_RE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$/;

/** From the embedding tag (configure): SITE, BASE (the server), WS_BASE, TITLE, KEY (the
 * storage prefix) and the tag's dataset. */
export const env = {};

// --- storage: localStorage is shared by tabs, sessionStorage follows one tab's navigation
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

/** `tag`: the widget.js script element; `src`: its URL. */
export function configure(tag, src) {
  const data = tag.dataset;
  env.SITE = data.site;
  env.BASE = (data.server || new URL(src, location.href).origin).replace(/\/+$/, "");
  env.WS_BASE = env.BASE.replace(/^http/, "ws");
  env.TITLE = data.title || "Chat with us";
  env.KEY = "parley:" + env.BASE + ":" + env.SITE;
  env.data = data;
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
    open: tab.get("open", false),
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
