/*! Parley client: attachments. Uploading one file over REST (the widget with its visitor
 * token, the console with its session and CSRF token) and the label of a size; the message
 * that carries the ids goes through the outbox (outbox.js: `attachments` on an entry). */

/** POST one file; resolves {ok: true, attachment} or {ok: false, code, message}. */
export async function uploadAttachment({ url, file, conversation, headers, credentials }) {
  const form = new FormData();
  form.append("file", file, file.name);
  if (conversation) form.append("conversation", String(conversation));
  try {
    const res = await fetch(url, { method: "POST", headers: headers || {}, body: form, credentials: credentials || "same-origin" });
    const data = await res.json().catch(() => ({}));
    if (res.ok) return { ok: true, attachment: data };
    const err = data.error || {};
    return { ok: false, code: err.code || "", message: err.message || "" };
  } catch (e) {
    return { ok: false, code: "", message: "" };
  }
}

export function sizeLabel(n) {
  if (typeof n !== "number") return "";
  if (n >= 1024 * 1024) return (n / (1024 * 1024)).toFixed(1) + " MB";
  if (n < 1000) return n + " B"; // a 16-byte file read "1 KB"
  return Math.max(1, Math.round(n / 1024)) + " KB";
}
