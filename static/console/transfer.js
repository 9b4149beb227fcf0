// Transfer: to another agent (with their presence and load: only an available one can be
// picked) or to a queue, with a note the receiving agent reads as an internal note. The
// choices come from transfer.options; the transfer is conversation.transfer (its ack closes
// the dialog, its error stays in it).
import { el, toast } from "./dom.js";
import { client, convs, ui } from "./state.js";

export function openTransfer() {
  const id = ui.selectedId;
  if (!id) return;
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
      const li = choice("agent", a.id, a.name, `· ${a.live ? a.status : "offline"} · ${a.load}/${a.capacity} chats`, a.available, "transfer-agent");
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
  toast(`Transferred${r && r.c ? ` the conversation with ${r.c.customer.name}` : ""}.`);
}

export function onTransferError(f) {
  el.transferError.textContent = f.message;
  el.transferError.hidden = false;
}
