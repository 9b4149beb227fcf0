// A bot button's label in the reader's language (docs/protocol.md "Bot messages"). The
// server writes `label` in the conversation's language when the bot asks; after
// Parley.setLocale() the widget reads another language, so a redraw picks, in order:
//   1. a variant in the reader's language, when the button carries them (`labels`:
//      {"fr": "…", "de": "…"}, exact tag first, then its primary language);
//   2. the widget's own text for a button it knows by id ("parley:person", the "Talk to
//      someone" button the server adds);
//   3. `label` as the server sent it.
// Pure (no DOM, no state): tests/js/labels.test.js.

export const PERSON = "parley:person";

const norm = (tag) => String(tag || "").toLowerCase().replace("_", "-");

/** The variant of `labels` ({tag: text}) for `lang`, or "". */
export function variant(labels, lang) {
  if (!labels || typeof labels !== "object" || Array.isArray(labels)) return "";
  const want = norm(lang);
  const primary = want.split("-")[0];
  let loose = "";
  for (const [tag, text] of Object.entries(labels)) {
    if (typeof text !== "string" || !text) continue;
    if (norm(tag) === want) return text;
    if (!loose && norm(tag).split("-")[0] === primary) loose = text;
  }
  return loose;
}

/** What a button shows to a reader of `lang`; `texts` are the widget's (chat/widget_texts.py). */
export function buttonLabel(button, lang, texts) {
  const b = button || {};
  const own = variant(b.labels, lang);
  if (own) return own;
  if (b.id === PERSON && texts && texts.button_person) return texts.button_person;
  return typeof b.label === "string" ? b.label : String(b.label ?? "");
}
