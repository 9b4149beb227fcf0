// One redraw for many changes: the next animation frame coalesces them. A hidden tab gets
// no animation frames at all, yet its title (the offer and unread badge) is what the agent
// sees from another tab: there a short timer stands in, and hiding the tab flushes what a
// frame still owed.

/** A function that schedules `run` once, however often it is called before it runs. */
export function coalesce(run, env = globalThis) {
  let queued = false;
  const flush = () => {
    if (!queued) return;
    queued = false;
    run();
  };
  env.document?.addEventListener?.("visibilitychange", () => {
    if (env.document.hidden) flush();
  });
  return function soon() {
    if (queued) return;
    queued = true;
    if (env.document?.hidden) env.setTimeout(flush, 100);
    else env.requestAnimationFrame(flush);
  };
}
