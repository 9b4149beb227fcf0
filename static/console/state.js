// The console's state: who I am, the conversations it holds, what is selected, and the
// protocol client (made by console.js). The other modules read it; none of it renders.

export const cfg = JSON.parse(document.getElementById("parley-console-config").textContent);
export const ME = cfg.userId;
export const MY_NAME = cfg.userName;
export const WAITING = ["queued", "offered", "reopened"];
export const OPEN = ["bot", "queued", "offered", "assigned", "reopened"];
export const STATUS_LABEL = {
  bot: "With bot",
  queued: "Waiting",
  offered: "Offered",
  assigned: "Open",
  reopened: "Reopened",
  resolved: "Resolved",
  abandoned: "Abandoned",
};
export const OUTBOX_KEY = `parley:console:${location.host}:${ME}:outbox`;
const SELECTED_KEY = "parley:console:selected";

/** The shared protocol client (client/index.js), set once by console.js. */
export let client = null;
export function useClient(c) {
  client = c;
}

/** id -> conversation record: payload, the messages held (contiguous after `base`), and `s`,
 * the client's seq state (lastSeq, knownTop, accepted, my cursors `me`). */
export const convs = new Map();
/** reservation id -> {res, deadline}: the router's offers to me, counted down locally. */
export const offers = new Map();
/** What the console shows besides conversations: the one on screen, why the socket is
 * refused (if it is), my presence. */
export const ui = {
  selectedId: Number(sessionStorage.getItem(SELECTED_KEY)) || null,
  blocked: null,
  presence: null,
  composerMode: "reply", // or "note": the selected conversation's (composer.js)
  load: 0, // my assigned chats plus open offers, as the top bar shows it (lists.js)
  translation: null, // hello.translation: {enabled, engine, state, reason}
};

export function setSelected(id) {
  ui.selectedId = id;
  if (id) sessionStorage.setItem(SELECTED_KEY, String(id));
  else sessionStorage.removeItem(SELECTED_KEY);
}

export function rec(id) {
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
      notes: [], // internal notes (notes.js), by id
      noteTop: 0,
    };
    convs.set(id, r);
  }
  return r;
}

export function forget(id) {
  convs.delete(id);
  client.forget(id);
}

export const isAssignee = (r) => Boolean(r.c && r.c.assignee && r.c.assignee.id === ME);
/** Invited into someone else's chat (a group conversation): I read and write in it. */
export const isGuest = (r) =>
  Boolean(r.c && !isAssignee(r) && r.c.status === "assigned" && (r.c.participants || []).some((p) => p.role === "agent" && p.active && p.name === MY_NAME));
export const isMine = (r) => isAssignee(r) || isGuest(r);
export const isWaiting = (r) => Boolean(r.c && WAITING.includes(r.c.status));
export const isOpen = (r) => Boolean(r.c && OPEN.includes(r.c.status));

export function isMyMessage(r, m) {
  if (!m.sender) return false;
  if (r.myPid) return m.sender.participant === r.myPid;
  return m.sender.role === "agent" && m.sender.name === MY_NAME;
}

/** What a person wrote to me that I have not read: the customer's messages and another
 * agent's (a group chat), not the bot's questions or system lines. A chat taken from the
 * bot would otherwise open with the whole bot transcript counted as unread. */
export function unreadCount(r) {
  if (!isMine(r)) return 0;
  const person = (m) => m.sender && (m.sender.role === "customer" || m.sender.role === "agent");
  return r.msgs.filter((m) => m.seq > r.s.me.read && m.kind !== "event" && person(m) && !isMyMessage(r, m)).length;
}
