// The reply timer's clock (static/console/sla.js awaitingFromMessage): a customer's text
// starts it, an agent's reply stops it, and the bot's only before the handoff (queued_at):
// after it the customer waits for a person, as the server's awaiting_since says.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

let awaitingFromMessage;

beforeAll(async () => {
  vi.stubGlobal("document", { getElementById: () => ({ textContent: '{"userId": 3, "userName": "Alice"}' }) });
  vi.stubGlobal("location", { host: "console.test" });
  vi.stubGlobal("sessionStorage", { getItem: () => null, setItem() {}, removeItem() {} });
  ({ awaitingFromMessage } = await import("../../static/console/sla.js"));
});
afterAll(() => vi.unstubAllGlobals());

const T0 = Date.parse("2026-01-01T10:00:00Z");
const at = (s) => new Date(T0 + s * 1000).toISOString();
let seq = 0;
const msg = (role, s, kind = "text") => ({ sender: { role }, kind, body: "…", seq: ++seq, created_at: at(s) });

describe("awaitingFromMessage", () => {
  it("the bot's answer stops the clock while the bot has the chat", () => {
    const r = { c: { status: "bot", queued_at: null }, awaiting: null };
    awaitingFromMessage(r, msg("customer", 0));
    expect(r.awaiting).toBe(at(0));
    awaitingFromMessage(r, msg("bot", 2, "bot"));
    expect(r.awaiting).toBe(null);
  });

  it("after the handoff only a person's reply stops it", () => {
    const r = { c: { status: "assigned", queued_at: at(10) }, awaiting: null };
    awaitingFromMessage(r, msg("customer", 5));
    awaitingFromMessage(r, msg("bot", 9, "bot")); // before the handoff: the bot answered
    expect(r.awaiting).toBe(null);
    awaitingFromMessage(r, msg("customer", 20));
    awaitingFromMessage(r, msg("bot", 25, "bot")); // "an agent will join you": no answer
    expect(r.awaiting).toBe(at(20));
    awaitingFromMessage(r, msg("agent", 30));
    expect(r.awaiting).toBe(null);
  });
});
