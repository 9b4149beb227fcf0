"""An agent's account made inactive (admin's *Active* unticked): what each recipient is
told (Zulip's verify_action), and the agent's work handed on in the same change."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from actions import conversations as conversation_actions
from agents.models import AgentPresence
from chat.models import Conversation
from chat.recipients import customer_group, user_group
from config.asgi import application
from routing.models import Reservation
from routing.services import reservation_accept
from tests.chat.test_consumers import TIMEOUT, recv
from tests.events.test_verify_action import verify_action
from tests.factories import agent_actor, customer_actor, make_customer, make_site, session_cookie
from tests.routing.conftest import make_queue, online_agent, open_offer

pytestmark = pytest.mark.django_db(transaction=True)


def _deactivate(user) -> None:
    user.is_active = False
    user.save()  # as admin's change form does: the post_save hands the work on


def test_a_deactivated_agent_is_told_goes_offline_and_their_chats_go_back(published):
    queue = make_queue()
    agent = online_agent(queue)
    customer = make_customer(site=make_site(default_queue=queue))
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    waiting = make_customer(site=make_site(default_queue=queue))
    offered, _ = conversation_actions.conversation_start(actor=customer_actor(waiting))
    assert open_offer(offered).agent_id == agent.pk
    got = verify_action(
        published,
        lambda: _deactivate(agent),
        {
            customer_group(customer.pk): ["message.new", "conversation.updated"],
            user_group(agent.pk): [
                "agent.presence",
                "reservation.revoked",
                "message.new",
                "conversation.updated",
                "session.ended",
            ],
        },
    )
    assert got[user_group(agent.pk)][-1]["reason"] == "This account was deactivated."
    told = got[customer_group(customer.pk)][0]["message"]
    assert told["data"]["line"] == "agent_gone"
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.QUEUED and conversation.assignee is None
    assert Reservation.objects.get(conversation=offered, agent=agent).state == "revoked"
    presence = AgentPresence.objects.get(user=agent)
    assert (presence.status, presence.load) == ("offline", 0)
    # Not offered its own chats back (stickiness would): nobody else is online here.
    assert not Reservation.objects.filter(agent=agent, state="offered").exists()
    # Saving the inactive account again changes nothing: it only repeats the end to any
    # console (none is left).
    verify_action(published, lambda: agent.save(), {user_group(agent.pk): ["session.ended"]})


async def test_the_console_of_a_deactivated_agent_is_closed():
    queue = await database_sync_to_async(make_queue)()
    agent = await database_sync_to_async(online_agent)(queue, connect=False)
    sid = await database_sync_to_async(session_cookie)(agent)
    console = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await console.connect(timeout=TIMEOUT)
    assert connected
    await recv(console, "hello")
    await database_sync_to_async(_deactivate)(agent)
    ended = await recv(console, "session.ended")
    assert ended["reason"] == "This account was deactivated."
    closed = await console.receive_output(timeout=TIMEOUT)
    while closed["type"] != "websocket.close":
        closed = await console.receive_output(timeout=TIMEOUT)
    assert closed["code"] == 4401
    # And it cannot come back: the session no longer authenticates.
    again = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await again.connect(timeout=TIMEOUT)
    if connected:
        frame = await again.receive_output(timeout=TIMEOUT)
        while frame["type"] != "websocket.close":
            frame = await again.receive_output(timeout=TIMEOUT)
        assert frame["code"] == 4401


def test_deleting_an_agent_s_profile_hands_their_chats_on_at_once(published):
    """Admin's *Agent profiles → Delete* while the agent holds chats: they went back to the
    line only when the sweeper found the console silent (about 2 minutes)."""
    queue = make_queue()
    agent = online_agent(queue)
    customer = make_customer(site=make_site(default_queue=queue))
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    published.listen(user_group(agent.pk))
    agent.agent_profile.delete()
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.QUEUED and conversation.assignee is None
    ended = [f for f in published.frames(user_group(agent.pk)) if f["type"] == "session.ended"]
    assert [f["reason"] for f in ended] == ["This account is no longer an agent."]
    assert AgentPresence.objects.get(user=agent).status == "offline"
