"""The console's context panel (context.fetch, past.fetch) and the SLA clock
(awaiting_since), over the real ASGI application."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from actions import conversations as conversation_actions
from chat import services
from chat.context import device_of
from chat.models import Conversation, Note
from chat.payloads import conversation_payload
from config.asgi import application
from routing.services import conversation_assign
from tests.chat.test_consumers import TIMEOUT, console, recv, send, take
from tests.factories import agent_actor, customer_actor, make_agent, make_customer

pytestmark = pytest.mark.django_db(transaction=True)

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


async def widget_with_agent(customer, user_agent: str):
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    comm = WebsocketCommunicator(
        application, f"/ws/widget/?token={token}", headers=[(b"user-agent", user_agent.encode())]
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    await recv(comm, "hello")
    return comm


def test_awaiting_since_starts_with_the_customer_and_stops_with_a_reply():
    customer = make_customer()
    agent = make_agent()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    send_as = conversation_actions.message_send

    def awaiting():
        return Conversation.objects.get(pk=conversation.pk).awaiting_since

    send_as(actor=customer_actor(customer), conversation_id=conversation.pk, body="a",
            client_msg_id="1")  # fmt: skip
    first = awaiting()
    assert first is not None
    send_as(actor=customer_actor(customer), conversation_id=conversation.pk, body="b",
            client_msg_id="2")  # fmt: skip
    assert awaiting() == first  # the oldest unanswered message counts
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    assert awaiting() == first  # "joined" is not an answer
    send_as(actor=agent_actor(agent), conversation_id=conversation.pk, body="hi",
            client_msg_id="3")  # fmt: skip
    assert awaiting() is None
    send_as(actor=customer_actor(customer), conversation_id=conversation.pk, body="c",
            client_msg_id="4")  # fmt: skip
    assert awaiting() is not None and awaiting() > first
    out = conversation_payload(Conversation.objects.get(pk=conversation.pk))
    assert out["awaiting_since"] == awaiting().isoformat()
    assert out["queue"]["reply_target"] == 120


def test_device_of_reads_browser_os_and_device():
    assert device_of(IPHONE) == {"browser": "Mobile Safari 17", "os": "iOS 17", "device": "iPhone"}
    assert device_of("") == {"browser": "", "os": "", "device": ""}


async def test_the_context_panel_tells_who_where_what_before_and_why():
    customer = await database_sync_to_async(make_customer)(
        name="Zoé <b>", email="zoe@example.com", external_id="u-881", locale="fr-FR"
    )
    agent = await database_sync_to_async(make_agent)()
    stranger = await database_sync_to_async(make_agent)()
    other_customer = await database_sync_to_async(make_customer)()

    # An earlier conversation, resolved.
    def earlier() -> int:
        old, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
        conversation_actions.message_send(actor=customer_actor(customer),
                                          conversation_id=old.pk, body="old question",
                                          client_msg_id="o1")  # fmt: skip
        conversation_assign(actor=agent_actor(agent), conversation_id=old.pk)
        conversation_actions.message_send(actor=agent_actor(agent), conversation_id=old.pk,
                                          body="old answer", client_msg_id="o2")  # fmt: skip
        conversation_actions.conversation_resolve(actor=agent_actor(agent),
                                                  conversation_id=old.pk)  # fmt: skip
        return old.pk

    old_id = await database_sync_to_async(earlier)()
    foreign = await database_sync_to_async(
        lambda: conversation_actions.conversation_start(actor=customer_actor(other_customer))[0].pk
    )()

    cust = await widget_with_agent(customer, IPHONE)
    await cust.send_json_to({"type": "conversation.start", "id": "bad",
                             "page_url": "javascript:alert(1)"})  # fmt: skip
    error = await recv(cust, "error")
    assert (error["code"], error["field"]) == ("invalid_field", "page_url")
    await cust.send_json_to({
        "type": "conversation.start", "id": "s", "page_url": "https://shop.example/drills?x=1",
        "referrer": "https://mail.example/"})  # fmt: skip
    cid = (await recv(cust, "conversation.started"))["conversation"]["id"]
    await send(cust, cid, "Where is my parcel?", "c1")

    def handoff_note():
        Note.objects.create(conversation_id=cid, kind="handoff", author_name="Parley bot",
                            body="The bot handed…",
                            data={"collected": {"order_number": "DIY-1"}, "intent": "late",
                                  "tags": ["vip"]})  # fmt: skip

    await database_sync_to_async(handoff_note)()
    mine, _ = await console(agent)
    await take(mine, cid)
    await mine.send_json_to({"type": "context.fetch", "id": "c", "conversation": cid})
    panel = await recv(mine, "conversation.context")
    assert panel["customer"]["name"] == "Zoé <b>"
    assert panel["customer"]["email"] == "zoe@example.com"
    assert panel["customer"]["external_id"] == "u-881"
    assert panel["customer"]["locale"] == "fr-FR"
    assert panel["visit"] == {"page_url": "https://shop.example/drills?x=1",
                              "referrer": "https://mail.example/", "browser": "Mobile Safari 17",
                              "os": "iOS 17", "device": "iPhone"}  # fmt: skip
    assert panel["collected"] == {"source": "bot", "answers": {"order_number": "DIY-1"},
                                  "intent": "late", "tags": ["vip"]}  # fmt: skip
    assert panel["form"] is None  # no pre-chat form on this site
    assert [p["id"] for p in panel["past"]] == [old_id]
    assert panel["past"][0]["status"] == "resolved"
    types = [e["type"] for e in panel["timeline"]]
    assert types[0] == "created" and "status_changed" in types

    await mine.send_json_to({"type": "past.fetch", "id": "p", "conversation": cid, "past": old_id})
    past = await recv(mine, "past.transcript")
    assert past["messages"][0]["body"] == "old question"
    # Built for the agent reading it, as every message payload is: their own as the sender.
    views = {m["body"]: m["view"]["as"] for m in past["messages"] if m["kind"] == "text"}
    assert views == {"old question": "recipient", "old answer": "sender"}
    for bad in (foreign, cid, 10**9):
        await mine.send_json_to({"type": "past.fetch", "id": "p", "conversation": cid,
                                 "past": bad})  # fmt: skip
        assert (await recv(mine, "error"))["code"] == "not_found"

    # An agent who is not in it sees nothing; the widget has no such frames.
    theirs, _ = await console(stranger)
    await theirs.send_json_to({"type": "context.fetch", "id": "c", "conversation": cid})
    assert (await recv(theirs, "error"))["code"] == "not_found"
    await cust.send_json_to({"type": "context.fetch", "id": "c", "conversation": cid})
    assert (await recv(cust, "error"))["code"] == "unknown_type"
    for comm in (cust, mine, theirs):
        await comm.disconnect()


async def test_search_finds_my_conversations_by_customer_and_text_only():
    zoe = await database_sync_to_async(make_customer)(name="Zoé Martin", email="zoe@example.com")
    max_ = await database_sync_to_async(make_customer)(name="Max")
    agent = await database_sync_to_async(make_agent)()
    other = await database_sync_to_async(make_agent)()
    mine, _ = await console(agent)

    async def chat(customer, text, taker):
        comm = await widget_with_agent(customer, IPHONE)
        await comm.send_json_to({"type": "conversation.start", "id": "s"})
        cid = (await recv(comm, "conversation.started"))["conversation"]["id"]
        await send(comm, cid, text, f"c-{cid}")
        await database_sync_to_async(conversation_assign)(
            actor=agent_actor(taker), conversation_id=cid
        )
        await comm.disconnect()
        return cid

    zoes = await chat(zoe, "My drill DIY-1234567 is broken", agent)
    maxs = await chat(max_, "Where is DIY-1234567?", other)  # not mine: never found

    async def search(query):
        await mine.send_json_to({"type": "search", "id": "q", "query": query})
        return await recv(mine, "search.results", "error")

    by_name = await search("zoé mar")
    assert [r["id"] for r in by_name["results"]] == [zoes]
    by_email = await search("ZOE@EXAMPLE")
    assert [r["id"] for r in by_email["results"]] == [zoes]
    by_text = await search("diy-1234567")
    assert [r["id"] for r in by_text["results"]] == [zoes]
    assert by_text["results"][0]["match"] == "My drill DIY-1234567 is broken"
    assert maxs not in [r["id"] for r in by_text["results"]]
    # An internal note is searched too, and shown as one; another agent's chat's never.
    for cid, author in ((zoes, agent), (maxs, other)):
        await database_sync_to_async(services.note_add)(
            actor=agent_actor(author), conversation_id=cid, body="Refund approved by finance"
        )
    by_note = await search("refund APPROVED")
    assert [r["id"] for r in by_note["results"]] == [zoes]
    assert by_note["results"][0]["match"] == "Note: Refund approved by finance"
    for bad in ("x", "", 5, "y" * 101):
        error = await search(bad)
        assert (error["type"], error["field"]) == ("error", "query")
    await mine.disconnect()


async def test_hello_request_answers_a_fresh_hello_with_its_ref():
    # A tab that joins a socket shared by several (static/parley/client/hub.js) asks for one.
    agent = await database_sync_to_async(make_agent)()
    comm, first = await console(agent)
    assert "ref" not in first
    await comm.send_json_to({"type": "hello.request", "id": "p2|shello"})
    again = await recv(comm, "hello")
    assert again["ref"] == "p2|shello" and again["role"] == "agent"
    assert "offers" in again and "conversations" in again
    await comm.disconnect()


def test_the_pre_chat_form_s_answers_have_their_own_section_whatever_the_bot_did():
    from chat.context import conversation_context
    from chat.services.prechat import prechat_submit
    from tests.factories import make_site

    site = make_site(
        prechat_form={
            "fields": [
                {"name": "consent", "required": True},
                {"name": "order", "type": "text", "label": {"fr": "Commande", "en": "Order"}},
                {"name": "topic", "type": "select", "label": "Topic", "options": ["Returns"]},
            ]
        }
    )
    customer = make_customer(site=site, attributes={"plan": "gold"})
    agent = make_agent()
    prechat_submit(
        actor=customer_actor(customer),
        values={"consent": True, "order": "DIY-5555555", "topic": "Returns"},
    )
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    panel = conversation_context(actor=agent_actor(agent), conversation_id=conversation.pk)
    form = panel["form"]
    assert form["consent"]["given"] is True and form["consent"]["at"] and form["at"]
    assert form["fields"] == [
        {"name": "order", "label": "Order", "value": "DIY-5555555"},
        {"name": "topic", "label": "Topic", "value": "Returns"},
    ]
    # Not the bot's, and not shown twice: the attributes section keeps the CRM's only.
    assert panel["collected"] == {
        "source": "attributes", "answers": {"plan": "gold"}, "intent": None, "tags": []
    }  # fmt: skip
