// The site's pre-chat form (Site.prechat_form), asked once per visitor before the first
// chat: the composer waits until it is answered. The server checks the answers again
// (POST /api/v1/widget/prechat/) and says which field is wrong.
import { el } from "./dom.js";
import { env, isOpenConversation, state, t } from "./state.js";

let onDone = null;
let form = null;

/** Whether the form stands between the visitor and the chat. */
export function prechatPending() {
  // Not on a page where the chat cannot run: a form that leads nowhere contradicts the banner.
  return env.PRECHAT.length > 0 && !state.prechatDone && !isOpenConversation() && !state.blocked;
}

function field(f) {
  const wrap = document.createElement("div");
  wrap.className = "field";
  const id = "pw-pre-" + f.name;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = f.label + (f.required ? "" : " " + t("optional"));
  let input;
  if (f.type === "select") {
    input = document.createElement("select");
    input.appendChild(new Option("", ""));
    for (const o of f.options) input.appendChild(new Option(o, o));
  } else {
    input = document.createElement("input");
    input.type = f.type === "checkbox" ? "checkbox" : f.type === "email" ? "email" : "text";
    if (f.type === "email") input.autocomplete = "email";
    if (f.name === "name") input.autocomplete = "name";
  }
  input.id = id;
  input.name = f.name;
  input.required = f.required;
  input.setAttribute("data-testid", "parley-prechat-" + f.name);
  const known = f.name === "email" ? env.identity.email : f.name === "name" ? env.identity.name : "";
  if (known && input.type !== "checkbox") input.value = known;
  if (f.type === "checkbox") {
    wrap.classList.add("check");
    wrap.append(input, label);
  } else wrap.append(label, input);
  return wrap;
}

async function send(ev) {
  ev.preventDefault();
  const values = {};
  for (const f of env.PRECHAT) {
    const input = form.elements[f.name];
    if (f.type === "checkbox") values[f.name] = input.checked;
    else if (input.value.trim()) values[f.name] = input.value.trim();
  }
  const button = form.querySelector("button");
  button.disabled = true;
  const res = await fetch(env.BASE + "/api/v1/widget/prechat/", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Visitor " + state.token },
    body: JSON.stringify({ values }),
    credentials: "omit",
  }).catch(() => null);
  button.disabled = false;
  const data = res ? await res.json().catch(() => ({})) : {};
  if (res && res.ok) {
    state.prechatDone = true;
    if (values.email) state.email = values.email; // the offline and transcript forms need not ask again
    renderPrechat();
    if (onDone) onDone();
    return;
  }
  const err = data.error || {};
  const name = (err.field || "").replace(/^values\./, "");
  const input = form.elements[name] || button;
  if (input.setCustomValidity) {
    input.setCustomValidity(err.message || t("not_available"));
    input.reportValidity();
    input.addEventListener("input", () => input.setCustomValidity(""), { once: true });
  }
}

/** Show the form while it is pending (the composer hidden), else take it away. */
export function renderPrechat(done) {
  if (done) onDone = done;
  const pending = prechatPending() && state.token;
  el.form.hidden = Boolean(pending);
  if (!pending) {
    if (form) form.remove();
    form = null;
    return;
  }
  if (form) return;
  form = document.createElement("form");
  form.className = "card prechat";
  form.setAttribute("data-testid", "parley-prechat");
  const intro = document.createElement("p");
  intro.textContent = t("prechat_intro");
  form.appendChild(intro);
  for (const f of env.PRECHAT) form.appendChild(field(f));
  const button = document.createElement("button");
  button.type = "submit";
  button.textContent = t("prechat_start");
  button.setAttribute("data-testid", "parley-prechat-send");
  form.appendChild(button);
  form.addEventListener("submit", send);
  el.empty.after(form);
  el.empty.hidden = true;
}
