// The widget's session: its visitor token (fetched from the server, refreshed once per page
// load and after a 4401) and the shared protocol client, wired to the widget's hooks. All
// of a site's tabs (one host site: the browser partitions this frame's storage, workers and
// locks by it) share one socket (client/tabs.js) and one outbox (localStorage).
import { createClient, storedOutbox } from "../client/index.js";
import { keyedSocket, tabSocket } from "../client/tabs.js";
import { applyMessage, handle, isReading, onError, onHello, onUpdated, resetConversation, setConversation } from "./conversation.js";
import { el } from "./dom.js";
import { renderPrechat } from "./prechat.js";
import { render } from "./render.js";
import { client, env, isMine, isOpenConversation, local, sharedStorage, startFrame, state, t, useClient } from "./state.js";

const IDENTITY = [["externalId", "external_id"], ["userHash", "user_hash"], ["name", "name"], ["email", "email"]];
let needToken = true; // every page load refreshes its token once
let refused = null; // the token a 4401 refused: another tab may have replaced it already

// The tabs refresh one at a time: when the shared socket closes 4401 every tab hears it,
// and refreshes at once would revoke one another's tokens (a token outlives only the next
// one, for VISITOR_TOKEN_GRACE). The first refreshes; the others find its token stored.
// One refresh at a time in this tab as well: the socket and an early upload (a file picked
// before the first token came) share the request rather than revoking each other's token.
let refreshing = null;
function refreshToken() {
  if (!refreshing) {
    // Without shared storage there is nothing to share (and the Locks API is refused too).
    const locks = sharedStorage && navigator.locks;
    const run = !locks || typeof locks.request !== "function" ? fetchToken() : locks.request(env.KEY + ":token", fetchToken);
    refreshing = run.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** The visitor token for a REST call (an upload): the one in hand, else the first one,
 * fetched now or shared with the socket's fetch already under way. */
export async function visitorToken() {
  if (!state.token) await refreshToken();
  return state.token;
}

async function fetchToken() {
  // Another tab's refresh revoked this tab's token and stored its own: use that one.
  const stored = local.get("token", null);
  if (refused && stored && stored !== refused) {
    state.token = stored;
    refused = null;
    needToken = false;
    return;
  }
  state.token = stored || state.token;
  const body = { site_key: env.SITE };
  if (state.token) body.token = state.token;
  for (const [attr, field] of IDENTITY) if (env.identity[attr]) body[field] = String(env.identity[attr]);
  body.host_origin = env.HOST; // the frame page let only this origin frame it
  body.locale = env.LANG;
  const res = await fetch(env.BASE + "/api/v1/widget/sessions/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "omit",
  });
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
    const data = await res.json().catch(() => ({}));
    const err = new Error((data.error && data.error.message) || t("not_available"));
    err.fatal = true;
    throw err;
  }
  if (!res.ok) throw new Error("session " + res.status);
  const data = await res.json();
  state.token = data.token;
  state.prechatDone = Boolean(data.prechat_done);
  state.email = (data.customer && data.customer.email) || state.email; // for the forms that ask it
  renderPrechat();
  local.set("token", data.token);
  needToken = false;
  refused = null;
  const before = local.get("customer", null);
  if (data.customer && before !== data.customer.id) {
    // A different visitor (the old token was refused, or an identified customer's page
    // gave way to one that names nobody): forget the old one's conversation, and what it
    // left unsent, which must not go out as the new visitor's.
    local.set("customer", data.customer.id);
    if (before !== null && client) {
      // Kept aside, not dropped: they go out when that customer is back (a page that
      // identifies them again), never as this one's.
      const left = client.takeOutbox();
      if (left.length) local.set("parked:" + before, local.get("parked:" + before, []).concat(left));
    }
    const parked = client ? local.get("parked:" + data.customer.id, null) : null;
    if (parked) {
      local.set("parked:" + data.customer.id, null);
      client.restoreOutbox(parked);
    }
    state.failed = [];
    if (state.convId) resetConversation(null);
  }
}

/** The host page says who the customer is (data- attributes, Parley.identify): a changed
 * identity gets a new token (the server checks the signature) and a new socket. */
export function identify(who, reconnect) {
  const next = {};
  for (const [attr] of IDENTITY) if (who && who[attr]) next[attr] = String(who[attr]);
  const same = IDENTITY.every(([attr]) => (env.identity[attr] || "") === (next[attr] || ""));
  env.identity = next;
  if (same && !needToken) return;
  needToken = true;
  if (reconnect && client) {
    client.stop();
    client.retry();
  }
}

/** One hub per site and visitor: a tab whose host page identifies another customer must
 * not join this one's socket. Without shared storage each tab is a visitor of its own
 * (its token in memory), so it keeps its own socket; so does a page that wraps WebSocket
 * (some tests set window.parleyOwnSocket). */
const SharedSocket = keyedSocket(
  () => (env.identity.externalId ? "id:" + env.identity.externalId : "visitor"),
  (who) =>
    tabSocket({
      own: window.parleyOwnSocket || !sharedStorage,
      workerUrl: env.WORKER,
      name: `parley-widget:${env.SITE}:${who}`,
    }),
);

/** Make the protocol client (client/index.js) the rest of the widget uses. */
export function makeClient() {
  window.parleySharedSocket = SharedSocket.kind(); // "worker", "leader" or false: for tests
  const made = createClient({
    async url() {
      if (needToken || !state.token) await refreshToken();
      // The freshest token any tab stored: the shared socket may open with this tab's URL.
      else state.token = local.get("token", null) || state.token;
      return env.WS_BASE + "/ws/widget/?token=" + encodeURIComponent(state.token);
    },
    WebSocket: SharedSocket,
    outbox: storedOutbox(sharedStorage, env.KEY + ":outbox"), // null: this tab's memory
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
          refused = state.token;
          needToken = true; // the token expired or is bad: get a fresh one, then reconnect
          client.retry();
        } else {
          block(reason || t("cannot_use"));
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
      // Read: all of it while the panel is open, else what an open panel showed.
      receiptWanted: (id) => id === state.convId && { read: isReading() || state.seen },
      receiptsSent: () => render.unread(),
      outbox: () => render.pending(),
      unaddressed() {
        if (isOpenConversation()) client.address(state.conv.id);
        else if (!state.starting) {
          // No open conversation: start one (idempotent across tabs), then send into it.
          state.starting = true;
          client.start(startFrame(client.nextId("s")));
        }
      },
      refused(entry, f) {
        // The conversation is not ours (any more): send it into a fresh one.
        if (f.code === "not_found" || f.code === "forbidden") return "readdress";
        if (entry) state.failed.push({ ...entry, reason: f.message, code: f.code });
        // Refused for good (e.g. message_blocked): never resent; the text goes back to edit.
        if (entry && !el.input.value.trim()) el.input.value = entry.body;
      },
      lost: () => resetConversation(null),
      error: onError,
      frame: handle,
    },
  });
  useClient(made);
  return made;
}

function block(reason) {
  state.blocked = reason;
  console.warn(`Parley: the chat cannot run on this page: ${reason}`); // for the site's owner
  client.stop();
  render.connection();
  renderPrechat();
}
