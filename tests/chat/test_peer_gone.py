"""A frame for a client that has gone is dropped quietly: daphne raises autobahn's
`Disconnected` (the ASGI spec: an OSError) when a consumer sends on a closed socket, and
that used to surface as "frame ping failed", then an `internal` error frame, then
"Exception inside application" from daphne."""

from __future__ import annotations

import logging

import pytest
from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat import services
from config.asgi import application
from tests.factories import make_customer, make_site

pytestmark = pytest.mark.django_db(transaction=True)


class PeerLeaves:
    """daphne's side of a socket whose client vanished: once `gone`, every send raises
    what daphne's protocol raises, and nothing reaches the client."""

    def __init__(self, app, error: type[BaseException]) -> None:
        self.app, self.error, self.gone, self.sent_after = app, error, False, []

    async def __call__(self, scope, receive, send):
        async def guarded(message):
            if self.gone:
                self.sent_after.append(message)
                raise self.error("Attempt to send on a closed protocol")
            await send(message)

        return await self.app(scope, receive, guarded)


@pytest.mark.parametrize("error", [Disconnected, ConnectionResetError])
async def test_a_reply_to_a_client_that_left_is_dropped_without_an_error(error, caplog):
    site = await database_sync_to_async(make_site)()
    customer = await database_sync_to_async(make_customer)(site=site)
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    server = PeerLeaves(application, error)
    comm = WebsocketCommunicator(server, f"/ws/widget/?token={token}")
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert (await comm.receive_json_from(timeout=5))["type"] == "hello"

    server.gone = True
    caplog.set_level(logging.INFO)
    await comm.send_json_to({"type": "ping", "ref": "p1"})
    await comm.send_json_to({"type": "ping", "ref": "p2"})
    await comm.receive_nothing(timeout=0.5)
    # The first pong met the closed socket; the second was never attempted.
    assert [m["type"] for m in server.sent_after] == ["websocket.send"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "internal" not in str(server.sent_after)
    await comm.disconnect()  # the application ends cleanly (no exception re-raised)
