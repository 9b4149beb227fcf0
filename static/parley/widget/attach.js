// Attachments from the customer: a paperclip beside the composer picks files; each is
// uploaded over REST with the visitor token (POST /api/v1/widget/attachments/, where the
// server sniffs, checks the site's limits and stores it), then one message carries the
// ids through the outbox like any other. A refusal shows in a visible alert, in the
// customer's language (docs/protocol.md "Attachments").
import { sizeLabel, uploadAttachment } from "../client/attachments.js";
import { el } from "./dom.js";
import { env, t } from "./state.js";
import { ICONS } from "./styles.js";

const REASONS = {
  attachment_type: "attach_type",
  attachment_too_large: "attach_too_large",
  attachment_unsafe: "attach_unsafe",
  attachment_invalid: "attach_unsafe",
  attachment_empty: "attach_empty",
  attachments_disabled: "attach_off",
  too_many_attachments: "attach_too_many",
};

// ATTACHMENT_MAX_COUNT's default (config/settings.py): the limit when the frame page's
// config does not carry the site's own.
export const DEFAULT_MAX_FILES = 5;

/** Files per message for this site: `attachmentMaxCount` of the frame page's config
 * (chat/widget_frame.py), else the server's default. */
export function maxFiles(config) {
  const n = config && config.attachmentMaxCount;
  return Number.isInteger(n) && n >= 0 ? n : DEFAULT_MAX_FILES;
}

/** Why a pick of `count` files cannot go as one message (a code of REASONS), or "". The
 * server would refuse the whole message after every file was uploaded: say it first. */
export function pickRefusal(count, max) {
  if (max === 0) return "attachments_disabled";
  return count > max ? "too_many_attachments" : "";
}

function frameConfig() {
  try {
    return JSON.parse(document.getElementById("parley-config").textContent);
  } catch (e) {
    return {};
  }
}

function uploadOne(file, conversation, token) {
  return uploadAttachment({
    url: env.BASE + "/api/v1/widget/attachments/",
    file,
    conversation,
    headers: { Authorization: "Visitor " + token },
    credentials: "omit",
  });
}

function showError(code, name) {
  el.attachError.textContent = t(REASONS[code] || "attach_failed", { name });
  el.attachError.hidden = false;
}

/** Adds the paperclip; ``send(attachments)`` queues the message that carries them;
 * ``token()`` resolves the visitor token (a file may be picked before the first one came). */
export function attachButton(send, conversationId, token) {
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = true;
  input.hidden = true;
  input.setAttribute("data-testid", "parley-file");
  input.tabIndex = -1;
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "emoji-toggle attach-toggle";
  toggle.innerHTML = ICONS.clip;
  toggle.setAttribute("aria-label", t("attach"));
  toggle.setAttribute("data-testid", "parley-attach");
  const alert = document.createElement("div");
  alert.className = "attach-error";
  alert.setAttribute("role", "alert");
  alert.setAttribute("data-testid", "parley-attach-error");
  alert.hidden = true;
  el.attachError = alert;
  const limit = maxFiles(frameConfig());
  toggle.addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const files = Array.from(input.files || []);
    input.value = "";
    if (!files.length) return;
    alert.hidden = true;
    const refusal = pickRefusal(files.length, limit);
    if (refusal) {
      showError(refusal, files[0].name);
      el.input.focus();
      return;
    }
    toggle.disabled = true;
    toggle.setAttribute("aria-busy", "true");
    // Picked before the session answered, a file waits for the token instead of being
    // dropped without a word; no token at all (the server unreachable) is said as a refusal.
    const visitor = await token().catch(() => null);
    const done = [];
    for (const file of files) {
      const r = visitor ? await uploadOne(file, conversationId(), visitor) : { ok: false, code: "" };
      if (r.ok) done.push(r.attachment);
      else showError(r.code, file.name);
    }
    toggle.disabled = false;
    toggle.removeAttribute("aria-busy");
    if (done.length) send(done);
    el.input.focus();
  });
  el.form.insertBefore(input, el.input);
  el.form.insertBefore(toggle, el.input);
  el.form.parentNode.insertBefore(alert, el.form);
}

/** An attachment in a message: an image's thumbnail (a link to the full image) or a file's
 * link. Links are signed by the server and expire; a reload gets fresh ones. */
export function attachmentNode(a) {
  const link = document.createElement("a");
  link.href = a.url || "#";
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.className = "attachment " + a.kind;
  if (a.kind === "image" && a.thumbnail_url) {
    const img = document.createElement("img");
    img.src = a.thumbnail_url;
    img.alt = a.name;
    img.loading = "lazy";
    img.setAttribute("data-testid", "parley-attachment-image");
    link.appendChild(img);
  } else {
    link.setAttribute("data-testid", "parley-attachment-file");
    link.innerHTML = ICONS.clip; // decorative: the name says what it is
    link.append(" " + a.name + " (" + sizeLabel(a.size) + ")");
  }
  return link;
}
