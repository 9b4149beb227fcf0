"""Give freed heap pages back to the system now and then, in long-lived processes.

The 2-hour soak (docs/benchmarks.md, "A soak") found no Python object left behind per
visit once the moderation memos were bounded, yet each daphne process's resident memory
kept growing by about 1.3 MB per half hour: all of it in glibc's main heap (`[heap]` in
/proc/PID/smaps), while Python's own arenas stayed flat. Objects over 512 bytes (frames,
JSON texts, query results) come from malloc; when the ones at the top of the heap are
still alive, the free pages below them are never returned (glibc trims only the top), so
the high-water mark of a busy moment stays resident. ``malloc_trim(0)`` releases every
whole free page inside the heap and the threads' arenas (glibc >= 2.8, with
``madvise(MADV_DONTNEED)``), which is what this thread calls every
``MALLOC_TRIM_INTERVAL`` seconds.

ctypes releases the GIL for the call, and glibc takes each arena's lock in turn, so the
event loop and the database threads go on meanwhile; a call on a 500 MB process takes a
few milliseconds. Not glibc (musl, macOS) or an interval of 0: nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
import time

logger = logging.getLogger(__name__)


@functools.cache  # find_library runs ldconfig: once per process
def _libc_trim():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim_once() -> bool | None:
    """One trim; True if memory was released, None where there is no malloc_trim."""
    trim = _libc_trim()
    return None if trim is None else bool(trim(0))


def start(interval: float) -> threading.Thread | None:
    """A daemon thread that trims every ``interval`` seconds (none if 0 or not glibc)."""
    trim = _libc_trim()
    if interval <= 0 or trim is None:
        return None

    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                trim(0)
            except Exception:  # never take the process down for a memory hint
                logger.exception("malloc_trim failed")
                return

    thread = threading.Thread(target=loop, name="malloc-trim", daemon=True)
    thread.start()
    return thread
