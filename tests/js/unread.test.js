// The console's unread count (static/console/state.js unreadCount): what a person wrote to
// me past my read cursor; never the bot's questions, system lines or my own messages.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

let unreadCount;

beforeAll(async () => {
  // state.js reads the console's config from the page at import.
  vi.stubGlobal("document", { getElementById: () => ({ textContent: '{"userId": 3, "userName": "Alice"}' }) });
  vi.stubGlobal("location", { host: "console.test" });
  vi.stubGlobal("sessionStorage", { getItem: () => null, setItem() {}, removeItem() {} });
  ({ unreadCount } = await import("../../static/console/state.js"));
});
afterAll(() => vi.unstubAllGlobals());

let seq = 0;
const msg = (role, participant, kind = "text") => ({ seq: ++seq, kind, body: "…", sender: { role, participant } });

function chat(msgs, read, { assignee = 3 } = {}) {
  return { c: { status: "assigned", assignee: { id: assignee } }, myPid: 20, msgs, s: { me: { read } } };
}

describe("unreadCount", () => {
  it("counts the customer's and other agents' messages past my cursor", () => {
    seq = 0;
    const msgs = [msg("customer", 10), msg("agent", 20), msg("customer", 10), msg("agent", 21)];
    expect(unreadCount(chat(msgs, 0))).toBe(3);
    expect(unreadCount(chat(msgs, 2))).toBe(2);
    expect(unreadCount(chat(msgs, 4))).toBe(0);
  });

  it("leaves out the bot's questions, system messages and event lines", () => {
    seq = 0;
    const msgs = [msg("bot", 5), msg("customer", 10), msg("bot", 5), msg("system", 6), msg("system", 6, "event"), msg("customer", 10)];
    expect(unreadCount(chat(msgs, 0))).toBe(2);
  });

  it("is 0 on a chat that is not mine", () => {
    seq = 0;
    expect(unreadCount(chat([msg("customer", 10)], 0, { assignee: 99 }))).toBe(0);
  });
});
