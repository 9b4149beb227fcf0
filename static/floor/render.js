// The floor dashboard's drawing: tables from a floor.snapshot frame, the arrivals/answers
// chart (uPlot, vendored), the followed transcripts. No actions here: buttons carry data-*
// attributes and floor.js catches their clicks with one delegated listener.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { activeCells, listNote, listTotals, waitingCells } from "./text.js";

export const $ = (sel) => document.querySelector(sel);

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "—" : String(text);
  if (cls) td.className = cls;
  return td;
}

function button(label, data) {
  const td = document.createElement("td");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "button";
  b.textContent = label;
  Object.assign(b.dataset, data);
  td.append(b);
  return td;
}

export function duration(seconds) {
  if (seconds == null) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function queueRows(snap) {
  return snap.queues.map((q) => {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.id;
    tr.append(
      cell(q.name + (q.open ? "" : " (outside hours)")),
      cell(q.waiting),
      cell(q.waiting ? duration(q.longest_wait_s) : null, q.past_sla ? "bad" : ""),
      cell(q.at_risk, q.at_risk ? "bad" : ""),
      cell(q.past_sla, q.past_sla ? "bad" : ""),
      // Offline messages: answered later, no SLA clock; their count and the oldest's age.
      cell(q.offline ? `${q.offline} (oldest ${duration(q.offline_oldest_s)})` : 0),
      cell(q.abandon_rate == null ? null : `${Math.round(q.abandon_rate * 100)} %`),
      cell(q.closed ? "0 (closed)" : q.waiting_limit == null ? "none" : q.waiting_limit),
      button(q.closed ? "Open" : "Close", { action: "queue", queue: q.id, closed: q.closed ? "" : "1" }),
    );
    return tr;
  });
}

function todayText(spent) {
  const parts = Object.entries(spent || {}).filter(([, seconds]) => seconds > 0);
  return parts.map(([state, seconds]) => `${state} ${duration(seconds)}`).join(", ") || "—";
}

function agentRows(snap) {
  return snap.agents.map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.id;
    const state = (a.status_label || a.status) + (a.status === "online" && !a.live ? " (console silent)" : "");
    tr.append(
      cell(a.name),
      cell(state, a.status === "online" && !a.live ? "bad" : ""),
      cell(a.reason_label || a.reason),
      cell(`${duration(a.in_state_s)} (today: ${todayText(a.today_s)})`),
      cell(`${a.load} / ${a.capacity}`, a.load >= a.capacity ? "bad" : ""),
      cell(`${a.offers.accepted} / ${a.offers.expired} / ${a.offers.declined}`),
      a.status === "online" ? button("Set away", { action: "away", agent: a.id }) : cell(""),
    );
    return tr;
  });
}

function agentSelect(agents, conversation, holder = null) {
  const td = document.createElement("td");
  const select = document.createElement("select");
  select.dataset.reassignFor = conversation;
  select.append(new Option("—", ""));
  // Only agents who can take a chat now: online with a live console and a free slot (the
  // server refuses the others, as a chat given to someone absent waits on nobody).
  for (const a of agents) {
    if (a.id !== holder && a.status === "online" && a.live && a.load < a.capacity) {
      select.append(new Option(`${a.name} (${a.load}/${a.capacity})`, a.id));
    }
  }
  td.append(select);
  return td;
}

function waitingRows(snap) {
  return snap.waiting.map((w) => {
    const tr = document.createElement("tr");
    tr.dataset.conversation = w.conversation;
    const shown = waitingCells(w);
    if (shown.badge) tr.dataset.offline = "1";
    const state = cell(shown.state);
    if (shown.badge) {
      const badge = document.createElement("span");
      badge.className = "floor-badge";
      badge.textContent = shown.badge;
      state.append(" ", badge);
    }
    tr.append(
      cell(`#${w.conversation}`),
      cell(w.queue),
      state,
      cell(duration(shown.wait), shown.bad ? "bad" : ""),
      agentSelect(snap.agents, w.conversation),
      button("Follow", { action: "follow", conversation: w.conversation }),
    );
    const reassign = button("Reassign", { action: "reassign", conversation: w.conversation });
    tr.lastChild.append(...reassign.childNodes);
    return tr;
  });
}

function activeRows(snap) {
  return (snap.active || []).map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.conversation = a.conversation;
    const shown = activeCells(a);
    tr.append(
      cell(`#${a.conversation}`),
      cell(a.customer),
      cell(a.queue),
      cell(a.agent_name),
      cell(duration(a.assigned_s)),
      cell(typeof shown.reply === "number" ? duration(shown.reply) : shown.reply, shown.bad ? "bad" : ""),
      agentSelect(snap.agents, a.conversation, a.agent),
      button("Follow", { action: "follow", conversation: a.conversation }),
    );
    const reassign = button("Reassign", { action: "reassign", conversation: a.conversation });
    tr.lastChild.append(...reassign.childNodes);
    return tr;
  });
}

function technicalRows(snap) {
  const t = snap.technical;
  const stale = (age) => age == null || age > t.heartbeat_stale_after;
  const beat = (age) => (age == null ? "none" : `${age} s ago`);
  const sockets = Object.entries(t.sockets).map(([k, v]) => `${k}: ${v}`).join(", ") || "0";
  const rows = [
    ["Delivery latency p50 / p99", `${t.delivery_p50_ms ?? "—"} ms / ${t.delivery_p99_ms ?? "—"} ms (${t.delivery_count} pushes)`],
    ["Send latency p50 / p99", `${t.send_p50_ms ?? "—"} ms / ${t.send_p99_ms ?? "—"} ms (${t.send_count} sends)`],
    ["Pipeline backlog", t.pipeline_backlog, t.pipeline_backlog > 100],
    ["Worker heartbeat", beat(t.heartbeats.worker), stale(t.heartbeats.worker)],
    ["Beat heartbeat", beat(t.heartbeats.beat), stale(t.heartbeats.beat)],
    ["Sockets", sockets],
  ];
  return rows.map(([label, value, bad]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    tr.append(th, cell(value, bad ? "bad" : ""));
    return tr;
  });
}

let chart = null;

function drawChart(snap) {
  const xs = snap.buckets.map((b) => Date.parse(b) / 1000);
  const sum = (key) => xs.map((_, i) => snap.queues.reduce((n, q) => n + q[key][i], 0));
  const data = [xs, sum("arrivals"), sum("answers")];
  const host = $("#floor-chart");
  if (!chart) {
    chart = new uPlot(
      {
        width: Math.max(320, host.clientWidth || 600),
        height: 200,
        series: [{}, { label: "Arrivals / 5 min", stroke: "#417690" }, { label: "Answers / 5 min", stroke: "#79aec8" }],
        scales: { y: { range: (u, min, max) => [0, Math.max(5, max)] } },
      },
      data,
      host,
    );
  } else {
    chart.setData(data);
  }
}

// "50 of 179 shown (…)" under a list the server cut, with a link to admin's list of all of
// them (filtered the same way), or nothing when every row is shown.
function cutNote(id, shown, total, order, href) {
  const el = document.getElementById(id);
  if (!el) return;
  const text = listNote(shown, total, order);
  el.hidden = !text;
  if (!text) return el.replaceChildren();
  const link = document.createElement("a");
  link.href = href;
  link.textContent = `See all ${total} in admin`;
  el.replaceChildren(`${text} `, link);
}

export function renderSnapshot(snap, opts = {}) {
  const verdict = $("#floor-verdict");
  verdict.dataset.kind = snap.verdict.kind;
  verdict.textContent = snap.verdict.text;
  // Keep a reassign choice being made across redraws.
  const chosen = new Map([...document.querySelectorAll("select[data-reassign-for]")].map((s) => [s.dataset.reassignFor, s.value]));
  fill($("#floor-queues tbody"), queueRows(snap));
  fill($("#floor-agents tbody"), agentRows(snap));
  fill($("#floor-waiting tbody"), waitingRows(snap));
  fill($("#floor-active tbody"), activeRows(snap));
  fill($("#floor-technical tbody"), technicalRows(snap));
  const totals = listTotals(snap);
  const admin = opts.adminConversationUrl || "/admin/routing/routedconversation/";
  cutNote("floor-waiting-more", snap.waiting.length, totals.waiting,
    "live chats by longest wait, then offline messages by age", `${admin}?status__in=queued,offered,reopened&o=7`);
  cutNote("floor-active-more", (snap.active || []).length, totals.active,
    "waiting longest for a reply first", `${admin}?status=assigned&o=8`);
  for (const s of document.querySelectorAll("select[data-reassign-for]")) {
    if (chosen.has(s.dataset.reassignFor)) s.value = chosen.get(s.dataset.reassignFor);
  }
  try {
    drawChart(snap);
  } catch (err) {
    console.warn("chart", err);
  }
}

export function transcriptBox(id) {
  let box = document.getElementById(`floor-follow-${id}`);
  if (!box) {
    box = document.createElement("div");
    box.id = `floor-follow-${id}`;
    box.className = "floor-transcript";
    const h = document.createElement("h3");
    h.textContent = `#${id} `;
    const stop = document.createElement("button");
    stop.type = "button";
    stop.className = "button";
    stop.textContent = "Stop following";
    stop.dataset.action = "unfollow";
    stop.dataset.conversation = id;
    h.append(stop);
    box.append(h);
    $("#floor-following").append(box);
  }
  return box;
}

export function appendMessage(id, m) {
  const p = document.createElement("p");
  p.dataset.seq = m.seq;
  const who = m.sender ? m.sender.name || m.sender.role : m.kind;
  p.textContent = `${who}: ${m.body}`;
  transcriptBox(id).append(p);
}

export function toast(text) {
  const t = $("#floor-toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 4000);
}
