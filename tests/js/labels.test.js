// A bot button's label after Parley.setLocale() (static/parley/widget/labels.js): the
// variant in the widget's new language when the button carries one, the widget's own text
// for the buttons it knows, else what the server sent.
import { describe, expect, it } from "vitest";
import { PERSON, buttonLabel, variant } from "../../static/parley/widget/labels.js";

const FR = { button_person: "Parler à quelqu'un" };

describe("buttonLabel", () => {
  it("keeps the server's label when there is nothing better", () => {
    expect(buttonLabel({ id: "order", label: "An order" }, "fr", FR)).toBe("An order");
    expect(buttonLabel({ id: "3", label: 3 }, "fr", FR)).toBe("3");
  });

  it("says the Talk to someone button in the widget's language", () => {
    expect(buttonLabel({ id: PERSON, label: "Talk to someone" }, "fr", FR)).toBe("Parler à quelqu'un");
    expect(buttonLabel({ id: PERSON, label: "Talk to someone" }, "en", {})).toBe("Talk to someone");
  });

  it("picks the reader's variant when the server sent several", () => {
    const b = { id: "order", label: "An order", labels: { en: "An order", fr: "Une commande", "pt-BR": "Um pedido" } };
    expect(buttonLabel(b, "fr", FR)).toBe("Une commande");
    expect(buttonLabel(b, "fr-CA", FR)).toBe("Une commande"); // the primary language
    expect(buttonLabel(b, "pt_br", FR)).toBe("Um pedido"); // the exact tag, any case or separator
    expect(buttonLabel(b, "de", FR)).toBe("An order"); // none for German: the label
    // A flow's own variant wins over the widget's text, even for the person button.
    expect(buttonLabel({ id: PERSON, label: "Talk to someone", labels: { fr: "Un humain svp" } }, "fr", FR)).toBe("Un humain svp");
  });

  it("ignores variants that are not text", () => {
    expect(variant(["Une commande"], "fr")).toBe("");
    expect(variant({ fr: "" , "fr-be": "Une commande" }, "fr")).toBe("Une commande");
    expect(variant({ fr: 7 }, "fr")).toBe("");
    expect(variant(null, "fr")).toBe("");
  });
});
