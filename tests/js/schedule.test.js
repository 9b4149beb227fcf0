// The console's redraw scheduling (static/console/schedule.js): many changes, one redraw;
// and a hidden tab, which gets no animation frames, still redraws (its title is the badge).
import { describe, expect, it } from "vitest";
import { coalesce } from "../../static/console/schedule.js";

function fakeEnv(hidden) {
  const frames = [];
  const timers = [];
  const listeners = {};
  return {
    frames,
    timers,
    document: {
      hidden,
      addEventListener: (name, fn) => (listeners[name] = fn),
      fire: (name) => listeners[name](),
    },
    requestAnimationFrame: (fn) => frames.push(fn),
    setTimeout: (fn) => timers.push(fn),
  };
}

describe("coalesce", () => {
  it("runs once on the next frame for many calls in a visible tab", () => {
    const env = fakeEnv(false);
    let runs = 0;
    const soon = coalesce(() => runs++, env);
    soon();
    soon();
    soon();
    expect(env.frames).toHaveLength(1);
    expect(env.timers).toHaveLength(0);
    env.frames[0]();
    expect(runs).toBe(1);
    soon();
    expect(env.frames).toHaveLength(2);
  });

  it("uses a timer in a hidden tab, where no frame ever comes", () => {
    const env = fakeEnv(true);
    let runs = 0;
    const soon = coalesce(() => runs++, env);
    soon();
    soon();
    expect(env.frames).toHaveLength(0);
    expect(env.timers).toHaveLength(1);
    env.timers[0]();
    expect(runs).toBe(1);
  });

  it("flushes a redraw a frame still owed when the tab is hidden", () => {
    const env = fakeEnv(false);
    let runs = 0;
    const soon = coalesce(() => runs++, env);
    soon();
    env.document.hidden = true;
    env.document.fire("visibilitychange");
    expect(runs).toBe(1);
    env.frames[0](); // the frame comes when the tab shows again: nothing left to do
    expect(runs).toBe(1);
  });
});
