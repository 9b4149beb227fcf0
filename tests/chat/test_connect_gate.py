"""A process runs only WS_CONNECT_CONCURRENCY connects at once, first come first served,
and a connect that waited past its handshake's deadline is refused without running
(chat/connect_gate.py): through the real ASGI app."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat import connect_gate, metrics, services
from config.asgi import application
from tests.factories import make_agent, make_customer, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5


async def widget_path() -> str:
    customer = await database_sync_to_async(make_customer)()
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    return f"/ws/widget/?token={token}"


async def hello(comm: WebsocketCommunicator) -> dict:
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    return await comm.receive_json_from(timeout=TIMEOUT)


def late_count() -> float:
    return metrics.CONNECTS_LATE.labels(endpoint="widget")._value.get()


async def test_a_connect_waits_while_every_slot_is_taken_then_runs(settings):
    settings.PARLEY = {**settings.PARLEY, "WS_CONNECT_CONCURRENCY": 2}
    paths = [await widget_path() for _ in range(5)]
    async with connect_gate.admitted("test"), connect_gate.admitted("test"):
        waiting = WebsocketCommunicator(application, paths[0])
        pending = asyncio.create_task(hello(waiting))
        await asyncio.sleep(0.5)
        assert not pending.done()  # both slots are held: not even the token is read
    assert (await asyncio.wait_for(pending, TIMEOUT))["type"] == "hello"
    # More connects than slots at once: each waits its turn, none is refused.
    comms = [WebsocketCommunicator(application, path) for path in paths[1:]]
    frames = await asyncio.gather(*(hello(comm) for comm in comms))
    assert [f["type"] for f in frames] == ["hello"] * 4
    for comm in [waiting, *comms]:
        await comm.disconnect()


def _session_path(endpoint: str) -> tuple[str, list]:
    from django.contrib.auth import get_user_model

    if endpoint == "agent":
        user = make_agent()
    else:
        user = get_user_model().objects.create_user("boss", is_staff=True, is_superuser=True)
    cookie = f"sessionid={session_cookie(user)}".encode()
    path = "/ws/agent/" if endpoint == "agent" else "/ws/floor/"
    return path, [(b"cookie", cookie), (b"origin", b"http://127.0.0.1")]


async def refused_late(endpoint: str, path: str, headers=()) -> None:
    """A connect that waits for the one slot past its deadline: refused, counted, and its
    disconnect (the server's, for a connect that never ran) raises nothing."""
    count = metrics.CONNECTS_LATE.labels(endpoint=endpoint)._value.get
    before = count()
    late = WebsocketCommunicator(application, path, headers=list(headers))
    async with connect_gate.admitted("test"):
        pending = asyncio.create_task(late.connect(timeout=TIMEOUT))
        # Held past the budget (1 s) from when the connect reaches the gate, not from the
        # task's start: a loaded machine spent over 0.3 s in the session middleware first,
        # and the connect then waited less than its budget (a CI flake).
        for _ in range(1000):
            if connect_gate.waiting():
                break
            await asyncio.sleep(0.01)
        assert connect_gate.waiting() == 1
        await asyncio.sleep(1.3)
    connected, _ = await asyncio.wait_for(pending, TIMEOUT)
    assert not connected  # closed before accept: the handshake is refused
    assert count() == before + 1
    await late.disconnect()


@pytest.mark.parametrize("endpoint", ["agent", "supervisor"])
async def test_a_late_console_or_floor_connect_is_refused_and_closes_cleanly(settings, endpoint):
    settings.PARLEY = {**settings.PARLEY, "WS_CONNECT_CONCURRENCY": 1, "WS_CONNECT_TIMEOUT": 2}
    path, headers = await database_sync_to_async(_session_path)(endpoint)
    await refused_late(endpoint, path, headers)
    comm = WebsocketCommunicator(application, path, headers=headers)
    assert (await hello(comm))["type"] == "hello"
    await comm.disconnect()


async def test_a_connect_that_waited_past_the_handshake_deadline_is_refused_unrun(settings):
    # A 2 s handshake timeout leaves a connect 1 s to get its slot (daphne checks its
    # handshakes' age once a second). One socket a visitor: a refused connect that had
    # taken the visitor's place would keep the next one out.
    settings.PARLEY = {
        **settings.PARLEY,
        "WS_CONNECT_CONCURRENCY": 1,
        "WS_CONNECT_TIMEOUT": 2,
        "WS_MAX_SOCKETS_PER_VISITOR": 1,
    }
    path = await widget_path()
    await refused_late("widget", path)
    before = late_count()
    # Nothing of it stayed behind: the visitor's one socket opens at once.
    comm = WebsocketCommunicator(application, path)
    assert (await hello(comm))["type"] == "hello"
    assert late_count() == before
    await comm.disconnect()
