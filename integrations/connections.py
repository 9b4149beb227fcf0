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

import contextlib
import ipaddress
import os
import socket
import threading

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from integrations import conf

QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux


class _QuickAck:
    """ACK the answer's first segment at once. On a kept-alive connection Linux delays that
    ACK (interactive mode, up to 40 ms); a receiver that writes its head and its body in two
    send()s without TCP_NODELAY (Python's http.server, for one) holds the body until the
    ACK comes (Nagle): 48 ms per delivery instead of 2 in bench/webhook_posts.py. The option
    is not sticky, hence before each answer."""

    def getresponse(self):
        if QUICKACK is not None and self.sock is not None:
            # Not TCP (a unix socket, a test double): nothing to hurry.
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return super().getresponse()


class PrivatePeer(NewConnectionError):
    """The socket connected to an address inside the network."""


class _GlobalPeerOnly:
    """Keep a webhook from reaching the server's neighbours, checked on the socket actually
    connected: the send's check of the name (endpoints.private_address) resolves it once
    and urllib3 resolves it again to connect, so a name answering a public address to the
    first and a loopback one to the second (DNS rebinding) got through. Unless
    WEBHOOK_ALLOW_PRIVATE."""

    def _new_conn(self):
        sock = super()._new_conn()
        if conf.get("WEBHOOK_ALLOW_PRIVATE"):
            return sock
        try:
            peer = sock.getpeername()[0]
            private = not ipaddress.ip_address(peer.split("%")[0]).is_global
        except (OSError, ValueError):  # no IP peer (a unix socket): not the internet either
            peer, private = "?", True
        if private:
            sock.close()
            raise PrivatePeer(
                self, f"refused: {self.host} connected to {peer}, a private or loopback address"
            )
        return sock


class _HTTPConnection(_QuickAck, _GlobalPeerOnly, HTTPConnection):
    pass


class _HTTPSConnection(_QuickAck, _GlobalPeerOnly, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_lock = threading.Lock()
_state: dict[str, object] = {"pid": None, "pool": None}


def pool() -> urllib3.PoolManager:
    current = _state["pool"]
    if current is not None and _state["pid"] == os.getpid():
        return current  # type: ignore[return-value]
    with _lock:
        if _state["pool"] is None or _state["pid"] != os.getpid():
            manager = urllib3.PoolManager(
                num_pools=conf.get("WEBHOOK_POOL_HOSTS"),
                maxsize=conf.get("WEBHOOK_POOL_PER_HOST"),
                block=False,
            )
            manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
            _state["pool"] = manager
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
