// The context panel beside the conversation: who the customer is and where they came
// from, what the bot collected, their past conversations (opened read-only) and the
// conversation's timeline (why it reached me). Fetched over the socket (context.fetch,
// past.fetch) when a conversation is selected and after a reconnect. Every value is
// shown with textContent: whatever a customer typed stays text.
import { attachmentsNode } from "./attachments.js";
import { clock, el } from "./dom.js";
import { closeDrawer } from "./drawer.js";
import { client, convs, ui } from "./state.js";

const panels = new Map(); // conversation id -> the last conversation.context

/** The last context fetched for a conversation (canned replies' variables read it). */
export function contextOf(id) {
  return panels.get(id) || null;
}

export function fetchContext(id) {
  if (!id || !client) return;
  client.send({ type: "context.fetch", id: `cx:${id}`, conversation: id }, false);
}

export function onContext(f) {
  panels.set(f.conversation, f);
  if (f.conversation === ui.selectedId) renderContext();
}

function row(dl, label, value, testid, href) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.dataset.testid = testid;
  if (href && /^https?:\/\//i.test(value)) {
    const a = document.createElement("a");
    a.href = value;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = value;
    dd.appendChild(a);
  } else {
    dd.textContent = String(value);
  }
  dl.append(dt, dd);
}

function tableRow(label, val, testid) {
  const tr = document.createElement("tr");
  if (testid) tr.dataset.testid = testid;
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = label;
  const td = document.createElement("td");
  td.textContent = val !== null && typeof val === "object" ? JSON.stringify(val) : String(val);
  tr.append(th, td);
  return tr;
}

function labelOf(key) {
  return String(key).replace(/_/g, " ");
}

export function renderContext() {
  const id = ui.selectedId;
  const f = id ? panels.get(id) : null;
  el.context.hidden = !id;
  if (!id) closeDrawer(false); // no chat on screen: nothing to detail
  el.contextEmpty.hidden = Boolean(f);
  el.contextBody.hidden = !f;
  if (!f) return;
  const c = f.customer;
  const v = f.visit;
  const who = document.createElement("dl");
  row(who, "Name", c.name, "context-name");
  row(who, "Email", c.email, "context-email");
  row(who, "External id", c.external_id ? `${c.external_id}${c.identity_verified ? " (verified)" : ""}` : "", "context-external-id");
  row(who, "Locale", c.locale, "context-locale");
  row(who, "Language", c.language ? c.language.toUpperCase() : "", "context-language");
  row(who, "Page", v.page_url, "context-page", true);
  row(who, "Referrer", v.referrer, "context-referrer", true);
  row(who, "Browser", v.browser, "context-browser");
  row(who, "System", v.os, "context-os");
  row(who, "Device", v.device, "context-device");
  el.contextCustomer.replaceChildren(who);

  const answers = Object.entries((f.collected && f.collected.answers) || {}).filter(([k, val]) => val !== null && val !== "" && !k.endsWith("_text"));
  el.contextCollectedSection.hidden = answers.length === 0;
  el.contextCollectedTitle.textContent = f.collected && f.collected.source === "bot" ? "Collected by the bot" : "Customer attributes";
  el.contextCollected.replaceChildren(...answers.map(([k, val]) => tableRow(labelOf(k), val)));

  // The pre-chat form's answers, whatever the bot did: consent (and when), then the site's fields.
  const form = f.form;
  el.contextFormSection.hidden = !form;
  const formRows = [];
  if (form && form.consent) {
    const when = form.consent.at ? ` (${new Date(form.consent.at).toLocaleString()})` : "";
    formRows.push(tableRow("Consent", (form.consent.given ? "Given" : "Not given") + when, "context-form-consent"));
  }
  for (const field of (form && form.fields) || []) formRows.push(tableRow(field.label, field.value));
  el.contextForm.replaceChildren(...formRows);

  el.contextPastSection.hidden = f.past.length === 0;
  el.contextPast.replaceChildren(
    ...f.past.map((p) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.dataset.testid = "context-past-open";
      b.dataset.past = p.id;
      b.textContent = `#${p.id} · ${new Date(p.created_at).toLocaleDateString()} · ${p.status}`;
      const meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = ` ${p.queue || ""}${p.assignee ? ` · ${p.assignee}` : ""} · ${p.messages} message${p.messages === 1 ? "" : "s"}`;
      li.append(b, meta);
      return li;
    }),
  );

  el.contextTimeline.replaceChildren(
    ...f.timeline.map((e) => {
      const li = document.createElement("li");
      li.dataset.testid = "context-timeline-item";
      const time = document.createElement("time");
      time.textContent = clock(e.at);
      const what = document.createElement("span");
      const change = e.to_status ? `${e.from_status || "·"} → ${e.to_status}` : e.type;
      what.textContent = ` ${change}${e.reason ? `: ${e.reason}` : ""}`;
      li.append(time, what);
      return li;
    }),
  );
}

export function openPast(pastId) {
  client.send({ type: "past.fetch", id: `px:${pastId}`, conversation: ui.selectedId, past: pastId }, true);
}

/** A past conversation, read-only, in a dialog: its messages (with their files) and notes,
 * each with its time, and how the customer rated it. */
export function onPastTranscript(f) {
  const started = f.messages.length ? new Date(f.messages[0].created_at).toLocaleDateString() : "";
  el.pastTitle.textContent = `Conversation #${f.past} (${f.status})${started ? ` · ${started}` : ""} · read-only`;
  const items = [
    ...f.messages.map((m) => ({ at: m.created_at, who: m.kind === "event" ? "" : m.sender.name, text: m.body, kind: m.kind, m })),
    ...f.notes.map((n) => ({ at: n.created_at, who: `${n.author_name} (note)`, text: n.body, kind: "note" })),
  ].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  const rows = items.map((i) => {
    const li = document.createElement("li");
    li.dataset.testid = "past-message";
    li.dataset.kind = i.kind;
    const time = document.createElement("time");
    time.dateTime = i.at;
    time.textContent = `${clock(i.at)} `;
    const who = document.createElement("strong");
    who.textContent = i.who ? `${i.who}: ` : "";
    const text = document.createElement("span");
    text.textContent = i.text;
    li.append(time, who, text);
    const files = i.m ? attachmentsNode(i.m) : null; // a files-only message had no text at all
    if (files) li.append(files);
    return li;
  });
  if (f.csat) {
    const li = document.createElement("li");
    li.dataset.testid = "past-csat";
    li.dataset.kind = "csat";
    li.textContent = `Rated ${f.csat.score}/5 by the customer${f.csat.comment ? `: “${f.csat.comment}”` : ""}`;
    rows.push(li);
  }
  el.pastList.replaceChildren(...rows);
  if (!el.pastDialog.open) el.pastDialog.showModal();
}

/** The selected conversation's status changed (taken, transferred, resolved): refresh. */
export function contextStale(id) {
  if (id === ui.selectedId && convs.has(id)) fetchContext(id);
}
