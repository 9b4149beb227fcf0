"""The heap's freed pages go back to the system (config/malloc_trim.py): what kept the
soak's resident memory growing was glibc holding them under a chunk still in use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from config import malloc_trim

pytestmark = pytest.mark.skipif(
    malloc_trim.trim_once() is None, reason="the C library has no malloc_trim (not glibc)"
)

# In a fresh interpreter, so that nothing else in the heap decides what can be released:
# 48 MB of 4 kB chunks (malloc's, not Python's arenas: over 512 bytes), one more chunk
# above them kept alive, the 48 MB freed. glibc returns only the top of its heap by
# itself, so the pages stay resident until malloc_trim releases them.
PROBE = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, os.getcwd())
    from config import malloc_trim

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    blocks = [bytearray(4096) for _ in range(12_000)]
    for b in blocks:
        b[0] = 1  # touched, so resident
    keep = bytearray(4096)
    del blocks
    before = rss()
    thread = malloc_trim.start(float(sys.argv[1]))
    if thread is None:
        malloc_trim.trim_once()
    else:
        import time
        time.sleep(1.0)
    print(json.dumps({"before": before, "after": rss(), "thread": thread is not None}))
    """
)


def _probe(interval: float) -> dict:
    import json

    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(interval)],
        capture_output=True, text=True, check=True, timeout=60, cwd=os.getcwd(),
    )  # fmt: skip
    return json.loads(out.stdout)


def test_a_trim_gives_freed_pages_under_a_live_chunk_back():
    r = _probe(0)
    assert not r["thread"]  # an interval of 0 starts no thread
    assert r["before"] - r["after"] > 16 * 2**20, r


def test_the_thread_trims_on_its_own():
    r = _probe(0.2)
    assert r["thread"] and r["before"] - r["after"] > 16 * 2**20, r


def test_an_interval_of_zero_starts_nothing():
    assert malloc_trim.start(0) is None
