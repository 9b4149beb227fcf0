// Attachments in the console: files picked with the paperclip, pasted into the composer (a
// screenshot) or dropped on it are uploaded to the selected conversation (POST
// /api/v1/conversations/<id>/attachments/, the session and its CSRF token) and staged: shown
// as chips above the reply, each removable, and sent with it by Send (with or without
// text) as one message through the outbox. Nothing reaches the customer before the agent
// sends: a pasted image was one keystroke from the wrong chat. The transcript shows images
// as thumbnails (a link to the full image) and other files as links. Refusals show in a
// toast with the server's reason. An internal note is a body only (docs/protocol.md,
// note.add): in note mode the paperclip is disabled, a file picked, pasted or dropped is
// refused, and files staged for the reply wait, hidden, for Reply mode.
import { sizeLabel, uploadAttachment } from "../parley/client/attachments.js";
import { el, toast } from "./dom.js";
import { icon } from "./icons.js";
import { convs, isMine, isOpen, ui } from "./state.js";

export const NO_FILES_IN_NOTES = "Attachments cannot be added to internal notes.";
let button = null;
let tray = null;
let uploading = false;
const staged = new Map(); // conversation id -> uploaded attachments waiting for Send
const loading = new Map(); // conversation id -> names of the files still uploading
export const STILL_UPLOADING = "A file is still uploading: send when it shows above the reply.";

/** The paperclip's state: busy while uploading, refused in note mode (aria-disabled keeps
 * it focusable, so its title says why); and the staged files of the chat on screen. */
export function paintAttach() {
  if (!button) return;
  const note = ui.composerMode === "note";
  button.disabled = uploading;
  button.setAttribute("aria-disabled", String(note || uploading));
  button.title = note ? NO_FILES_IN_NOTES : "Attach files";
  paintTray();
}

/** The files staged for a conversation's next reply. */
export function stagedFor(id) {
  return staged.get(id) || [];
}

/** Files picked for this conversation and not uploaded yet: Send waits for them (a reply
 * sent meanwhile went without its screenshot, which then sat staged for the next one). */
export function uploadingFor(id) {
  return (loading.get(id) || []).length > 0;
}

/** Take them to send (they leave the tray). */
export function takeStaged(id) {
  const files = stagedFor(id);
  staged.delete(id);
  paintTray();
  return files;
}

/** A refused send's files, back in the tray to fix and send again. */
export function restage(id, files) {
  if (files && files.length) staged.set(id, [...files, ...stagedFor(id)]);
  paintTray();
}

function paintTray() {
  const reply = ui.composerMode === "reply";
  const files = reply ? stagedFor(ui.selectedId) : [];
  const names = reply ? loading.get(ui.selectedId) || [] : [];
  tray.hidden = !files.length && !names.length;
  tray.replaceChildren(
    ...names.map((name) => {
      const li = document.createElement("li");
      li.dataset.testid = "composer-staged-uploading";
      li.className = "uploading";
      li.append(icon("clip", "Attachment:"), ` ${name}: uploading…`);
      return li;
    }),
    ...files.map((a) => {
      const li = document.createElement("li");
      li.dataset.testid = "composer-staged-file";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "staged-remove";
      remove.dataset.testid = "composer-staged-remove";
      remove.dataset.attachment = a.id;
      remove.setAttribute("aria-label", `Remove ${a.name}`);
      remove.textContent = "×";
      li.append(icon("clip", "Attachment:"), ` ${a.name} (${sizeLabel(a.size)}) `, remove);
      return li;
    }),
  );
}

/** Upload files for the chat on screen and stage them for its reply. */
async function stage(files) {
  const r = convs.get(ui.selectedId);
  if (!files.length || !r || !isMine(r) || !isOpen(r)) return;
  // The mode when the files were picked says who they are for.
  if (ui.composerMode !== "reply") return toast(NO_FILES_IN_NOTES);
  uploading = true;
  loading.set(r.id, [...(loading.get(r.id) || []), ...files.map((f) => f.name)]);
  paintAttach();
  for (const file of files) {
    const result = await uploadAttachment({
      url: `/api/v1/conversations/${r.id}/attachments/`,
      file,
      conversation: r.id,
      headers: { "X-CSRFToken": csrf() },
    });
    const left = loading.get(r.id) || [];
    if (left.includes(file.name)) left.splice(left.indexOf(file.name), 1);
    if (result.ok) staged.set(r.id, [...stagedFor(r.id), result.attachment]);
    else toast(`${file.name}: ${result.message || "could not be uploaded."}`);
    paintTray();
  }
  uploading = [...loading.values()].some((names) => names.length > 0);
  paintAttach();
  el.input.focus();
}

const hasFiles = (ev) => Array.from((ev.dataTransfer && ev.dataTransfer.types) || []).includes("Files");

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
  input.addEventListener("change", () => {
    const files = Array.from(input.files || []);
    input.value = "";
    stage(files);
  });
  el.input.addEventListener("paste", (ev) => {
    const files = Array.from((ev.clipboardData && ev.clipboardData.files) || []);
    if (!files.length) return; // text: the textarea's own paste
    ev.preventDefault();
    stage(files);
  });
  el.form.addEventListener("dragover", (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault(); // this is a drop target
    el.form.classList.add("dropping");
  });
  el.form.addEventListener("dragleave", (ev) => {
    if (!el.form.contains(ev.relatedTarget)) el.form.classList.remove("dropping");
  });
  el.form.addEventListener("drop", (ev) => {
    el.form.classList.remove("dropping");
    if (!hasFiles(ev)) return;
    ev.preventDefault(); // not opened by the browser in place of the console
    stage(Array.from(ev.dataTransfer.files));
  });
  // A file dropped a little off the composer must not replace the console with itself
  // (the browser's default): over the open chat it is staged too, elsewhere ignored.
  document.addEventListener("dragover", (ev) => {
    if (hasFiles(ev)) ev.preventDefault();
  });
  document.addEventListener("drop", (ev) => {
    if (!hasFiles(ev) || el.form.contains(ev.target)) return;
    ev.preventDefault();
    if (el.chat.contains(ev.target) && !el.form.hidden) stage(Array.from(ev.dataTransfer.files));
  });
  tray = document.createElement("ul");
  tray.className = "staged";
  tray.dataset.testid = "composer-staged";
  tray.setAttribute("aria-label", "Files to send with the reply");
  tray.hidden = true;
  tray.addEventListener("click", (ev) => {
    const remove = ev.target.closest("[data-testid=composer-staged-remove]");
    if (!remove) return;
    const id = ui.selectedId;
    staged.set(id, stagedFor(id).filter((a) => String(a.id) !== remove.dataset.attachment));
    paintTray();
    el.input.focus();
  });
  el.form.insertBefore(tray, el.input);
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
