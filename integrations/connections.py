"""Kept-alive HTTP connections for webhook deliveries: one urllib3 PoolManager per process,
pooled by origin (scheme, host, port), so consecutive deliveries to an endpoint reuse a TCP
(and TLS) connection instead of opening one each.

Fork safety: Celery's prefork workers are forked from a parent that may have imported (and
even used) this module; sockets must never be shared across processes, so a child drops
the inherited pool (``os.register_at_fork``) and the pool is also keyed by pid. Thread
safety: urllib3's pools are thread-safe; ``WEBHOOK_POOL_PER_HOST`` bounds the idle
connections kept per origin (a burst beyond it opens extra connections, closed after use:
``block=False`` never makes a delivery wait for another), ``WEBHOOK_POOL_HOSTS`` the
origins kept (least recently used dropped first)."""

from __future__ import annotations

import os
import threading

import urllib3

from integrations import conf

_lock = threading.Lock()
_state: dict[str, object] = {"pid": None, "pool": None}


def pool() -> urllib3.PoolManager:
    current = _state["pool"]
    if current is not None and _state["pid"] == os.getpid():
        return current  # type: ignore[return-value]
    with _lock:
        if _state["pool"] is None or _state["pid"] != os.getpid():
            _state["pool"] = urllib3.PoolManager(
                num_pools=conf.get("WEBHOOK_POOL_HOSTS"),
                maxsize=conf.get("WEBHOOK_POOL_PER_HOST"),
                block=False,
            )
            _state["pid"] = os.getpid()
        return _state["pool"]  # type: ignore[return-value]


def reset() -> None:
    """Close every kept connection (tests; a setting changed)."""
    with _lock:
        current, _state["pool"], _state["pid"] = _state["pool"], None, None
    if current is not None:
        current.clear()  # type: ignore[attr-defined]


def _forget_after_fork() -> None:
    # The parent's sockets stay the parent's: never close them from the child (that would
    # cut the parent's connections), just forget them.
    _state["pool"], _state["pid"] = None, None


os.register_at_fork(after_in_child=_forget_after_fork)
