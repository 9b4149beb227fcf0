// Connecting, back-off, close codes and the heartbeat (docs/protocol.md: Close codes, ping).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ParleyClient, conversation, makeClient, useFakeTime } from "./harness.js";

beforeEach(useFakeTime);
afterEach(() => vi.useRealTimers());

/** How long after a close the client opens its next socket (ms), probing 1 ms at a time
 * around the expected window so an off-by-anything shows. */
function nextSocketAfter(h, limit = 40_000) {
  const before = h.sockets.length;
  for (let t = 1; t <= limit; t += 1) {
    vi.advanceTimersByTime(1);
    if (h.sockets.length > before) return t;
  }
  return null;
}

describe("back-off", () => {
  it("stays within [cap/2, cap] and the cap doubles up to 30 s", () => {
    const caps = [];
    for (let attempt = 0; attempt <= 10; attempt += 1) {
      const cap = Math.min(30_000, 500 * 2 ** attempt);
      caps.push(cap);
      for (const rnd of [0, 0.25, 0.5, 0.999999]) {
        const d = ParleyClient.backoffDelay(attempt, rnd, 500, 30_000);
        expect(d).toBeGreaterThanOrEqual(cap / 2);
        expect(d).toBeLessThanOrEqual(cap);
      }
    }
    expect(caps.slice(0, 7)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000]);
    expect(ParleyClient.backoffDelay(20, 0.999999, 500, 30_000)).toBeLessThanOrEqual(30_000);
  });

  it("grows with each failed attempt, jittered by random(), and stops growing at the cap", () => {
    const h = makeClient({ random: 0 }); // the low end of the jitter: cap / 2
    h.client.connect();
    const delays = [];
    for (let i = 0; i < 9; i += 1) {
      h.sock().drop(1006);
      delays.push(nextSocketAfter(h));
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);

    const mid = makeClient({ random: 0.5 }); // jitter: three quarters of the cap
    mid.client.connect();
    const midDelays = [];
    for (let i = 0; i < 8; i += 1) {
      mid.sock().drop(1006);
      midDelays.push(nextSocketAfter(mid));
    }
    expect(midDelays).toEqual([375, 750, 1500, 3000, 6000, 12000, 22500, 22500]);

    const high = makeClient({ random: 0.9999 }); // the high end: never past the cap
    high.client.connect();
    for (let i = 0; i < 10; i += 1) {
      high.sock().drop(1006);
      const cap = Math.min(30_000, 500 * 2 ** i);
      const d = nextSocketAfter(high);
      expect(d).toBeGreaterThan(cap * 0.99);
      expect(d).toBeLessThanOrEqual(cap);
    }
  });

  it("starts again from the shortest delay once a hello arrived", () => {
    const h = makeClient({ random: 0 });
    h.client.connect();
    for (let i = 0; i < 4; i += 1) {
      h.sock().drop(1006);
      nextSocketAfter(h);
    }
    const s = h.sock().accept();
    s.push({ type: "hello", heartbeat_interval: 20, conversations: [] });
    expect(h.client.ready).toBe(true);
    s.drop(1001);
    expect(h.client.ready).toBe(false);
    expect(nextSocketAfter(h)).toBe(250);
  });

  it("waits the longest after a 4429 (flooding) close", () => {
    const h = makeClient({ random: 0 });
    h.connectWithHello();
    h.sock().drop(4429);
    expect(nextSocketAfter(h)).toBe(15_000); // cap 30 s at once, not 250 ms
  });

  it("waits the longest after a 4409 (too many sockets for this visitor or agent) close", () => {
    const h = makeClient({ random: 0 });
    h.connectWithHello();
    h.sock().drop(4409);
    expect(nextSocketAfter(h)).toBe(15_000);
    expect(h.client.ready).toBe(false);
  });

  it("wake() connects at once when idle, with a fresh back-off", () => {
    const h = makeClient({ random: 0 });
    h.client.connect();
    for (let i = 0; i < 5; i += 1) {
      h.sock().drop(1006);
      nextSocketAfter(h);
    }
    h.sock().drop(1006); // the next try is 8 s away
    expect(h.client.wake()).toBe(true);
    expect(h.sockets.length).toBe(7);
    h.sock().drop(1006);
    expect(nextSocketAfter(h)).toBe(250);
  });
});

describe("close codes", () => {
  for (const code of [4401, 4403]) {
    it(`${code} stops retrying and reports the reason the server gave`, () => {
      const h = makeClient();
      const s = h.connectWithHello();
      s.push({ type: "error", code: "forbidden", message: "Not an agent." });
      s.drop(code);
      vi.advanceTimersByTime(10 * 60_000);
      expect(h.sockets.length).toBe(1);
      expect(h.client.stopped).toBe(true);
      expect(h.seen.authFailed).toEqual([{ code, reason: "Not an agent." }]);
      expect(h.seen.status.at(-1)).toBe("stopped");
      expect(h.client.wake()).toBe(false); // waking does not override it either
    });
  }

  it("retry() after an auth failure (a new token) reconnects with back-off", () => {
    const h = makeClient({ random: 0 });
    h.connectWithHello().drop(4401);
    h.client.retry();
    expect(nextSocketAfter(h)).toBe(250);
  });

  it("a url() that fails for good (fatal) stops; one that fails for now retries", async () => {
    const fatal = Object.assign(new Error("site disabled"), { fatal: true });
    let fail = fatal;
    const failed = [];
    const h = makeClient({
      random: 0,
      url: () => (fail ? Promise.reject(fail) : Promise.resolve("ws://test/ws/")),
      hooks: { connectFailed: (e) => failed.push(e.message) },
    });
    h.client.connect();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sockets.length).toBe(0);
    expect(h.client.stopped).toBe(true);

    const g = makeClient({
      random: 0,
      url: () => (fail ? Promise.reject(fail) : Promise.resolve("ws://test/ws/")),
      hooks: { connectFailed: (e) => failed.push(e.message) },
    });
    fail = new Error("503");
    g.client.connect();
    await vi.advanceTimersByTimeAsync(0);
    expect(g.sockets.length).toBe(0);
    fail = null;
    await vi.advanceTimersByTimeAsync(250);
    expect(g.sockets.length).toBe(1);
    expect(failed).toEqual(["site disabled", "503"]);
  });
});

describe("heartbeat", () => {
  it("pings every heartbeat_interval and stays up while pongs come back", () => {
    const h = makeClient();
    const s = h.connectWithHello({ heartbeat_interval: 5 });
    for (let i = 0; i < 6; i += 1) {
      vi.advanceTimersByTime(5_000);
      const ping = s.frames("ping").at(-1);
      s.push({ type: "pong", ref: ping.id, last_seq: {} });
    }
    expect(s.frames("ping")).toHaveLength(6);
    expect(s.closedByClient).toBe(false);
    expect(h.sockets.length).toBe(1);
  });

  it("closes and reconnects when no pong came for two intervals", () => {
    const h = makeClient({ random: 0 });
    const s = h.connectWithHello({ heartbeat_interval: 5 });
    vi.advanceTimersByTime(10_000); // pings at 5 s and 10 s, unanswered: not yet dead
    expect(s.closedByClient).toBe(false);
    vi.advanceTimersByTime(5_000); // 15 s without a pong
    expect(s.closedByClient).toBe(true);
    expect(h.client.ready).toBe(false);
    vi.advanceTimersByTime(250);
    expect(h.sockets.length).toBe(2);
  });

  it("resumes a conversation whose pong last_seq is ahead of what it holds", () => {
    const h = makeClient();
    h.client.track(12, 0);
    const s = h.connectWithHello({ conversations: [conversation(12, { last_seq: 0 })] });
    expect(s.frames("resume")).toHaveLength(0); // nothing to fetch yet
    vi.advanceTimersByTime(5_000);
    s.push({ type: "pong", ref: s.frames("ping")[0].id, last_seq: { 12: 2, 99: 5 } });
    expect(s.frames("resume")).toEqual([expect.objectContaining({ conversation: 12, after_seq: 0 })]);
  });

  it("uses the injected ticker (the console's worker) and stops it on close", () => {
    const ticks = [];
    let stopped = 0;
    const h = makeClient({
      every: (ms, fn) => {
        ticks.push([ms, fn]);
        return () => (stopped += 1);
      },
    });
    const s = h.connectWithHello({ heartbeat_interval: 7 });
    expect(ticks.map(([ms]) => ms)).toEqual([7_000]);
    ticks[0][1]();
    expect(s.frames("ping")).toHaveLength(1);
    s.drop(1006);
    expect(stopped).toBe(1);
  });
});
