// "Are you still there?" (static/console/sla.js customerSilence): offered only when my side
// spoke last; never while the customer's own message waits for an answer.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

let customerSilence;
let NUDGE_TEXT;

beforeAll(async () => {
  // sla.js reads the console's state module, which reads the page's config at import.
  vi.stubGlobal("document", { getElementById: () => ({ textContent: '{"userId": 3, "userName": "Alice"}' }) });
  vi.stubGlobal("location", { host: "console.test" });
  vi.stubGlobal("sessionStorage", { getItem: () => null, setItem() {}, removeItem() {} });
  ({ customerSilence, NUDGE_TEXT } = await import("../../static/console/sla.js"));
});
afterAll(() => vi.unstubAllGlobals());

const T0 = Date.parse("2026-01-01T10:00:00Z");
const at = (s) => new Date(T0 + s * 1000).toISOString();
const msg = (role, s, body = "…", kind = "text") => ({ sender: { role }, kind, body, created_at: at(s) });

function chat(msgs, extra = {}) {
  return { c: { status: "assigned", assigned_at: at(0) }, msgs, awaiting: null, ...extra };
}

describe("customerSilence", () => {
  it("counts from my last reply", () => {
    const r = chat([msg("customer", -5), msg("agent", 10)]);
    expect(customerSilence(r, T0 + 40_000)).toBe(30);
  });

  it("is not offered while the customer's last message is unanswered", () => {
    expect(customerSilence(chat([msg("customer", -5)], { awaiting: at(-5) }), T0 + 600_000)).toBe(-1);
    // even if the awaiting clock was not set (a snapshot behind the messages)
    expect(customerSilence(chat([msg("agent", 1), msg("customer", 5)]), T0 + 600_000)).toBe(-1);
  });

  it("is not offered again once asked, until the customer speaks", () => {
    const r = chat([msg("customer", 1), msg("agent", 2), msg("agent", 200, NUDGE_TEXT), msg("agent", 210)]);
    expect(customerSilence(r, T0 + 900_000)).toBe(-1);
  });

  it("counts from the assignment when the bot answered before the hand-off", () => {
    const r = chat([msg("customer", -60), msg("bot", -50, "A human will take over.", "bot")]);
    expect(customerSilence(r, T0 + 20_000)).toBe(20);
  });

  it("does not apply to a chat that is not assigned", () => {
    expect(customerSilence(chat([msg("agent", 1)], { c: { status: "queued" } }), T0 + 600_000)).toBe(-1);
  });
});
