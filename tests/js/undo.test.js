// Resolve's Undo (static/console/undo.js): the action waits, runs once, and Undo stops it.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { UNDO_MS, deferrer } from "../../static/console/undo.js";

describe("deferrer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs the action once the undo time is over, not before", () => {
    const d = deferrer();
    const run = vi.fn();
    expect(d.start(12, run)).toBe(true);
    vi.advanceTimersByTime(UNDO_MS - 1);
    expect(run).not.toHaveBeenCalled();
    expect(d.pending(12)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(1);
    expect(d.pending(12)).toBe(false);
    vi.advanceTimersByTime(UNDO_MS * 3);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("never runs a cancelled action", () => {
    const d = deferrer();
    const run = vi.fn();
    d.start(12, run);
    vi.advanceTimersByTime(UNDO_MS / 2);
    expect(d.cancel(13)).toBe(false); // another conversation's undo changes nothing
    expect(d.cancel(12)).toBe(true);
    vi.advanceTimersByTime(UNDO_MS * 2);
    expect(run).not.toHaveBeenCalled();
    expect(d.pending()).toBe(false);
  });

  it("does the waiting action at once when another starts, and a repeat is ignored", () => {
    const d = deferrer();
    const first = vi.fn();
    const second = vi.fn();
    d.start(1, first);
    expect(d.start(1, vi.fn())).toBe(false); // pressing Resolve twice resolves once
    d.start(2, second);
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).not.toHaveBeenCalled();
    expect(d.cancel(1)).toBe(false); // too late for the first
    vi.advanceTimersByTime(UNDO_MS);
    expect(second).toHaveBeenCalledTimes(1);
    expect(first).toHaveBeenCalledTimes(1);
  });

  it("flushes the waiting action when the page goes away", () => {
    const d = deferrer();
    const run = vi.fn();
    d.start(5, run, 10_000);
    d.flush();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(20_000);
    expect(run).toHaveBeenCalledTimes(1);
    d.flush(); // nothing waiting: nothing happens
    expect(run).toHaveBeenCalledTimes(1);
  });
});
