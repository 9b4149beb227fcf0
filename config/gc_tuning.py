"""The garbage collector for a process that holds thousands of idle sockets.

Each socket keeps a couple of hundred objects alive (its consumer, daphne's protocol and
autobahn's state, its tasks and queues), so a process with 10,000 sockets tracks about
2 million. CPython's full collection walks every tracked object and holds the event loop
while it does: measured with gc.callbacks on this 2-core machine, one took 0.5 s idle and
2 to 7 s under a load average of 15, and they came every 20 s or so because daphne's sweep
promoted fresh objects into the oldest generation (config/daphne_main.py). Every pong
that waited behind one was late: the pong p99 of 1.2 s in docs/benchmarks.md.

Two changes, made once at start-up:

- ``gc.freeze()`` once the process has loaded (Django, the apps, the bots' sentence
  encoder): the few hundred thousand objects that live as long as the process move to the
  permanent generation, and no full collection walks them again.
- A young generation of 10,000 objects instead of 700: young collections run 14 times less
  often, so fewer objects that were only briefly alive (a frame being handled, a sweep's
  list) are caught in flight and promoted, and full collections come less often. Each is
  still short (a young collection walks only the young).

Cyclic garbage is still collected: nothing is disabled, and objects made after the freeze
(every socket's) are collected as before.
"""

from __future__ import annotations

import gc
import logging
import threading

logger = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000
SETTLE_WAIT = 120.0  # seconds at most for the warm-up before freezing anyway


def tune() -> None:
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def freeze_after(warm_up: threading.Thread | None = None) -> threading.Thread:
    """Collect, then freeze what is alive, once ``warm_up`` has finished (in a daemon
    thread, so the server answers meanwhile)."""

    def settle() -> None:
        if warm_up is not None:
            warm_up.join(SETTLE_WAIT)
        gc.collect()
        gc.freeze()
        logger.info("gc: %d objects frozen after start-up", gc.get_freeze_count())

    thread = threading.Thread(target=settle, name="gc-freeze", daemon=True)
    thread.start()
    return thread
