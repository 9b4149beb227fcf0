// The outbox, resume by seq, receipts, ordering by rev, error frames, typing and pacing.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { conversation, fakeStorage, makeClient, message, useFakeTime } from "./harness.js";

beforeEach(useFakeTime);
afterEach(() => vi.useRealTimers());

const mine = { participant: 1, role: "customer", name: "Zoé" };
const isOwn = (id, m) => m.sender.role === "customer";

/** Answer every ping so the heartbeat keeps the socket. */
function pongs(s) {
  for (const p of s.frames("ping")) if (!p.answered) {
    p.answered = true;
    s.push({ type: "pong", ref: p.id, last_seq: {} });
  }
}

describe("outbox", () => {
  it("keeps a message written offline and sends it, same client_msg_id, until accepted", () => {
    const storage = fakeStorage();
    const h = makeClient({ storage, hooks: { isOwn } });
    h.client.track(12, 0);
    const entry = h.client.enqueue({ conversation: 12, body: "hello" });
    expect(JSON.parse(storage.getItem("outbox")).map((e) => e.client_msg_id)).toEqual([entry.client_msg_id]);

    const s1 = h.connectWithHello({ heartbeat_interval: 5 });
    expect(s1.frames("message.send")).toEqual([
      { type: "message.send", id: `m:${entry.client_msg_id}`, conversation: 12, client_msg_id: entry.client_msg_id, body: "hello" },
    ]);
    // No answer: resent (same id) once two heartbeats passed, while pongs say the socket lives.
    for (let i = 0; i < 3; i += 1) {
      vi.advanceTimersByTime(5_000);
      pongs(s1);
    }
    expect(s1.frames("message.send").map((f) => f.client_msg_id)).toEqual([entry.client_msg_id, entry.client_msg_id]);

    // A reconnect resends it again on the new socket after hello.
    s1.drop(1006);
    vi.advanceTimersByTime(1_000);
    const s2 = h.sock().accept();
    expect(s2.frames("message.send")).toHaveLength(0); // not before hello
    s2.push({ type: "hello", heartbeat_interval: 5, conversations: [] });
    expect(s2.frames("message.send").map((f) => f.client_msg_id)).toEqual([entry.client_msg_id]);

    // Accepted: out of the outbox, shown as sent, never sent again; a duplicate accept is fine.
    const accepted = { type: "message.accepted", ref: `m:${entry.client_msg_id}`, conversation: 12, client_msg_id: entry.client_msg_id, seq: 1, duplicate: false };
    s2.push(accepted);
    s2.push({ ...accepted, duplicate: true });
    expect(h.client.outbox()).toEqual([]);
    expect(JSON.parse(storage.getItem("outbox"))).toEqual([]);
    expect(h.client.pending(12).map((e) => [e.client_msg_id, e.seq])).toEqual([[entry.client_msg_id, 1]]);
    for (let i = 0; i < 4; i += 1) {
      vi.advanceTimersByTime(5_000);
      pongs(s2);
    }
    expect(s2.frames("message.send")).toHaveLength(1);

    // Its message.new (twice: pushes may repeat) settles it and is delivered once.
    const echo = message(12, 1, { client_msg_id: entry.client_msg_id, sender: mine, body: "hello" });
    s2.push({ type: "message.new", message: echo });
    s2.push({ type: "message.new", message: echo });
    expect(h.seen.messages).toEqual([[12, 1]]);
    expect(h.client.pending(12)).toEqual([]);
  });

  it("survives a reload: a new client on the same storage sends what the old one left", () => {
    const storage = fakeStorage();
    const first = makeClient({ storage });
    const entry = first.client.enqueue({ conversation: 12, body: "written before the reload" });
    const second = makeClient({ storage }); // the next page (or another tab)
    const s = second.connectWithHello();
    expect(s.frames("message.send").map((f) => f.client_msg_id)).toEqual([entry.client_msg_id]);
  });

  it("keeps the outbox in memory when the storage refuses (private mode, full quota)", () => {
    const refusing = { getItem: () => { throw new Error("SecurityError"); }, setItem: () => { throw new Error("QuotaExceededError"); } };
    const h = makeClient({ storage: refusing });
    const entry = h.client.enqueue({ conversation: 12, body: "still sent" });
    expect(h.client.outbox().map((e) => e.client_msg_id)).toEqual([entry.client_msg_id]);
    const s = h.connectWithHello();
    expect(s.frames("message.send").map((f) => f.body)).toEqual(["still sent"]);
  });

  it("asks the UI to address messages with no conversation, then sends them there", () => {
    let h = null;
    h = makeClient({ hooks: { unaddressed: () => h.client.address(44) } });
    h.client.enqueue({ conversation: null, body: "first message", choice: "order" });
    const s = h.connectWithHello();
    expect(s.frames("message.send")).toEqual([expect.objectContaining({ conversation: 44, body: "first message", choice: "order" })]);
  });

  it("carries the first unaddressed message in conversation.start, answered to its own id", () => {
    let h = null;
    h = makeClient({
      hooks: {
        isOwn,
        unaddressed: () => {
          if (h.client.get(7)) return h.client.address(7);
          h.client.start({ type: "conversation.start", id: "s1" });
        },
        frame: (f) => f.type === "conversation.started" && h.client.track(f.conversation.id, 0),
      },
    });
    const first = h.client.enqueue({ conversation: null, body: "where is my order?" });
    const second = h.client.enqueue({ conversation: null, body: "order 1234" });
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    // The oldest one rides in the start; nothing goes as message.send before the answer.
    expect(s.frames("conversation.start")).toEqual([
      {
        type: "conversation.start",
        id: "s1",
        message: { id: `m:${first.client_msg_id}`, client_msg_id: first.client_msg_id, body: "where is my order?" },
      },
    ]);
    expect(s.frames("message.send")).toEqual([]);
    // Started: the rest go into it; the first is not sent again, and its answer settles it.
    s.push({ type: "conversation.started", ref: "s1", created: true, conversation: conversation(7, { status: "queued" }) });
    expect(s.frames("message.send").map((f) => [f.client_msg_id, f.conversation])).toEqual([[second.client_msg_id, 7]]);
    s.push({ type: "message.accepted", ref: `m:${first.client_msg_id}`, conversation: 7, client_msg_id: first.client_msg_id, seq: 1, duplicate: false });
    expect(h.client.outbox().map((e) => e.body)).toEqual(["order 1234"]);
    expect(h.client.pending(7).map((e) => [e.body, e.seq])).toEqual([["where is my order?", 1], ["order 1234", undefined]]);
    expect(s.frames("message.send").map((f) => f.client_msg_id)).not.toContain(first.client_msg_id);
  });

  it("sends the first message again after its start was refused, or when it is refused itself", () => {
    let h = null;
    let n = 0;
    h = makeClient({
      hooks: {
        unaddressed: () => {
          if (h.client.get(7)) return h.client.address(7);
          n += 1;
          h.client.start({ type: "conversation.start", id: `s${n}` });
        },
        frame: (f) => f.type === "conversation.started" && h.client.track(f.conversation.id, 0),
        refused: (entry, f) => h.seen.refused.push([entry && entry.body, f.code]),
      },
    });
    const entry = h.client.enqueue({ conversation: null, body: "hello" });
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    s.push({ type: "error", ref: "s1", code: "internal", message: "retry" });
    h.client.flush(); // the widget retries the start: the message rides again
    const starts = s.frames("conversation.start");
    expect(starts.map((f) => f.message && f.message.client_msg_id)).toEqual([entry.client_msg_id, entry.client_msg_id]);
    // Started, but the message itself refused (e.g. blocked words): the outbox's usual path.
    s.push({ type: "conversation.started", ref: "s2", created: true, conversation: conversation(7, { status: "queued" }) });
    s.push({ type: "error", ref: `m:${entry.client_msg_id}`, code: "message_blocked", message: "no", field: "body" });
    expect(h.seen.refused).toEqual([["hello", "message_blocked"]]);
    expect(h.client.outbox()).toEqual([]);
    expect(s.frames("message.send")).toEqual([]);
  });

  it("takes everything unsent out when the UI's principal changes, and sends it once back", () => {
    const storage = fakeStorage();
    const h = makeClient({ storage });
    h.client.track(12, 0);
    const a = h.client.enqueue({ conversation: 12, body: "my card ends 9999" });
    h.client.enqueue({ conversation: null, body: "and my address" });
    const taken = h.client.takeOutbox();
    expect(taken.map((e) => e.body)).toEqual(["my card ends 9999", "and my address"]);
    expect(h.client.outbox()).toEqual([]);
    expect(JSON.parse(storage.getItem("outbox"))).toEqual([]);
    const s = h.connectWithHello();
    expect(s.frames("message.send")).toEqual([]); // not as the next principal's
    h.client.restoreOutbox(taken);
    h.client.restoreOutbox(taken); // twice: still one of each
    expect(h.client.outbox().map((e) => e.client_msg_id)).toEqual(taken.map((e) => e.client_msg_id));
    expect(s.frames("message.send").map((f) => f.client_msg_id)).toEqual([a.client_msg_id]);
  });

  it("sends an attachments-only message with the uploads' ids, and without them otherwise", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const uploads = [{ id: "5b0e-a", name: "a.png", kind: "image" }, { id: "5b0e-b", name: "b.pdf", kind: "file" }];
    h.client.enqueue({ conversation: 12, body: "", attachments: uploads });
    h.client.enqueue({ conversation: 12, body: "plain" });
    const s = h.connectWithHello();
    const [files, plain] = s.frames("message.send");
    expect(files).toEqual(expect.objectContaining({ body: "", attachments: ["5b0e-a", "5b0e-b"] }));
    expect(plain).not.toHaveProperty("attachments");
  });

  it("resends after an internal error, readdresses or drops a refused one as the UI says", () => {
    const h = makeClient({
      hooks: {
        refused: (entry, f) => {
          h.seen.refused.push([entry.body, f.code]);
          return f.code === "not_found" ? "readdress" : undefined;
        },
        unaddressed: () => h.client.address(13),
      },
    });
    const a = h.client.enqueue({ conversation: 12, body: "retry me" });
    const b = h.client.enqueue({ conversation: 12, body: "blocked words" });
    const c = h.client.enqueue({ conversation: 12, body: "wrong conversation" });
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    s.push({ type: "error", ref: `m:${a.client_msg_id}`, code: "internal", message: "oops" });
    s.push({ type: "error", ref: `m:${b.client_msg_id}`, code: "message_blocked", message: "no" });
    s.push({ type: "error", ref: `m:${c.client_msg_id}`, code: "not_found", message: "gone" });
    expect(h.client.outbox().map((e) => e.body)).toEqual(["retry me", "wrong conversation"]);
    vi.advanceTimersByTime(2_000);
    const sends = s.frames("message.send").slice(3).map((f) => [f.body, f.conversation]);
    expect(sends).toEqual(expect.arrayContaining([["retry me", 12], ["wrong conversation", 13]]));
    expect(sends.map(([body]) => body)).not.toContain("blocked words");
    expect(h.seen.refused).toEqual([["blocked words", "message_blocked"], ["wrong conversation", "not_found"]]);
  });

  it("sends everything pending again a second after rate_limited", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const e = h.client.enqueue({ conversation: 12, body: "hi" });
    const s = h.connectWithHello({ heartbeat_interval: 60, conversations: [conversation(12, { last_seq: 3 })] });
    expect(s.frames("resume")).toHaveLength(1);
    s.push({ type: "error", ref: `m:${e.client_msg_id}`, code: "rate_limited", message: "slow down" });
    vi.advanceTimersByTime(999);
    expect(s.frames("message.send")).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(s.frames("message.send")).toHaveLength(2);
    expect(s.frames("resume")).toHaveLength(2); // its resume may have been the dropped frame
  });
});

describe("resume by seq", () => {
  it("resumes on hello, delivers in order, fills a gap, ignores duplicates", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const s = h.connectWithHello({ conversations: [conversation(12, { last_seq: 2 })] });
    const r1 = s.frames("resume");
    expect(r1).toEqual([expect.objectContaining({ conversation: 12, after_seq: 0 })]);
    s.push({ type: "messages.batch", ref: r1[0].id, conversation: conversation(12, { last_seq: 2 }), messages: [message(12, 1), message(12, 2)], has_more: false });
    expect(h.seen.messages).toEqual([[12, 1], [12, 2]]);

    // seq 5 before 3 and 4: a gap. Nothing out of order is delivered; resume asks after 2.
    s.push({ type: "message.new", message: message(12, 5) });
    expect(h.seen.messages).toHaveLength(2);
    const r2 = s.frames("resume");
    expect(r2.at(-1)).toEqual(expect.objectContaining({ after_seq: 2 }));
    s.push({ type: "message.new", message: message(12, 3) }); // arrives meanwhile: in order, so taken
    s.push({ type: "message.new", message: message(12, 2) }); // a duplicate
    expect(s.frames("resume")).toHaveLength(2); // one resume in flight at a time
    s.push({ type: "messages.batch", ref: r2.at(-1).id, conversation: conversation(12, { last_seq: 5 }), messages: [3, 4, 5].map((n) => message(12, n)), has_more: false });
    expect(h.seen.messages.map(([, seq]) => seq)).toEqual([1, 2, 3, 4, 5]);
    expect(h.client.get(12).lastSeq).toBe(5);
  });

  it("asks again while has_more, from the last seq received", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const s = h.connectWithHello();
    h.client.resume(12, true);
    // Only has_more says there is more (this snapshot's last_seq does not).
    const batch = { type: "messages.batch", conversation: conversation(12), messages: [message(12, 1), message(12, 2)] };
    s.push({ ...batch, ref: s.frames("resume")[0].id, has_more: true });
    expect(s.frames("resume").at(-1)).toEqual(expect.objectContaining({ after_seq: 2 }));
    s.push({ ...batch, ref: s.frames("resume")[1].id, messages: [message(12, 3)], has_more: false });
    expect(s.frames("resume")).toHaveLength(2);
    expect(h.seen.messages.map(([, seq]) => seq)).toEqual([1, 2, 3]);
  });

  it("after a reconnect, hello's last_seq brings what was missed while away", () => {
    const h = makeClient({ random: 0 });
    h.client.track(12, 0);
    const s1 = h.connectWithHello({ conversations: [conversation(12, { last_seq: 1 })] });
    s1.push({ type: "messages.batch", ref: s1.frames("resume")[0].id, conversation: conversation(12, { last_seq: 1 }), messages: [message(12, 1)], has_more: false });
    s1.drop(1006);
    vi.advanceTimersByTime(250);
    const s2 = h.sock().accept();
    s2.push({ type: "hello", heartbeat_interval: 5, conversations: [conversation(12, { last_seq: 4 })] });
    expect(s2.frames("resume")).toEqual([expect.objectContaining({ conversation: 12, after_seq: 1 })]);
  });

  it("a message.updated or conversation.updated ahead of what is held is a gap too", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const updated = [];
    const g = makeClient({ hooks: { updated: (id, m) => updated.push(m.seq) } });
    g.client.track(12, 0);
    const s = g.connectWithHello({ conversations: [conversation(12, { last_seq: 1 })] });
    s.push({ type: "messages.batch", ref: s.frames("resume")[0].id, conversation: conversation(12, { last_seq: 1 }), messages: [message(12, 1)], has_more: false });
    s.push({ type: "message.updated", message: message(12, 1, { body: "translated" }) });
    s.push({ type: "message.updated", message: message(12, 2) });
    expect(updated).toEqual([1]);
    expect(s.frames("resume").at(-1)).toEqual(expect.objectContaining({ after_seq: 1 }));

    const t = h.connectWithHello();
    t.push({ type: "conversation.updated", conversation: conversation(12, { last_seq: 3 }) });
    expect(t.frames("resume")).toEqual([expect.objectContaining({ after_seq: 0 })]);
  });

  it("a resume answered not_found forgets the conversation and tells the UI", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const s = h.connectWithHello();
    h.client.resume(12, true);
    s.push({ type: "error", ref: s.frames("resume")[0].id, code: "not_found", message: "No such conversation." });
    expect(h.seen.lost).toEqual([12]);
    expect(h.client.get(12)).toBeUndefined();
  });
});

describe("receipts", () => {
  it("coalesces arrivals into one receipt per conversation, 300 ms after the last", () => {
    let reading = false;
    const h = makeClient({ hooks: { receiptWanted: () => ({ read: reading }) } });
    h.client.track(12, 0);
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    for (const seq of [1, 2, 3]) {
      s.push({ type: "message.new", message: message(12, seq) });
      vi.advanceTimersByTime(200);
    }
    expect(s.frames("receipt")).toHaveLength(0);
    vi.advanceTimersByTime(100);
    expect(s.frames("receipt")).toEqual([{ type: "receipt", conversation: 12, delivered_seq: 3 }]);

    // Nothing new: nothing sent. Read once the reader sees it.
    h.client.arrived(12);
    vi.advanceTimersByTime(300);
    expect(s.frames("receipt")).toHaveLength(1);
    reading = true;
    h.client.arrived(12);
    vi.advanceTimersByTime(300);
    expect(s.frames("receipt").at(-1)).toEqual({ type: "receipt", conversation: 12, read_seq: 3 });
    expect(h.client.get(12).me).toEqual({ delivered: 3, read: 3 });
  });

  it("sends none where the UI says no, and none for my own messages", () => {
    const h = makeClient({ hooks: { isOwn, receiptWanted: (id) => id === 12 && { read: true } } });
    h.client.track(12, 0);
    h.client.track(13, 0);
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    s.push({ type: "message.new", message: message(13, 1) });
    s.push({ type: "message.new", message: message(12, 1, { sender: mine }) });
    vi.advanceTimersByTime(300);
    expect(s.frames("receipt")).toEqual([]);
    s.push({ type: "message.new", message: message(12, 2) });
    vi.advanceTimersByTime(300);
    expect(s.frames("receipt")).toEqual([{ type: "receipt", conversation: 12, delivered_seq: 2, read_seq: 2 }]);
  });
});

describe("partial reads", () => {
  it("reads up to the seq the UI says the reader saw, never past what it holds", () => {
    let seen = 0;
    const h = makeClient({ hooks: { isOwn, receiptWanted: () => ({ read: seen }) } });
    h.client.track(12, 0);
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    for (const seq of [1, 2, 3]) s.push({ type: "message.new", message: message(12, seq) });
    seen = 2; // the panel showed two, then closed; the third came after
    vi.advanceTimersByTime(300);
    expect(s.frames("receipt")).toEqual([{ type: "receipt", conversation: 12, delivered_seq: 3, read_seq: 2 }]);
    seen = 9;
    h.client.arrived(12);
    vi.advanceTimersByTime(300);
    expect(s.frames("receipt").at(-1)).toEqual({ type: "receipt", conversation: 12, read_seq: 3 });
  });
});

describe("ordering by rev", () => {
  it("drops a snapshot older than the newest applied; applies equal and newer", () => {
    const h = makeClient();
    const s = h.connectWithHello();
    const updated = (rev, status) => s.push({ type: "conversation.updated", conversation: conversation(12, { rev, status }) });
    updated(5, "offered");
    updated(4, "queued"); // late: an older state must not win
    updated(5, "offered");
    updated(6, "assigned");
    updated(2, "queued");
    expect(h.seen.conversations).toEqual([[12, 5, "offered"], [12, 5, "offered"], [12, 6, "assigned"]]);
    // Revs are per conversation, and a snapshot without one is applied as it comes.
    s.push({ type: "conversation.updated", conversation: conversation(13, { rev: 1, status: "queued" }) });
    s.push({ type: "conversation.updated", conversation: conversation(14, { status: "queued" }) });
    s.push({ type: "conversation.updated", conversation: conversation(14, { status: "bot" }) });
    expect(h.seen.conversations.slice(3)).toEqual([[13, 1, "queued"], [14, undefined, "queued"], [14, undefined, "bot"]]);
    expect(h.client.fresh(conversation(12, { rev: 5 }))).toBe(false);
    expect(h.client.fresh(conversation(12, { rev: 6 }))).toBe(true);
  });

  it("counts the revs of hello's snapshots: an older push after it is dropped", () => {
    const h = makeClient();
    const s = h.connectWithHello({ conversations: [conversation(12, { rev: 9, status: "assigned" })] });
    s.push({ type: "conversation.updated", conversation: conversation(12, { rev: 8, status: "offered" }) });
    expect(h.seen.conversations).toEqual([]);
  });

  it("a stale snapshot in a batch is not applied, but its messages are", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const s = h.connectWithHello({ conversations: [conversation(12, { rev: 7, last_seq: 1, status: "assigned" })] });
    s.push({ type: "messages.batch", ref: s.frames("resume")[0].id, conversation: conversation(12, { rev: 6, last_seq: 1, status: "queued" }), messages: [message(12, 1)], has_more: false });
    expect(h.seen.conversations).toEqual([]);
    expect(h.seen.messages).toEqual([[12, 1]]);
  });
});

describe("typing and pacing", () => {
  it("sends start at most every 3 s while typing and stop after 5 s idle", () => {
    const h = makeClient();
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    h.client.typing(12, "h");
    vi.advanceTimersByTime(1_000);
    h.client.typing(12, "he");
    vi.advanceTimersByTime(2_001);
    h.client.typing(12, "hel");
    expect(s.frames("typing").map((f) => f.state)).toEqual(["start", "start"]);
    vi.advanceTimersByTime(5_000);
    expect(s.frames("typing").map((f) => f.state)).toEqual(["start", "start", "stop"]);
    h.client.typing(12, "x");
    h.client.typing(12, ""); // emptied: stop at once
    expect(s.frames("typing").map((f) => f.state)).toEqual(["start", "start", "stop", "start", "stop"]);
  });

  it("with pace, holds frames over the bucket and lets urgent ones go first", () => {
    const h = makeClient({ pace: { burst: 2, perSecond: 10 } });
    const s = h.connectWithHello({ heartbeat_interval: 60 });
    const before = s.sent.length;
    for (const n of [1, 2, 3, 4]) h.client.send({ type: "resume", id: `r${n}` });
    h.client.send({ type: "conversation.take", id: "t1" }, true);
    const now = s.sent.slice(before).map((f) => f.id);
    expect(now.length).toBeLessThan(5);
    vi.advanceTimersByTime(1_000);
    const all = s.sent.slice(before).map((f) => f.id);
    expect(all).toHaveLength(5);
    expect(all.indexOf("t1")).toBeLessThan(all.indexOf("r4"));
  });
});

describe("a batch's resume", () => {
  // The console loads a waiting conversation's preview on demand, from its conversation hook
  // (static/console/conversations.js ensureLoaded): only when nothing is held and no resume
  // is in flight.
  function previewLoader() {
    const h = makeClient({
      hooks: {
        conversation(c) {
          const st = h.client.get(c.id);
          if (st && st.lastSeq === 0 && !st.resumeRef && c.last_seq) {
            h.client.track(c.id, 0);
            h.client.resume(c.id, true);
          }
        },
      },
    });
    return h;
  }

  it("is in flight until its messages are applied: a preview is asked for once", () => {
    const h = previewLoader();
    h.client.track(7, 0);
    const s = h.connectWithHello({ conversations: [conversation(7, { status: "queued", last_seq: 1 })] });
    expect(s.frames("resume")).toHaveLength(1);
    s.push({ type: "messages.batch", ref: s.frames("resume")[0].id, conversation: conversation(7, { status: "queued", last_seq: 1 }), messages: [message(7, 1)], has_more: false });
    expect(h.seen.messages).toEqual([[7, 1]]);
    expect(s.frames("resume")).toHaveLength(1);
    expect(h.client.get(7).resumeRef).toBe(null);
  });

  it("ends even when a hook throws, so the conversation can be resumed again", () => {
    const h = makeClient({
      hooks: {
        conversation() {
          throw new Error("a UI bug");
        },
      },
    });
    h.client.track(7, 0);
    const s = h.connectWithHello({ conversations: [conversation(7, { last_seq: 1 })] });
    const batch = { type: "messages.batch", ref: s.frames("resume")[0].id, conversation: conversation(7, { last_seq: 1 }), messages: [message(7, 1)], has_more: false };
    expect(() => s.push(batch)).toThrow("a UI bug");
    expect(h.client.get(7).resumeRef).toBe(null);
    h.client.resume(7, false);
    expect(s.frames("resume")).toHaveLength(2);
  });
});
