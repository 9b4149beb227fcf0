// Without pushes (docs/protocol.md: hello and pong's `push`): the client polls resume and
// pings until the server says pushes flow again, then resumes once more and stops.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { conversation, makeClient, message, useFakeTime } from "./harness.js";

beforeEach(useFakeTime);
afterEach(() => vi.useRealTimers());

/** Answer every resume still unanswered with an empty batch (what the server would send). */
function answerResumes(s, answered) {
  for (const r of s.frames("resume")) {
    if (answered.has(r.id)) continue;
    answered.add(r.id);
    s.push({ type: "messages.batch", ref: r.id, conversation: conversation(r.conversation, { last_seq: r.after_seq }), messages: [], has_more: false });
  }
}

describe("polling while the server has no pushes", () => {
  it("polls resume and ping every 5 s after hello says push: false, and stops on push: true", () => {
    const pushes = [];
    const h = makeClient({ hooks: { push: (live) => pushes.push(live) } });
    h.client.track(12, 0);
    const s = h.connectWithHello({ push: false, conversations: [conversation(12)] });
    const answered = new Set();
    answerResumes(s, answered);
    expect(h.client.polling).toBe(true);
    expect(pushes).toEqual([false]);
    const before = s.frames("resume").length;
    vi.advanceTimersByTime(4_999);
    expect(s.frames("resume")).toHaveLength(before);
    vi.advanceTimersByTime(1);
    expect(s.frames("resume")).toHaveLength(before + 1); // forced: even with nothing known missing
    expect(s.frames("resume").at(-1)).toEqual(expect.objectContaining({ conversation: 12, after_seq: 0 }));
    const pings = s.frames("ping").length;
    expect(pings).toBeGreaterThanOrEqual(1);

    // A poll finds a message the lost push would have brought.
    const r = s.frames("resume").at(-1);
    answered.add(r.id);
    s.push({ type: "messages.batch", ref: r.id, conversation: conversation(12, { last_seq: 1 }), messages: [message(12, 1)], has_more: false });
    expect(h.seen.messages).toEqual([[12, 1]]);

    // Pushes are back: one last resume, then no more polling.
    s.push({ type: "pong", ref: s.frames("ping").at(-1).id, last_seq: {}, push: true });
    expect(h.client.polling).toBe(false);
    expect(pushes).toEqual([false, true]);
    expect(s.frames("resume").at(-1)).toEqual(expect.objectContaining({ after_seq: 1 }));
    answerResumes(s, answered);
    const settled = s.frames("resume").length;
    vi.advanceTimersByTime(30_000);
    expect(s.frames("resume")).toHaveLength(settled);
  });

  it("starts polling when a pong says pushes stopped, and a new socket's hello decides again", () => {
    const h = makeClient();
    h.client.track(7, 0);
    const s = h.connectWithHello({ push: true, conversations: [conversation(7)] });
    answerResumes(s, new Set());
    expect(h.client.polling).toBe(false);
    vi.advanceTimersByTime(5_000); // a heartbeat
    s.push({ type: "pong", ref: s.frames("ping").at(-1).id, last_seq: {}, push: false });
    expect(h.client.polling).toBe(true);
    const count = s.frames("resume").length;
    vi.advanceTimersByTime(5_000);
    expect(s.frames("resume").length).toBeGreaterThan(count);

    s.drop(1006); // the socket goes: no polling on a dead socket
    expect(h.client.polling).toBe(false);
    vi.advanceTimersByTime(2_000);
    const s2 = h.sock().accept();
    s2.push({ type: "hello", heartbeat_interval: 5, push: true, conversations: [] });
    expect(h.client.polling).toBe(false);
  });

  it("ignores a server that does not say (no push field)", () => {
    const h = makeClient();
    h.connectWithHello();
    expect(h.client.polling).toBe(false);
  });
});
