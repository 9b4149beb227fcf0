"""transfer.options: the console's transfer dialog lists the other agents with their
presence and load, and the active queues; only an agent who may see the conversation
gets them."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.models import Conversation
from routing.models import Queue
from tests.chat.test_consumers import console, recv, send, start, take, widget
from tests.factories import make_agent, make_customer

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_transfer_dialog_lists_agents_with_presence_and_load_and_queues():
    customer = await database_sync_to_async(make_customer)()
    alice = await database_sync_to_async(make_agent)("alice_t")
    bob = await database_sync_to_async(make_agent)("bob_t")
    carol = await database_sync_to_async(make_agent)("carol_t")
    await database_sync_to_async(Queue.objects.create)(name="Closed", is_active=False)
    cust, _ = await widget(customer)
    cid = (await start(cust))["id"]
    await send(cust, cid, "hi", "c1")
    mine, _ = await console(alice)
    bobs, _ = await console(bob)  # online with a live console
    await take(mine, cid)
    await mine.send_json_to({"type": "transfer.options", "id": "o", "conversation": cid})
    targets = await recv(mine, "transfer.targets")
    by_id = {a["id"]: a for a in targets["agents"]}
    assert alice.pk not in by_id
    assert by_id[bob.pk]["available"] is True and by_id[bob.pk]["status"] == "online"
    assert (by_id[bob.pk]["load"], by_id[bob.pk]["capacity"]) == (0, 3)
    assert by_id.get(carol.pk, {"available": False})["available"] is False  # never connected
    queue_id = await database_sync_to_async(lambda: Conversation.objects.get(pk=cid).queue_id)()
    assert [q["name"] for q in targets["queues"]] == ["General"]
    assert targets["queues"][0]["current"] is (targets["queues"][0]["id"] == queue_id)

    # Carol is not in it and may not see it; the widget has no such frame.
    carols, _ = await console(carol)
    await carols.send_json_to({"type": "transfer.options", "id": "o", "conversation": cid})
    assert (await recv(carols, "error"))["code"] == "not_found"
    await cust.send_json_to({"type": "transfer.options", "id": "o", "conversation": cid})
    assert (await recv(cust, "error"))["code"] == "unknown_type"
    await mine.send_json_to({"type": "transfer.options", "id": "o", "conversation": "x"})
    assert (await recv(mine, "error"))["field"] == "conversation"
    for comm in (cust, mine, bobs, carols):
        await comm.disconnect()
