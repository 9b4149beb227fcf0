// The console's sidebar arrangement (static/console/arrange.js): every conversation is
// listed once, as an offer card, under Waiting or under Mine, whatever order the offers and
// the conversation's updates arrive in.
import { describe, expect, it } from "vitest";
import { arrange } from "../../static/console/arrange.js";

const ME = 1;
const is = {
  waiting: (r) => ["queued", "offered", "reopened"].includes(r.c.status),
  mine: (r) => Boolean(r.c.assignee && r.c.assignee.id === ME),
};
const rec = (id, status, assignee = null) => ({ id, c: { id, status, assignee: assignee && { id: assignee } } });
const offer = (id, conversation) => ({ res: { id, conversation: conversation === undefined ? undefined : { id: conversation, customer: { name: "C" } } }, deadline: 0 });
const ids = (a) => ({ offers: a.offers.map((o) => o.res.id), waiting: a.waiting.map((r) => r.id), mine: a.mine.map((r) => r.id) });

describe("arrange", () => {
  it("lists a conversation offered to me as its card, not again under Waiting", () => {
    const records = [rec(7, "offered"), rec(8, "queued"), rec(9, "assigned", ME)];
    expect(ids(arrange(records, [offer(70, 7)], is))).toEqual({ offers: [70], waiting: [8], mine: [9] });
  });

  it("puts it back under Waiting once the offer is gone (expired, revoked, declined)", () => {
    const records = [rec(7, "queued")];
    expect(ids(arrange(records, [], is))).toEqual({ offers: [], waiting: [7], mine: [] });
  });

  it("shows one card per conversation, the newest reservation's, when an old one lingers", () => {
    // Offered, expired (its push lost: the old reservation stays until the next pong), and
    // offered again: one card, and not under Waiting.
    const records = [rec(7, "offered")];
    expect(ids(arrange(records, [offer(70, 7), offer(71, 7)], is))).toEqual({ offers: [71], waiting: [], mine: [] });
    expect(ids(arrange(records, [offer(71, 7), offer(70, 7)], is))).toEqual({ offers: [71], waiting: [], mine: [] });
  });

  it("an accepted conversation is mine as soon as its update says so, its card gone before the ack", () => {
    const records = [rec(7, "assigned", ME)];
    expect(ids(arrange(records, [offer(70, 7)], is))).toEqual({ offers: [], waiting: [], mine: [7] });
  });

  it("keeps a card whose conversation is not held yet, or whose payload lacks it", () => {
    expect(ids(arrange([], [offer(70, 7), offer(71)], is))).toEqual({ offers: [70, 71], waiting: [], mine: [] });
  });

  it("leaves out records without a payload and conversations neither waiting nor mine", () => {
    const records = [{ id: 5, c: null }, rec(6, "assigned", 2), rec(7, "bot")];
    expect(ids(arrange(records, [], is))).toEqual({ offers: [], waiting: [], mine: [] });
  });

  it("never lists a conversation twice, over any mix of offers and statuses", () => {
    let seed = 42;
    const rnd = (n) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const statuses = ["queued", "offered", "reopened", "assigned", "resolved", "bot"];
    for (let round = 0; round < 500; round += 1) {
      const records = [1, 2, 3, 4].map((id) => rec(id, statuses[rnd(statuses.length)], [null, ME, 2][rnd(3)]));
      const offers = Array.from({ length: rnd(5) }, (_, i) => offer(100 + i, 1 + rnd(5)));
      const a = arrange(records, offers, is);
      const listed = [...a.offers.map((o) => o.res.conversation.id), ...a.waiting.map((r) => r.id), ...a.mine.map((r) => r.id)];
      expect(new Set(listed).size).toBe(listed.length);
    }
  });
});
