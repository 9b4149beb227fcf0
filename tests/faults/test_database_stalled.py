"""A stalled database (PostgreSQL up, the path to it silent: bench/tcp_proxy.py stopped
with SIGSTOP) made REST requests wait forever. With config/deadline.py a request through
config.asgi.application gets the API's 503 `unavailable` within HTTP_RESPONSE_TIMEOUT."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.db import connection

from chat import services
from config import deadline
from config.asgi import application
from tests.factories import make_customer
from tests.faults.conftest import PORT_BASE, _free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PROXY = Path(__file__).resolve().parents[2] / "bench" / "tcp_proxy.py"
BOUND = 2.0


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _repoint(host: str, port) -> None:
    """Every connection of the alias shares this settings dict; the pool is per alias, so
    closing it makes the next request open one on the new address."""
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = host, port


@pytest.fixture
def database_through_proxy(settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL through a TCP proxy")
    settings.PARLEY = {**settings.PARLEY, "HTTP_RESPONSE_TIMEOUT": BOUND}
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    if saved[0] not in ("127.0.0.1", "localhost", ""):
        pytest.skip("the proxy forwards to 127.0.0.1 only")
    port = _free_port(PORT_BASE + 87)
    proxy = subprocess.Popen([sys.executable, str(PROXY), "--listen", str(port),
                              "--to", str(saved[1] or 5432)], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline_at = time.monotonic() + 10
        while not _listening(port):
            assert time.monotonic() < deadline_at, "the proxy did not start"
            time.sleep(0.05)
        _repoint("127.0.0.1", port)
        yield proxy
    finally:
        proxy.send_signal(signal.SIGCONT)
        _repoint(*saved)
        proxy.terminate()
        proxy.wait(timeout=10)


async def get(path: str, token: str) -> tuple[dict, float]:
    comm = HttpCommunicator(application, "GET", path, headers=[
        (b"host", b"127.0.0.1"), (b"authorization", f"Visitor {token}".encode()),
    ])  # fmt: skip
    began = time.monotonic()
    response = await comm.get_response(timeout=BOUND + 15)
    return response, time.monotonic() - began


async def test_a_rest_call_gets_503_within_the_bound_when_the_database_stalls(
    database_through_proxy,
):
    customer = await database_sync_to_async(make_customer)()
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    path = "/api/v1/conversations/"
    response, _ = await get(path, token)
    assert response["status"] == 200, response  # through the proxy, which forwards

    database_through_proxy.send_signal(signal.SIGSTOP)
    try:
        response, took = await get(path, token)
        assert response["status"] == 503, response
        assert took < BOUND + 1.5, took
        assert dict(response["headers"])[b"retry-after"] == b"5"
        assert b'"code": "unavailable"' in response["body"]
        assert deadline.late  # the request still waits on its query, uncancelled
    finally:
        database_through_proxy.send_signal(signal.SIGCONT)
    # The database answers again: the request that got its 503 ends by itself.
    await asyncio.wait_for(asyncio.gather(*deadline.late, return_exceptions=True), 30)
    response, _ = await get(path, token)
    assert response["status"] == 200, response
