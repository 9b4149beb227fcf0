// The floor dashboard's words (no DOM here, so tests/js/floor_text.test.js runs it in node):
// what a supervisor's action did, said with the names on the floor, and how a waiting row's
// state and wait read. The codes' labels themselves come from the server (the snapshot's
// *_label fields, from the same model choices as admin), never from a copy here.

function agentName(snap, id) {
  const a = (snap?.agents || []).find((x) => x.id === id);
  if (a) return a.name;
  return id == null ? "The agent" : `Agent ${id}`;
}

function queueName(snap, id) {
  const q = (snap?.queues || []).find((x) => x.id === id);
  if (q) return `Queue ${q.name}`;
  return id == null ? "The queue" : `Queue ${id}`;
}

// The toast after an action's ack: `action` is the frame the page sent (floor.reassign,
// floor.agent_away, floor.queue_close), `snap` the last snapshot (for names), `ack` the
// server's answer (its status, when it has one).
export function actionText(action, snap, ack = {}) {
  action = action || {}; // an ack whose frame this page no longer holds (a reload)
  const type = action.type || ack.for;
  if (type === "floor.agent_away") {
    const status = ack.status || "away";
    return `${agentName(snap, action.agent)} is now ${status}`;
  }
  if (type === "floor.reassign") {
    const id = ack.conversation ?? action.conversation;
    const to = action.to_agent == null ? "another agent" : agentName(snap, action.to_agent);
    return `Conversation #${id} reassigned to ${to}`;
  }
  if (type === "floor.queue_close") {
    const closed = ack.status ? ack.status === "closed" : Boolean(action.closed);
    const name = queueName(snap, action.queue);
    return closed ? `${name} closed to new chats` : `${name} open to new chats again`;
  }
  return "Done.";
}

// A waiting row: an offline message is not a live wait (README, "Supervising the floor"):
// it says so and shows its age, never in red; a live chat is red once past the SLA.
export function waitingCells(w) {
  const state = w.state_label || w.state;
  if (w.offline) return { state, badge: "offline message", wait: w.wait_s, bad: false };
  return { state, badge: null, wait: w.wait_s, bad: Boolean(w.past_sla) };
}

// An active (held) chat: how long its customer has waited for a reply, against the queue's
// reply target (as the agent's console times it); "not waiting" once answered (or before a first message).
export function activeCells(a) {
  if (a.awaiting_s == null) return { reply: "not waiting", bad: false };
  return { reply: a.awaiting_s, bad: Boolean(a.past_target) };
}

// Under a list cut at the server's bound (LIST_LIMIT rows per snapshot): how many of how
// many are shown, and in which order, so a floor with 200 waiting never silently shows 50.
// `total` comes from the snapshot's counts (the queues' waiting + offline, the agents' held
// chats); "" when every row is shown.
export function listNote(shown, total, order) {
  if (total == null || total <= shown) return "";
  return `${shown} of ${total} shown (${order}).`;
}

// The totals behind the two cut lists, from the snapshot's rows.
export function listTotals(snap) {
  const sum = (rows, f) => (rows || []).reduce((n, r) => n + (f(r) || 0), 0);
  return {
    waiting: sum(snap.queues, (q) => q.waiting + q.offline),
    active: (snap.agents || []).some((a) => a.held != null) ? sum(snap.agents, (a) => a.held) : null,
  };
}
