// Resolve's Undo (static/console/undo.js): the resolve is sent at once; the console only
// keeps which resolve its toast offers to undo, for how long, and words the refusals.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { UNDO_MS, undoRefusal, undoWindow } from "../../static/console/undo.js";

describe("undoWindow", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("offers the undo until its time is over, then ends it once", () => {
    const w = undoWindow();
    const ended = vi.fn();
    w.offer(12, ended);
    vi.advanceTimersByTime(UNDO_MS - 1);
    expect(w.current()).toBe(12);
    expect(ended).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(ended).toHaveBeenCalledTimes(1);
    expect(ended).toHaveBeenCalledWith(12);
    expect(w.current()).toBe(null);
    expect(w.take(12)).toBe(false); // too late on this side: nothing is sent
    vi.advanceTimersByTime(UNDO_MS * 3);
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it("takes an offered undo once, and only for its conversation", () => {
    const w = undoWindow();
    const ended = vi.fn();
    w.offer(12, ended);
    vi.advanceTimersByTime(UNDO_MS / 2);
    expect(w.take(13)).toBe(false); // another conversation's undo changes nothing
    expect(w.current()).toBe(12);
    expect(w.take(12)).toBe(true);
    expect(w.take(12)).toBe(false); // pressing Undo twice sends one unresolve
    vi.advanceTimersByTime(UNDO_MS * 2);
    expect(ended).not.toHaveBeenCalled();
    expect(w.current()).toBe(null);
  });

  it("a newer resolve replaces the offer: the older one can no longer be undone here", () => {
    const w = undoWindow();
    const first = vi.fn();
    const second = vi.fn();
    w.offer(1, first);
    vi.advanceTimersByTime(UNDO_MS - 100);
    w.offer(2, second);
    expect(w.take(1)).toBe(false);
    vi.advanceTimersByTime(100);
    expect(first).not.toHaveBeenCalled(); // its timer does not end the newer offer
    expect(w.current()).toBe(2);
    vi.advanceTimersByTime(UNDO_MS);
    expect(second).toHaveBeenCalledTimes(1);
    expect(w.current()).toBe(null);
  });

  it("uses the injected timers and a given length", () => {
    const timers = [];
    const w = undoWindow({ setTimeout: (fn, ms) => timers.push({ fn, ms }) && timers.length, clearTimeout: () => {} });
    const ended = vi.fn();
    w.offer(5, ended, 1234);
    expect(timers.map((t) => t.ms)).toEqual([1234]);
    timers[0].fn();
    expect(ended).toHaveBeenCalledWith(5);
  });
});

describe("undoRefusal", () => {
  it("says why the server refused, in the agent's words", () => {
    expect(undoRefusal({ code: "undo_expired", message: "Too late to undo: over 30 s." })).toBe("Could not undo: it is too late to undo.");
    expect(undoRefusal({ code: "not_resolved" })).toMatch(/customer may have written/);
    expect(undoRefusal({ code: "not_resolver" })).toMatch(/someone else resolved it/);
    expect(undoRefusal({ code: "customer_rated" })).toMatch(/already rated/);
    expect(undoRefusal({ code: "not_found", message: "No such conversation." })).toBe("Could not undo: No such conversation.");
  });
});
