// The floor dashboard's words (static/floor/text.js): a supervisor's action's toast says what
// happened with the floor's names, and an offline message's row is marked, never red.
// The status page's incident start in the reader's zone (static/status/localtime.js).
import { describe, expect, it } from "vitest";
import { actionText, activeCells, listNote, listTotals, waitingCells } from "../../static/floor/text.js";
import { localTime } from "../../static/status/localtime.js";

const SNAP = {
  agents: [
    { id: 4, name: "Ann" },
    { id: 7, name: "Bob" },
  ],
  queues: [{ id: 3, name: "Care" }],
};

describe("actionText", () => {
  it("says who is now away", () => {
    expect(actionText({ type: "floor.agent_away", agent: 7 }, SNAP, { for: "floor.agent_away", status: "away" })).toBe("Bob is now away");
  });

  it("says which conversation went to whom", () => {
    const action = { type: "floor.reassign", conversation: 12, to_agent: 4 };
    expect(actionText(action, SNAP, { for: "floor.reassign", conversation: 12 })).toBe("Conversation #12 reassigned to Ann");
  });

  it("says a queue closed or opened, by name", () => {
    expect(actionText({ type: "floor.queue_close", queue: 3, closed: true }, SNAP, { status: "closed" })).toBe("Queue Care closed to new chats");
    expect(actionText({ type: "floor.queue_close", queue: 3, closed: false }, SNAP, { status: "open" })).toBe("Queue Care open to new chats again");
  });

  it("never shows a code, even without a snapshot or the action", () => {
    expect(actionText({ type: "floor.agent_away", agent: 9 }, null, { status: "away" })).toBe("Agent 9 is now away");
    const unknown = actionText(undefined, SNAP, { for: "floor.queue_close", status: "closed" });
    expect(unknown).toBe("The queue closed to new chats");
    expect(actionText(undefined, null, { for: "floor.reassign", conversation: 5 })).toBe("Conversation #5 reassigned to another agent");
  });
});

describe("waitingCells", () => {
  it("marks an offline message and never makes it red, whatever its age", () => {
    const w = { state: "waiting", state_label: "Waiting", mode: "offline", offline: true, wait_s: 214, past_sla: false };
    expect(waitingCells(w)).toEqual({ state: "Waiting", badge: "offline message", wait: 214, bad: false });
    expect(waitingCells({ ...w, past_sla: true }).bad).toBe(false);
  });

  it("makes a live chat past the SLA red", () => {
    const w = { state: "offered", state_label: "Offered", mode: "live", offline: false, wait_s: 90, past_sla: true };
    expect(waitingCells(w)).toEqual({ state: "Offered", badge: null, wait: 90, bad: true });
    expect(waitingCells({ ...w, past_sla: false }).bad).toBe(false);
  });
});

describe("localTime", () => {
  it("reads an ISO instant as a date and time in words, in the given zone", () => {
    expect(localTime("2026-12-06T12:28:53+00:00", "en-GB", "UTC")).toBe("6 Dec 2026, 12:28 UTC");
    expect(localTime("2026-12-06T12:28:53+00:00", "en-GB", "Europe/Paris")).toBe("6 Dec 2026, 13:28 CET");
  });

  it("leaves a bad value alone", () => {
    expect(localTime("yesterday", "en-GB", "UTC")).toBe(null);
  });
});

describe("activeCells", () => {
  it("times an unanswered customer against the reply target, red once past it", () => {
    expect(activeCells({ awaiting_s: 42.5, past_target: false })).toEqual({ reply: 42.5, bad: false });
    expect(activeCells({ awaiting_s: 130, past_target: true })).toEqual({ reply: 130, bad: true });
  });

  it("says a chat whose last word was the agent's is not waiting, never red", () => {
    expect(activeCells({ awaiting_s: null, past_target: false })).toEqual({ reply: "not waiting", bad: false });
  });
});

describe("listNote", () => {
  it("says how many of how many a cut list shows, and nothing when all are shown", () => {
    expect(listNote(50, 179, "oldest first")).toBe("50 of 179 shown (oldest first).");
    expect(listNote(12, 12, "oldest first")).toBe("");
    expect(listNote(0, 0, "x")).toBe("");
  });

  it("takes the totals from the queues (waiting + offline) and the agents' held chats", () => {
    const snap = {
      queues: [{ waiting: 150, offline: 29 }, { waiting: 0, offline: 0 }],
      agents: [{ held: 30 }, { held: 25 }],
    };
    expect(listTotals(snap)).toEqual({ waiting: 179, active: 55 });
    expect(listTotals({ queues: [], agents: [{}] }).active).toBe(null);
  });
});
