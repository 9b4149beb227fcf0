"""How the ASGI process runs under many sockets: its listen backlog (a reconnect storm's
connects wait in it instead of being dropped), daphne's once-a-second sweep (done with the
keys alone, config/daphne_main.py) and the garbage collector's settings
(config/gc_tuning.py)."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
import tracemalloc

import pytest
from daphne import server as daphne_server
from twisted.internet.endpoints import serverFromString

from config import gc_tuning
from config.daphne_main import Server
from config.server import LISTEN_BACKLOG, daphne_command


def _endpoint(command: list[str]) -> str:
    return command[command.index("-e") + 1]


def test_the_asgi_process_listens_with_a_large_backlog():
    command = daphne_command("127.0.0.1", 8123)
    assert "-b" not in command and "-p" not in command  # daphne's -b/-p cannot set it
    endpoint = serverFromString(daphne_server.reactor, _endpoint(command))
    assert endpoint._port == 8123 and endpoint._interface == "127.0.0.1"
    assert endpoint._backlog == LISTEN_BACKLOG > 50  # Twisted's default is 50


def test_an_ipv6_host_is_escaped_in_the_endpoint():
    endpoint = serverFromString(daphne_server.reactor, _endpoint(daphne_command("::1", 8123)))
    assert endpoint._interface == "::1" and endpoint._port == 8123


class _Protocol:
    def __init__(self) -> None:
        self.exceptions: list[BaseException] = []

    def handle_exception(self, exc: BaseException) -> None:
        self.exceptions.append(exc)


@pytest.fixture
def sweep(monkeypatch):
    """A daphne Server of Parley's (config.daphne_main) with no listener; the sweep's next
    run is recorded, not scheduled on Twisted's reactor."""
    scheduled = []
    monkeypatch.setattr(
        daphne_server.reactor, "callLater", lambda delay, fn: scheduled.append((delay, fn))
    )
    server = Server(application=None, endpoints=["tcp:port=0"], application_close_timeout=10)
    server.connections = {}
    return server, scheduled


def test_the_sweep_reaps_finished_applications_and_closed_connections(sweep, caplog):
    server, scheduled = sweep
    loop = asyncio.new_event_loop()
    try:

        def future(result=None, exc=None, done=True) -> asyncio.Future:
            f = loop.create_future()
            if done and exc is not None:
                f.set_exception(exc)
            elif done:
                f.set_result(result)
            return f

        running, finished, closed, failed, overdue = (_Protocol() for _ in range(5))
        stuck = future(done=False)
        server.connections = {
            running: {"application_instance": future(done=False)},
            finished: {"application_instance": future()},  # app done, socket still open
            closed: {"application_instance": future(), "disconnected": time.time()},
            failed: {"application_instance": future(exc=ValueError("boom"))},
            overdue: {"application_instance": stuck, "disconnected": time.time() - 60},
        }
        with caplog.at_level(logging.WARNING, logger="daphne.server"):
            server.application_checker()
        # The overdue one is cancelled, so it is done and reaped in the same walk.
        assert set(server.connections) == {running, finished, failed}
        assert "application_instance" not in server.connections[finished]
        assert "application_instance" not in server.connections[failed]
        assert [str(e) for e in failed.exceptions] == ["boom"]  # daphne answers it with a 500
        assert stuck.cancelled() and "took too long to shut down" in caplog.text
        assert "Exception inside application: boom" in caplog.text
        assert scheduled == [(1, server.application_checker)]
    finally:
        loop.close()


def test_the_sweep_allocates_nothing_per_connection(sweep):
    """The cause of the idle sockets' late pongs: a fresh (key, value) pair per socket every
    second, promoted into the oldest generation by the young collections during the walk.
    Here the walk's peak is its one list of keys (8 bytes a socket), not a tuple each."""
    server, _ = sweep
    loop = asyncio.new_event_loop()
    try:
        pending = loop.create_future()
        server.connections = {_Protocol(): {"application_instance": pending} for _ in range(5000)}
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            server.application_checker()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak - base < 5000 * 16  # daphne's own walk peaks at 5000 * (8 + 56) bytes
    finally:
        loop.close()


def test_the_heap_is_frozen_once_the_warm_up_has_finished():
    warmed = threading.Event()

    def warm_up() -> None:
        warmed.wait(10)

    gc.unfreeze()
    warm = threading.Thread(target=warm_up, daemon=True)
    warm.start()
    settler = gc_tuning.freeze_after(warm)
    try:
        settler.join(0.2)
        assert settler.is_alive() and gc.get_freeze_count() == 0  # waits for the warm-up
        warmed.set()
        settler.join(30)
        assert not settler.is_alive() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_young_generation_is_raised(monkeypatch):
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    calls = []
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(t))
    gc_tuning.tune()
    assert calls == [(gc_tuning.YOUNG_THRESHOLD, 10, 10)]


def test_a_connection_does_not_format_autobahns_settings_for_a_dropped_debug_line(monkeypatch):
    """autobahn pformats its ~40 settings at every connection for a debug line that the
    logger drops (7 % of daphne's CPU in a burst of connects): daphne_main makes it lazy."""
    import pprint

    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from twisted.internet.testing import StringTransport

    from config.daphne_main import LazyPformat

    calls = []
    real = pprint.PrettyPrinter.pformat
    monkeypatch.setattr(
        pprint.PrettyPrinter, "pformat", lambda self, obj: calls.append(obj) or real(self, obj)
    )
    factory = WebSocketServerFactory("ws://127.0.0.1:1")
    factory.protocol = WebSocketServerProtocol  # daphne's is a subclass of this one
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    assert protocol.openHandshakeTimeout == factory.openHandshakeTimeout  # it did run
    assert calls == []  # debug is off: nothing formatted
    settings = [("openHandshakeTimeout", 5, "x")]
    assert (
        f"{LazyPformat(settings)}"
        == str(LazyPformat(settings))
        == real(pprint.PrettyPrinter(), settings)
    )
    assert len(calls) == 2


def test_a_frame_sent_colours_nothing_for_a_dropped_debug_line(monkeypatch):
    """autobahn colours values (click.style) for a debug line at every frame it sends and
    reads, and the logger drops the line: daphne_main makes them lazy."""
    import click
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from autobahn.util import hlval
    from twisted.internet.testing import StringTransport

    from config.daphne_main import LazyHighlight

    calls = []
    real = click.style
    monkeypatch.setattr(click, "style", lambda *a, **k: calls.append(a) or real(*a, **k))
    factory = WebSocketServerFactory("ws://127.0.0.1:1")
    factory.protocol = WebSocketServerProtocol
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.sendData(b"frame")
    protocol.dataReceived(b"GET / HTTP/1.1\r\n")  # half a handshake: read, not answered yet
    assert transport.value() == b"frame"  # it did send
    assert calls == []
    assert str(LazyHighlight(hlval, 42)) == f"{LazyHighlight(hlval, 42)}" == hlval(42)
