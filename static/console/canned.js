// Canned replies in the console: `/shortcut` at the start of the reply box opens a picker
// (arrows to move, Enter or Tab to insert, Escape to close); the inserted text has its
// variables filled in (template.js). The list comes from canned.list after every hello
// and after each change; the dialog adds and deletes the agent's own replies.
import { el, toast } from "./dom.js";
import { MY_NAME, client, convs, ui } from "./state.js";
import { expand, matching, unfilled } from "./template.js";
import { contextOf } from "./context.js";

let replies = [];
let shown = [];
let active = 0;

export function fetchCanned() {
  client.send({ type: "canned.list", id: "cl" }, false);
}

export function onReplies(f) {
  replies = f.replies || [];
  renderManager();
}

function vars() {
  const r = convs.get(ui.selectedId);
  const panel = contextOf(ui.selectedId);
  const customer = panel ? panel.customer : {};
  return {
    // The name only: a customer with none leaves {{customer.name}} for the agent to fill
    // (the conversation's label falls back to the email, and "Hi zoe@example.com" read badly).
    customer: { name: customer.name || "", email: customer.email || "" },
    agent: { name: MY_NAME },
    collected: (panel && panel.collected && panel.collected.answers) || {},
  };
}

/** On each input: a lone `/word` at the start of the reply opens the picker. */
export function onComposerInput() {
  const m = ui.composerMode === "reply" ? /^\/([A-Za-z0-9_-]*)$/.exec(el.input.value) : null;
  const r = convs.get(ui.selectedId);
  if (!m || !r || !r.c) return closePicker();
  shown = matching(replies, m[1], r.c.site);
  active = 0;
  renderPicker();
}

function renderPicker() {
  el.picker.hidden = shown.length === 0;
  el.picker.replaceChildren(
    ...shown.map((reply, i) => {
      const li = document.createElement("li");
      li.dataset.testid = "canned-option";
      li.dataset.index = i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === active));
      const key = document.createElement("strong");
      key.textContent = `/${reply.shortcut}`;
      const text = document.createElement("span");
      text.textContent = ` ${reply.title || reply.body}`;
      li.append(key, text);
      return li;
    }),
  );
}

export function closePicker() {
  shown = [];
  el.picker.hidden = true;
  el.picker.replaceChildren();
}

export function pickerOpen() {
  return shown.length > 0 && !el.picker.hidden;
}

export function insert(i) {
  const reply = shown[i];
  if (!reply) return;
  el.input.value = expand(reply.body, vars());
  closePicker();
  el.input.focus();
  const [first] = unfilled(el.input.value);
  if (first) el.input.setSelectionRange(first.start, first.end); // type to fill it
  el.input.dispatchEvent(new Event("input"));
}

/** True (and the first one selected, and a toast) when the composer still holds a canned
 * reply's variable nobody filled ("{{order_number}}"): the customer would read the braces. */
export function refuseUnfilled() {
  const missing = unfilled(el.input.value);
  if (!missing.length) return false;
  el.input.focus();
  el.input.setSelectionRange(missing[0].start, missing[0].end);
  toast(`Fill in ${missing.map((v) => v.text).join(", ")} before sending.`);
  return true;
}

/** Keys while the picker is open; true if the key was the picker's. */
export function pickerKey(ev) {
  if (!pickerOpen()) return false;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    active = (active + (ev.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
    renderPicker();
  } else if (ev.key === "Enter" || ev.key === "Tab") {
    insert(active);
  } else if (ev.key === "Escape") {
    closePicker();
  } else {
    return false;
  }
  ev.preventDefault();
  return true;
}

/** Open the picker from a shortcut key: a slash in an empty reply box. */
export function openPicker() {
  if (el.form.hidden) return;
  el.input.focus();
  if (!el.input.value) {
    el.input.value = "/";
    onComposerInput();
  }
}

// --- the management dialog -----------------------------------------------------------------
export function openManager() {
  fetchCanned();
  el.cannedError.hidden = true;
  if (!el.cannedDialog.open) el.cannedDialog.showModal();
}

function renderManager() {
  el.cannedList.replaceChildren(
    ...replies.map((reply) => {
      const li = document.createElement("li");
      li.dataset.testid = "canned-item";
      li.dataset.reply = reply.id;
      const head = document.createElement("strong");
      head.textContent = `/${reply.shortcut} `;
      const kind = document.createElement("span");
      kind.className = "chip";
      kind.textContent = reply.personal ? "mine" : "shared";
      const body = document.createElement("div");
      body.className = "muted";
      body.textContent = reply.title ? `${reply.title}: ${reply.body}` : reply.body;
      li.append(head, kind, body);
      if (reply.personal) {
        const del = document.createElement("button");
        del.type = "button";
        del.className = "link";
        del.dataset.testid = "canned-delete";
        del.textContent = "Delete";
        li.appendChild(del);
      }
      return li;
    }),
  );
}

export function saveFromForm() {
  const frame = {
    type: "canned.save",
    id: "cs",
    shortcut: el.cannedShortcut.value.trim().replace(/^\//, ""),
    title: el.cannedTitle.value,
    body: el.cannedBody.value,
  };
  const r = convs.get(ui.selectedId);
  if (el.cannedSiteOnly.checked && r && r.c) frame.site = r.c.site;
  client.send(frame, true);
}

export function onSaved() {
  el.cannedShortcut.value = el.cannedTitle.value = el.cannedBody.value = "";
  el.cannedError.hidden = true;
  fetchCanned();
}

export function onCannedError(f) {
  el.cannedError.textContent = f.message;
  el.cannedError.hidden = false;
  if (!el.cannedDialog.open) toast(f.message);
}

export function onManagerClick(ev) {
  const b = ev.target.closest("[data-testid=canned-delete]");
  if (!b) return;
  const id = Number(b.closest("li").dataset.reply);
  client.send({ type: "canned.delete", id: "cd", reply: id }, true);
}
