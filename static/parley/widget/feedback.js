// After an agent resolved the chat: a CSAT card (1-5 stars and a comment) and the transcript
// by email. Both go over REST with the visitor token (docs/protocol.md "Feedback from the
// widget"); what was sent is remembered in this origin's storage, so a reload does not ask
// again.
import { el } from "./dom.js";
import { env, local, state, t } from "./state.js";
import { ICONS } from "./styles.js";

const CLOSED = ["resolved", "abandoned"];
let shownFor = null;

/** POST to the conversation; never rejects: no answer at all (offline, a dropped
 * connection) is status 0, which the card says can be tried again. */
export async function post(path, body) {
  let res;
  try {
    res = await fetch(env.BASE + "/api/v1/conversations/" + state.conv.id + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Visitor " + state.token },
      body: JSON.stringify(body),
      credentials: "omit",
    });
  } catch (e) {
    return { ok: false, status: 0, error: {} };
  }
  const data = await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, error: data.error || {} };
}

/** Refused for a reason the customer cannot fix (no answer, a server error, a rate limit):
 * trying again may work. */
export function retryable(res) {
  return !res.ok && (res.status === 0 || res.status === 429 || res.status >= 500);
}

// The card's "not sent, try again" line; gone when a send is tried again.
function retryNote(form, show) {
  let p = form.querySelector(".retry");
  if (!show) return p && p.remove();
  if (!p) {
    p = document.createElement("p");
    p.className = "retry";
    p.setAttribute("role", "alert");
    p.setAttribute("data-testid", "parley-feedback-error");
    form.appendChild(p);
  }
  p.textContent = t("feedback_failed");
}

function note(box, text, testid) {
  const p = document.createElement("p");
  p.className = "done";
  p.setAttribute("role", "status");
  p.setAttribute("data-testid", testid);
  p.textContent = text;
  box.replaceChildren(p);
}

function csatForm(c) {
  const form = document.createElement("form");
  form.className = "card";
  form.setAttribute("data-testid", "parley-csat");
  const set = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = t("csat_question", { name: c.assignee.name });
  set.appendChild(legend);
  const stars = document.createElement("div");
  stars.className = "stars";
  // Five to one in the document, one to five on screen (row-reverse): a checked star
  // lights itself and the ones before it with a sibling selector.
  for (let n = 5; n >= 1; n--) {
    const id = "pw-star-" + n;
    const input = document.createElement("input");
    Object.assign(input, { type: "radio", name: "score", value: String(n), id, required: true });
    input.setAttribute("data-testid", "parley-csat-" + n);
    const label = document.createElement("label");
    label.htmlFor = id;
    label.innerHTML = ICONS.star; // decorative: the hidden text names the score
    label.title = t(n === 1 ? "star_one" : "stars", { count: n });
    const name = document.createElement("span");
    name.className = "sr-only";
    name.textContent = label.title;
    label.appendChild(name);
    stars.append(input, label);
  }
  set.appendChild(stars);
  form.appendChild(set);
  const comment = document.createElement("textarea");
  Object.assign(comment, { id: "pw-csat-comment", rows: 2, maxLength: 2000 });
  comment.setAttribute("data-testid", "parley-csat-comment");
  const label = document.createElement("label");
  label.htmlFor = comment.id;
  label.textContent = t("csat_comment");
  const send = document.createElement("button");
  send.type = "submit";
  send.textContent = t("csat_send");
  send.setAttribute("data-testid", "parley-csat-send");
  form.append(label, comment, send);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const picked = form.querySelector("input[name=score]:checked");
    if (!picked) return;
    send.disabled = true;
    retryNote(form, false);
    const res = await post("/csat/", { score: Number(picked.value), comment: comment.value });
    if (res.ok || res.error.code === "already_rated") {
      local.set("rated:" + c.id, true);
      note(form, t("csat_thanks"), "parley-csat-thanks");
    } else {
      send.disabled = false;
      retryNote(form, true);
    }
  });
  return form;
}

function transcriptForm() {
  const form = document.createElement("form");
  form.className = "card";
  form.setAttribute("data-testid", "parley-transcript");
  const input = document.createElement("input");
  Object.assign(input, { type: "email", id: "pw-transcript", required: true, autocomplete: "email" });
  input.value = env.identity.email || state.email || "";
  input.setAttribute("data-testid", "parley-transcript-email");
  const label = document.createElement("label");
  label.htmlFor = input.id;
  label.textContent = t("transcript_label");
  const send = document.createElement("button");
  send.type = "submit";
  send.textContent = t("transcript_send");
  send.setAttribute("data-testid", "parley-transcript-send");
  form.append(label, input, send);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    retryNote(form, false);
    const res = await post("/transcript/", { email: input.value });
    if (res.ok) note(form, t("transcript_sent", { email: input.value }), "parley-transcript-sent");
    else if (retryable(res)) {
      send.disabled = false;
      retryNote(form, true);
    } else {
      send.disabled = false;
      input.setCustomValidity(res.error.message || t("not_available"));
      input.reportValidity();
      input.addEventListener("input", () => input.setCustomValidity(""), { once: true });
    }
  });
  return form;
}

// The queue is closed or over its limit: the message waits, answered later; an email
// address lets the team answer by email too (or the customer sees it on coming back).
function offlineForm(c) {
  const form = transcriptForm();
  form.setAttribute("data-testid", "parley-offline");
  form.querySelector("label").textContent = t("offline_email");
  const input = form.querySelector("input");
  input.setAttribute("data-testid", "parley-offline-email");
  const send = form.querySelector("button");
  send.setAttribute("data-testid", "parley-offline-send");
  const fresh = form.cloneNode(true); // drop the transcript's listener
  fresh.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const email = fresh.querySelector("input");
    retryNote(fresh, false);
    const res = await post("/offline-contact/", { email: email.value });
    if (res.ok) {
      local.set("contact:" + c.id, true);
      note(fresh, t("offline_thanks", { email: email.value }), "parley-offline-sent");
    } else if (retryable(res)) {
      retryNote(fresh, true);
    } else {
      email.setCustomValidity(res.error.message || t("not_available"));
      email.reportValidity();
      email.addEventListener("input", () => email.setCustomValidity(""), { once: true });
    }
  });
  return fresh;
}

/** Show (or take away) the cards for the current conversation's state. */
export function renderFeedback() {
  const c = state.conv;
  const closed = c && CLOSED.includes(c.status);
  const q = state.queue;
  const offline =
    c && !closed && q && q.mode === "offline" && q.conversation === c.id && !local.get("contact:" + c.id, false);
  const key = closed ? c.id + ":" + c.status + ":" + (state.messages.length > 0) : offline ? c.id + ":offline" : null;
  if (key === shownFor) return;
  shownFor = key;
  el.after.replaceChildren();
  if (offline) el.after.appendChild(offlineForm(c));
  if (!closed) return;
  if (c.status === "resolved" && c.assignee && !local.get("rated:" + c.id, false)) {
    el.after.appendChild(csatForm(c));
  }
  if (state.messages.length) el.after.appendChild(transcriptForm());
}
