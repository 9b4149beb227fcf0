// Attachments in the console: a paperclip in the composer uploads files to the selected
// conversation (POST /api/v1/conversations/<id>/attachments/, the session and its CSRF
// token) and sends them as one message through the outbox; the transcript shows images as
// thumbnails (a link to the full image) and other files as links. Refusals show in a toast
// with the server's reason. An internal note is a body only (docs/protocol.md, note.add):
// in note mode the paperclip is disabled, and a file picked anyway is refused, never sent
// to the customer as a message.
import { sizeLabel, uploadAttachment } from "../parley/client/attachments.js";
import { el, toast } from "./dom.js";
import { icon } from "./icons.js";
import { client, convs, isMine, isOpen, ui } from "./state.js";

export const NO_FILES_IN_NOTES = "Attachments cannot be added to internal notes.";
let button = null;
let uploading = false;

/** The paperclip's state: busy while uploading, refused in note mode (aria-disabled keeps
 * it focusable, so its title says why). */
export function paintAttach() {
  if (!button) return;
  const note = ui.composerMode === "note";
  button.disabled = uploading;
  button.setAttribute("aria-disabled", String(note || uploading));
  button.title = note ? NO_FILES_IN_NOTES : "Attach files";
}

function csrf() {
  const input = document.querySelector("[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export function installAttachments() {
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = true;
  input.hidden = true;
  input.dataset.testid = "composer-file";
  button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-ghost attach";
  button.dataset.testid = "composer-attach";
  button.title = "Attach files";
  button.setAttribute("aria-label", "Attach files");
  button.appendChild(icon("clip"));
  button.addEventListener("click", () => {
    if (ui.composerMode === "note") toast(NO_FILES_IN_NOTES);
    else input.click();
  });
  input.addEventListener("change", async () => {
    const files = Array.from(input.files || []);
    input.value = "";
    const r = convs.get(ui.selectedId);
    if (!files.length || !r || !isMine(r) || !isOpen(r)) return;
    // The mode when the files were picked says who they are for.
    if (ui.composerMode !== "reply") return toast(NO_FILES_IN_NOTES);
    uploading = true;
    paintAttach();
    const done = [];
    for (const file of files) {
      const result = await uploadAttachment({
        url: `/api/v1/conversations/${r.id}/attachments/`,
        file,
        conversation: r.id,
        headers: { "X-CSRFToken": csrf() },
      });
      if (result.ok) done.push(result.attachment);
      else toast(`${file.name}: ${result.message || "could not be uploaded."}`);
    }
    uploading = false;
    paintAttach();
    if (done.length) client.enqueue({ conversation: r.id, body: "", attachments: done });
    el.input.focus();
  });
  el.form.insertBefore(input, el.send);
  el.form.insertBefore(button, el.send);
  paintAttach();
}

/** A message's attachments, or null. */
export function attachmentsNode(m) {
  if (!m.attachments || !m.attachments.length) return null;
  const box = document.createElement("div");
  box.className = "attachments";
  box.dataset.testid = "transcript-attachments";
  for (const a of m.attachments) {
    const link = document.createElement("a");
    link.href = a.url || "#";
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.className = `attachment ${a.kind}`;
    if (a.kind === "image" && a.thumbnail_url) {
      const img = document.createElement("img");
      img.src = a.thumbnail_url;
      img.alt = a.name;
      img.loading = "lazy";
      img.dataset.testid = "transcript-attachment-image";
      link.appendChild(img);
    } else {
      link.dataset.testid = "transcript-attachment-file";
      link.append(icon("clip", "Attachment:"), ` ${a.name} (${sizeLabel(a.size)})`);
    }
    box.appendChild(link);
  }
  return box;
}
