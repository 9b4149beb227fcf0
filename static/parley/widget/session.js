// The widget's session: its visitor token (fetched from the server, refreshed once per page
// load and after a 4401) and the shared protocol client, wired to the widget's hooks.
import { createClient, storedOutbox } from "../client/index.js";
import { applyMessage, handle, isReading, onError, onHello, onUpdated, resetConversation, setConversation } from "./conversation.js";
import { el } from "./dom.js";
import { renderPrechat } from "./prechat.js";
import { render } from "./render.js";
import { client, env, isMine, isOpenConversation, local, startFrame, state, t, useClient } from "./state.js";

const IDENTITY = [["externalId", "external_id"], ["userHash", "user_hash"], ["name", "name"], ["email", "email"]];
let needToken = true; // every page load refreshes its token once

async function refreshToken() {
  // Another tab's refresh revoked this tab's token and stored its own: use that one.
  state.token = local.get("token", null) || state.token;
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
  renderPrechat();
  local.set("token", data.token);
  needToken = false;
  if (data.customer && local.get("customer", null) !== data.customer.id) {
    // A different visitor (the old token was refused): forget the old one's conversation.
    local.set("customer", data.customer.id);
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

/** Make the protocol client (client/index.js) the rest of the widget uses. */
export function makeClient() {
  const made = createClient({
    async url() {
      if (needToken || !state.token) await refreshToken();
      return env.WS_BASE + "/ws/widget/?token=" + encodeURIComponent(state.token);
    },
    outbox: storedOutbox(window.localStorage, env.KEY + ":outbox"),
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
          client.send(startFrame(client.nextId("s")));
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
  useClient(made);
  return made;
}

function block(reason) {
  state.blocked = reason;
  client.stop();
  render.connection();
}
