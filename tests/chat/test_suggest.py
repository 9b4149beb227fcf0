"""Autocomplete suggestions: whole replies learned from a site's past agent messages,
ranked for the conversation's queue and intent (chat.suggest), over the console socket."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from actions import conversations as conversation_actions
from chat import suggest
from chat.models import Note
from routing.models import Queue
from routing.services import conversation_assign
from tests.chat.test_consumers import console, recv
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_index():
    suggest.index_forget()  # keyed by site id, which a new test database reuses
    yield
    suggest.index_forget()


def _history(site, queue, agent, replies, intent=None):
    """A past conversation of the site in ``queue`` where ``agent`` wrote ``replies``."""
    customer = make_customer(site=site)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_actions.message_send(actor=customer_actor(customer),
                                      conversation_id=conversation.pk, body="question",
                                      client_msg_id="q")  # fmt: skip
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    if queue is not None:
        type(conversation).objects.filter(pk=conversation.pk).update(queue=queue)
    if intent:
        Note.objects.create(conversation=conversation, kind="handoff", body="x",
                            data={"intent": intent})  # fmt: skip
    for n, body in enumerate(replies):
        conversation_actions.message_send(actor=agent_actor(agent),
                                          conversation_id=conversation.pk, body=body,
                                          client_msg_id=f"a{n}")  # fmt: skip
    conversation_actions.conversation_resolve(actor=agent_actor(agent),
                                              conversation_id=conversation.pk)  # fmt: skip
    return conversation


async def test_suggestions_rank_the_queue_and_intent_first():
    def setup():
        orders = Queue.objects.create(name="Orders")
        site = make_site(default_queue=orders)
        other_site = make_site()
        agent = make_agent()
        general_reply = "Your parcel is at the depot, it will be delivered on Monday."
        late_reply = "Your parcel is late: we are sorry, here is a 10% voucher."
        for _ in range(3):
            _history(site, None, agent, [general_reply])
        for _ in range(2):
            _history(site, orders, agent, [late_reply], intent="delivery_delay")
        _history(site, orders, agent, ["Your parcel is a one-off <b>reply</b>."])
        for _ in range(4):
            _history(other_site, None, agent, ["Your parcel is another site's."])
        customer = make_customer(site=site)
        current, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
        conversation_actions.message_send(actor=customer_actor(customer),
                                          conversation_id=current.pk, body="late!",
                                          client_msg_id="q")  # fmt: skip
        conversation_assign(actor=agent_actor(agent), conversation_id=current.pk)
        type(current).objects.filter(pk=current.pk).update(queue=orders)
        Note.objects.create(conversation=current, kind="handoff", body="x",
                            data={"intent": "delivery_delay"})  # fmt: skip
        return agent, current.pk, general_reply, late_reply

    agent, cid, general_reply, late_reply = await database_sync_to_async(setup)()
    comm, _ = await console(agent)

    async def ask(prefix):
        await comm.send_json_to(
            {"type": "suggest", "id": "s", "conversation": cid, "prefix": prefix}
        )
        return await recv(comm, "suggestions", "error")

    got = await ask("your  PARCEL is")
    # The queue's and intent's habit first, though the other is more common on the site;
    # a reply written once, and another site's, are not offered.
    assert got["suggestions"] == [late_reply, general_reply]
    assert (await ask("your parcel is at"))["suggestions"] == [general_reply]
    assert (await ask("yo"))["suggestions"] == []
    assert (await ask("nothing like it"))["suggestions"] == []
    error = await ask(7)
    assert (error["type"], error["field"]) == ("error", "prefix")
    error = await ask("x" * 201)
    assert error["field"] == "prefix"
    await comm.send_json_to({"type": "suggest", "id": "s", "conversation": 10**9, "prefix": "abc"})
    assert (await recv(comm, "error"))["code"] == "not_found"
    await comm.disconnect()
