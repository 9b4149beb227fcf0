"""The pipeline with a real Celery worker (a subprocess on the test database and Redis)
and real sockets (WebsocketCommunicator on the ASGI application)."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.models import Message, MessageTranslation
from tests.chat.test_consumers import console, recv, send, start, take, widget
from tests.factories import make_agent, make_customer

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DELIVERY_BOUND = 2.0  # seconds: the bound for delivery with the workers down
WORKER_TIMEOUT = 30.0  # the first task also loads the detector's models


async def updated_with(comm, predicate, timeout: float = WORKER_TIMEOUT) -> dict:
    """The first message.updated frame whose message satisfies `predicate`."""
    while True:
        frame = await recv(comm, "message.updated", timeout=timeout)
        if predicate(frame["message"]):
            return frame["message"]


async def new_with_seq(comm, seq: int) -> dict:
    """The message.new frame for the message at `seq`, skipping the others."""
    while True:
        message = (await recv(comm, "message.new"))["message"]
        if message["seq"] == seq:
            return message


async def pipeline_done(message_id: int, timeout: float = WORKER_TIMEOUT) -> Message:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await database_sync_to_async(Message.objects.get)(pk=message_id)
        if message.pipeline == "done" or asyncio.get_running_loop().time() > deadline:
            return message
        await asyncio.sleep(0.05)


def translated_to(language: str):
    return lambda m: (m["translations"].get(language) or {}).get("state") == "done"


async def french_customer_and_english_agent():
    customer = await database_sync_to_async(make_customer)(locale="fr", name="Zoé")
    agent = await database_sync_to_async(make_agent)("alice", languages=["en"])
    widget_comm, _ = await widget(customer)
    conversation = await start(widget_comm)
    console_comm, _ = await console(agent)
    assert (await take(console_comm, conversation["id"]))["type"] == "ack"
    return widget_comm, console_comm, conversation["id"]


async def test_demo_a_french_customer_and_an_english_agent_read_each_other(celery_worker):
    await database_sync_to_async(celery_worker.start)()
    widget_comm, console_comm, cid = await french_customer_and_english_agent()

    # The customer writes French; the agent gets it at once, then in English.
    accepted = await send(widget_comm, cid, "Bonjour, où est ma commande ?", "c1")
    new = (await recv(console_comm, "message.new"))["message"]
    while new["seq"] != accepted["seq"]:
        new = (await recv(console_comm, "message.new"))["message"]
    assert new["body"] == "Bonjour, où est ma commande ?"
    assert new["view"] == {"as": "recipient", "language": "en"}
    read = await updated_with(console_comm, translated_to("en"))
    assert read["language"] == "fr"
    assert read["translations"]["en"]["body"] == "Hello, where is my order?"
    assert read["body"] == "Bonjour, où est ma commande ?"  # the original, one click away

    # The agent answers in English; the customer reads French, the agent what was sent.
    await send(console_comm, cid, "Your parcel will arrive tomorrow.", "a1")
    read = await updated_with(widget_comm, translated_to("fr"))
    assert read["translations"]["fr"]["body"] == "Votre colis arrivera demain."
    assert read["view"] == {"as": "recipient", "language": "fr"}
    sent = await updated_with(console_comm, lambda m: m["view"]["as"] == "sender" and translated_to("fr")(m))  # fmt: skip
    assert sent["body"] == "Your parcel will arrive tomorrow."
    assert sent["translations"]["fr"]["body"] == "Votre colis arrivera demain."
    await widget_comm.disconnect()
    await console_comm.disconnect()


async def test_profanity_is_masked_for_the_agent_and_the_translation_too(celery_worker):
    await database_sync_to_async(celery_worker.start)()
    widget_comm, console_comm, cid = await french_customer_and_english_agent()
    accepted = await send(widget_comm, cid, "Putain, je n'ai toujours pas reçu mon colis !", "c1")
    # Match by seq: the join notice may reach either socket before or after the message.
    new = await new_with_seq(console_comm, accepted["seq"])
    assert new["body"] == "P*****, je n'ai toujours pas reçu mon colis !"
    read = await updated_with(console_comm, translated_to("en"))
    assert "Putain" not in str(read)
    mine = await new_with_seq(widget_comm, accepted["seq"])
    assert mine["body"] == "Putain, je n'ai toujours pas reçu mon colis !"  # the sender's text
    await widget_comm.disconnect()
    await console_comm.disconnect()


async def test_with_the_workers_down_delivery_goes_on_and_translation_catches_up(celery_worker):
    # No worker is running: the message is moderated in-process and delivered anyway.
    widget_comm, console_comm, cid = await french_customer_and_english_agent()
    accepted = await send(widget_comm, cid, "Je n'ai toujours pas reçu mon colis, merde.", "c1")
    assert accepted["type"] == "message.accepted"
    new = (await recv(console_comm, "message.new", timeout=DELIVERY_BOUND))["message"]
    while new["seq"] != accepted["seq"]:
        new = (await recv(console_comm, "message.new", timeout=DELIVERY_BOUND))["message"]
    assert new["body"] == "Je n'ai toujours pas reçu mon colis, m****."
    assert new["translation"] == "pending"
    message = await database_sync_to_async(Message.objects.get)(pk=new["id"])
    assert (message.pipeline, message.language) == ("pending", "")

    # The worker comes back: the task queued meanwhile runs, the translation arrives.
    await database_sync_to_async(celery_worker.start)()
    read = await updated_with(console_comm, translated_to("en"))
    assert read["seq"] == accepted["seq"]
    assert read["translations"]["en"]["body"] == (
        "[fr→en] Je n'ai toujours pas reçu mon colis, m****."
    )
    # The worker marks the message done after the translation's commit (and its frame):
    # the mark may land a moment after the frame reached us.
    message = await pipeline_done(new["id"])
    assert (message.pipeline, message.language) == ("done", "fr")
    count = await database_sync_to_async(
        MessageTranslation.objects.filter(message_id=new["id"]).count
    )()
    assert count == 1
    await widget_comm.disconnect()
    await console_comm.disconnect()
