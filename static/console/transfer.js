// Transfer: to another agent (with their presence and load: only an available one can be
// picked) or to a queue, with a note the receiving agent reads as an internal note. The
// choices come from transfer.options; the transfer is conversation.transfer (its ack closes
// the dialog, its error stays in it).
import { el, toast } from "./dom.js";
import { client, convs, ui } from "./state.js";

/** mode "transfer" (an agent or a queue, with a note) or "invite" (an agent joins). */
export function openTransfer(mode = "transfer") {
  const id = ui.selectedId;
  if (!id) return;
  el.transferDialog.dataset.mode = mode;
  el.transferTitle.textContent = mode === "invite" ? "Invite an agent into the conversation" : "Transfer the conversation";
  el.transferQueueSection.hidden = mode === "invite";
  el.transferSubmit.textContent = mode === "invite" ? "Invite" : "Transfer";
  el.transferError.hidden = true;
  el.transferNote.value = "";
  el.transferAgents.replaceChildren();
  el.transferQueues.replaceChildren();
  el.transferDialog.dataset.conversation = id;
  client.send({ type: "transfer.options", id: `to:${id}`, conversation: id }, true);
  if (!el.transferDialog.open) el.transferDialog.showModal();
}

function choice(name, value, label, detail, enabled, testid) {
  const li = document.createElement("li");
  const input = document.createElement("input");
  input.type = "radio";
  input.name = "transfer-target";
  input.value = `${name}:${value}`;
  input.id = `tt-${name}-${value}`;
  input.disabled = !enabled;
  input.dataset.testid = testid;
  const lab = document.createElement("label");
  lab.htmlFor = input.id;
  lab.textContent = label;
  const small = document.createElement("span");
  small.className = "muted";
  small.textContent = detail ? ` ${detail}` : "";
  lab.appendChild(small);
  li.append(input, lab);
  return li;
}

export function onTargets(f) {
  if (Number(el.transferDialog.dataset.conversation) !== f.conversation) return;
  el.transferAgents.replaceChildren(
    ...f.agents.map((a) => {
      const invite = el.transferDialog.dataset.mode === "invite";
      // Anyone with a live console may join as a guest; a transfer needs a free slot.
      const li = choice("agent", a.id, a.name, `· ${a.live ? a.status : "offline"} · ${a.load}/${a.capacity} chats`, invite ? a.live : a.available, "transfer-agent");
      li.dataset.status = a.live ? a.status : "offline";
      return li;
    }),
  );
  el.transferQueues.replaceChildren(...f.queues.map((q) => choice("queue", q.id, q.name, q.current ? "(current queue)" : "", true, "transfer-queue")));
}

export function submitTransfer() {
  const id = Number(el.transferDialog.dataset.conversation);
  const picked = el.transferDialog.querySelector("input[name=transfer-target]:checked");
  if (!picked) {
    el.transferError.textContent = "Pick an agent or a queue.";
    el.transferError.hidden = false;
    return;
  }
  const [kind, target] = picked.value.split(":");
  if (el.transferDialog.dataset.mode === "invite") {
    const sent = kind === "agent" && client.send({ type: "conversation.invite", id: `tr:${id}`, conversation: id, agent: Number(target) }, true);
    if (!sent) {
      el.transferError.textContent = "Pick an agent.";
      el.transferError.hidden = false;
    }
    return;
  }
  const frame = { type: "conversation.transfer", id: `tr:${id}`, conversation: id, note: el.transferNote.value.trim() };
  frame[kind === "agent" ? "to_agent" : "to_queue"] = Number(target);
  if (!client.send(frame, true)) {
    el.transferError.textContent = "Not connected; try again in a moment.";
    el.transferError.hidden = false;
  }
}

export function onTransferAck(f) {
  if (el.transferDialog.open) el.transferDialog.close();
  const r = convs.get(f.conversation);
  const who = r && r.c ? ` the conversation with ${r.c.customer.name}` : "";
  toast(f.for === "conversation.invite" ? "Invited." : `Transferred${who}.`);
}

export function onTransferError(f) {
  el.transferError.textContent = f.message;
  el.transferError.hidden = false;
}
