// The floor dashboard (supervision/templates/supervision/floor.html): the shared protocol
// client over /ws/floor/ (back-off, heartbeat, seq order of followed conversations), the
// server's floor.snapshot frames drawn as they come (no polling), and the supervisor's
// actions as frames. docs/protocol.md, "The floor dashboard".
import { createClient } from "../parley/client/index.js";
import { $, appendMessage, renderSnapshot, toast, transcriptBox } from "./render.js";
import { actionText } from "./text.js";

const cfg = JSON.parse(document.getElementById("floor-config").textContent);
const following = new Set();
const pending = new Map(); // an action frame's id -> the frame, to say what its ack did
const followsAsked = new Map(); // a floor.follow frame's id -> the conversation it asked for
let lastSnapshot = null;

function setConnection(state) {
  const el = $("#floor-connection");
  el.dataset.state = state;
  el.textContent = { online: "", connecting: "Connecting…", offline: "Reconnecting…", blocked: "Refused." }[state] || state;
}

const client = createClient({
  url: () => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${cfg.wsPath}`,
  heartbeatInterval: cfg.heartbeatInterval || 20,
  hooks: {
    status: (name) => setConnection(name === "stopped" ? "blocked" : name),
    authFailed({ code, reason }) {
      if (code === 4401) location.assign(`${cfg.loginUrl}?next=${encodeURIComponent(location.pathname)}`);
      else setConnection("blocked"), toast(reason || "Refused.");
    },
    hello() {
      // A new socket follows nothing yet: follow again from what we hold.
      for (const id of following) follow(id);
    },
    frame(f) {
      if (f.type === "floor.snapshot") {
        lastSnapshot = f;
        renderSnapshot(f, { adminConversationUrl: cfg.adminConversationUrl });
      } else if (f.type === "ack" && f.for === "floor.follow") {
        // The server may show it (it exists, the supervisor may see it): only now a panel.
        followsAsked.delete(f.ref);
        if (following.has(f.conversation)) transcriptBox(f.conversation);
      } else if (f.type === "ack" && f.for !== "floor.follow" && f.for !== "floor.unfollow") {
        const action = pending.get(f.ref);
        pending.delete(f.ref);
        toast(actionText(action, lastSnapshot, f));
      }
    },
    message: (id, m) => following.has(id) && appendMessage(id, m),
    unknownMessage() {},
    receiptWanted: () => null, // read-only: a supervisor's reading moves no cursor
    error: (f) => {
      pending.delete(f.ref);
      if (followsAsked.has(f.ref)) {
        // A follow refused (no such conversation, too many): nothing to follow, no panel.
        const id = followsAsked.get(f.ref);
        followsAsked.delete(f.ref);
        dropFollow(id);
      }
      toast(f.message || f.code);
    },
  },
});

// The panel appears on the server's ack (or a message of it), never before: a follow of a
// conversation that does not exist gets its error toast and no empty "#99999" panel.
function follow(id) {
  following.add(id);
  const held = client.get(id);
  client.track(id, held ? held.lastSeq : 0);
  const ref = client.nextId("f");
  followsAsked.set(ref, id);
  client.send({ type: "floor.follow", id: ref, conversation: id, after_seq: held ? held.lastSeq : 0 }, true);
}

function dropFollow(id) {
  following.delete(id);
  client.forget(id);
  document.getElementById(`floor-follow-${id}`)?.remove();
}

function unfollow(id) {
  dropFollow(id);
  client.send({ type: "floor.unfollow", id: client.nextId("u"), conversation: id }, true);
}

document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-action]");
  if (!b) return;
  const d = b.dataset;
  const send = (frame) => {
    const full = { id: client.nextId("a"), ...frame };
    pending.set(full.id, full);
    client.send(full, true);
  };
  if (d.action === "queue") send({ type: "floor.queue_close", queue: Number(d.queue), closed: Boolean(d.closed) });
  else if (d.action === "away") send({ type: "floor.agent_away", agent: Number(d.agent) });
  else if (d.action === "follow") follow(Number(d.conversation));
  else if (d.action === "unfollow") unfollow(Number(d.conversation));
  else if (d.action === "reassign") {
    const select = document.querySelector(`select[data-reassign-for="${d.conversation}"]`);
    if (!select || !select.value) return toast("Choose an agent first.");
    send({ type: "floor.reassign", conversation: Number(d.conversation), to_agent: Number(select.value) });
  }
});

$("#floor-follow-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = Number(new FormData(e.target).get("conversation"));
  if (id > 0) follow(id);
});

client.connect();
