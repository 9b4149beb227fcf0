"""What the sockets count: open sockets, the send latency, rate limits hit."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from prometheus_client.parser import text_string_to_metric_families

from supervision.metrics import exposition
from tests.chat.test_consumers import recv, send, start, widget
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)


def samples() -> dict:
    out = {}
    for family in text_string_to_metric_families(exposition().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def get(values, name, **labels) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_sockets_latency_and_rate_limits(settings):
    settings.PARLEY = {**settings.PARLEY, "WS_RATE_PER_SECOND": 0.01, "WS_RATE_BURST": 3}
    before = await database_sync_to_async(samples)()
    customer = await database_sync_to_async(make_customer)()
    comm, _ = await widget(customer)
    conversation = await start(comm)
    await send(comm, conversation["id"], "hello", "c1")
    await recv(comm, "message.new")  # its own message, pushed back to the socket
    await comm.send_json_to({"type": "ping", "id": "p"})
    await comm.send_json_to({"type": "ping", "id": "q"})
    refused = await recv(comm, "error")
    assert refused["code"] == "rate_limited"
    during = await database_sync_to_async(samples)()
    await comm.disconnect()
    after = await database_sync_to_async(samples)()

    widgets = ("parley_sockets", {"endpoint": "widget"})
    assert get(during, widgets[0], **widgets[1]) - get(before, widgets[0], **widgets[1]) == 1
    assert get(after, widgets[0], **widgets[1]) == get(before, widgets[0], **widgets[1])
    count = "parley_message_send_seconds_count"
    assert get(during, count) - get(before, count) == 1
    pushed = "parley_message_delivery_seconds_count"
    assert get(during, pushed) - get(before, pushed) >= 1
    limited = get(during, "parley_rate_limited_total", endpoint="widget")
    assert limited - get(before, "parley_rate_limited_total", endpoint="widget") >= 1
