// What the widget shows of a message the server refused (static/parley/widget/render.js):
// the reason in the reader's language by its error code, at its place in time among the
// messages still pending; and which composer texts count as empty (isBlank).
import { describe, expect, it } from "vitest";
import { inTime, isBlank, refusalText } from "../../static/parley/widget/render.js";
import { env } from "../../static/parley/widget/state.js";

describe("refusalText", () => {
  env.TEXTS = {
    failed_blocked: "Ce message ne peut pas être envoyé : veuillez le reformuler.",
    failed_too_long: "Ce message est trop long.",
    failed_gone: "Cette conversation n'est plus disponible.",
    attach_too_many: "Trop de fichiers dans un seul message.",
    tick_failed: "Non envoyé",
  };

  it("says a known code in the reader's language, not the server's English", () => {
    const reason = "This message contains words that are not allowed here.";
    expect(refusalText({ code: "message_blocked", reason })).toBe(env.TEXTS.failed_blocked);
    expect(refusalText({ code: "too_large", reason: "body is longer than 4000 characters." })).toBe(env.TEXTS.failed_too_long);
    expect(refusalText({ code: "too_many_attachments", reason: "At most 5 attachments per message." })).toBe(env.TEXTS.attach_too_many);
    expect(refusalText({ code: "not_found", reason: "No such conversation." })).toBe(env.TEXTS.failed_gone);
  });

  it("falls back to the server's words for a code it does not know, then to Not sent", () => {
    expect(refusalText({ code: "something_new", reason: "Something new." })).toBe("Something new.");
    expect(refusalText({ code: "invalid_field", reason: "" })).toBe("Non envoyé"); // no text for it in these
    expect(refusalText({})).toBe("Non envoyé");
  });
});

describe("inTime", () => {
  const at = (s) => `2025-03-01T10:00:0${s}.000Z`;

  it("puts a refused message before what was sent after it", () => {
    const sent = { client_msg_id: "b", created_at: at(2), seq: 4 };
    const unsent = { client_msg_id: "c", created_at: at(3) };
    const refused = { client_msg_id: "a", created_at: at(1), code: "message_blocked" };
    const order = inTime([sent, unsent], [refused]).map((x) => [x.entry.client_msg_id, x.failed]);
    expect(order).toEqual([["a", true], ["b", false], ["c", false]]);
  });

  it("keeps refused messages in their own time order, after what came before them", () => {
    const first = { client_msg_id: "a", created_at: at(1) };
    const late = { client_msg_id: "r2", created_at: at(4) };
    const early = { client_msg_id: "r1", created_at: at(2) };
    const order = inTime([first], [late, early]).map((x) => x.entry.client_msg_id);
    expect(order).toEqual(["a", "r1", "r2"]);
  });
});

describe("isBlank", () => {
  it("is true of text with no visible character", () => {
    for (const text of ["", "   \n\t", "\u200b\u200b", "\u2060", "\ufeff", " \u200c\u200d ", "\u00ad", "\u202e\u202c", "\u3000", "\u3164", "\u2800", "\u034f\ufe0f", "\u{e0020}", null, undefined]) {
      expect([text, isBlank(text)]).toEqual([text, true]);
    }
  });

  it("is false as soon as one character shows", () => {
    for (const text of ["a", "\u200bhi\u200b", "👍", "\u{1f44d}\ufe0f", "é", "مرحبا", "中", "0", "."]) {
      expect([text, isBlank(text)]).toEqual([text, false]);
    }
  });
});
