"""The floor's reassign refusal says which condition failed (README: "a refused one says
which is missing"), from the router's own eligibility steps, instead of "Alice has no free
chat slot (or is not available)" for every case."""

from __future__ import annotations

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from django.db.models import F
from django.utils import timezone

from agents.models import AgentPresence, AgentProfile
from chat.models import Conversation
from tests.chat.test_consumers import recv
from tests.routing.conftest import make_queue, online_agent, waiting
from tests.supervision.test_floor_socket import boss, floor_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quick_floor(settings):
    settings.SUPERVISION = {
        **settings.SUPERVISION, "FLOOR_MIN_INTERVAL": 0.05, "FLOOR_REFRESH_SECONDS": 3600.0
    }  # fmt: skip


def _world():
    queue = make_queue(name="Care")
    chat = waiting(queue)  # nobody online yet: it waits
    held = waiting(queue)
    holder = online_agent(queue, capacity=3)
    Conversation.objects.filter(pk=held.pk).update(
        status=Conversation.Status.ASSIGNED, assignee=holder, assigned_at=timezone.now()
    )
    agents = {}
    for name in ("away", "offline", "silent", "full"):
        agents[name] = user = online_agent(queue, capacity=2)
        AgentProfile.objects.filter(user=user).update(display_name=name.title())
        type(user).objects.filter(pk=user.pk).update(first_name=name.title())
    presences = AgentPresence.objects
    presences.filter(user=agents["away"]).update(status="away")
    presences.filter(user=agents["offline"]).update(status="offline")
    presences.filter(user=agents["silent"]).update(
        live_until=timezone.now() - dt.timedelta(minutes=5)
    )
    presences.filter(user=agents["full"]).update(load=F("capacity"))
    return chat, held, agents


async def _refusal(comm, conversation, agent) -> dict:
    await comm.send_json_to(
        {"type": "floor.reassign", "id": "r", "conversation": conversation.pk, "to_agent": agent.pk}
    )
    return await recv(comm, "error")


async def test_a_refused_reassign_says_which_condition_failed():
    chat, held, agents = await database_sync_to_async(_world)()
    supervisor = await database_sync_to_async(boss)()
    comm = await floor_socket(supervisor)
    await recv(comm, "hello")
    expected = {
        "away": "Away is away: only an online agent is given a chat.",
        "offline": "Offline is offline: only an online agent is given a chat.",
        "silent": "Silent is online but their console is not open (no heartbeat within",
        "full": "Full is at capacity (2 of 2 chats).",
    }
    for name, sentence in expected.items():
        error = await _refusal(comm, chat, agents[name])
        assert error["code"] == "at_capacity"
        assert error["message"].startswith(sentence), (name, error["message"])
        # An assigned chat (a transfer) is refused with the same reason.
        error = await _refusal(comm, held, agents[name])
        assert error["code"] == "agent_unavailable"
        assert error["message"].startswith(sentence), (name, error["message"])
    # Nothing moved: neither chat went to any of them.
    assignees = await database_sync_to_async(
        lambda: set(
            Conversation.objects.filter(pk__in=[chat.pk, held.pk]).values_list(
                "assignee_id", flat=True
            )
        )
    )()
    assert not assignees & {a.pk for a in agents.values()}
    await comm.disconnect()


async def test_an_unknown_agent_is_still_not_found():
    chat, _held, _agents = await database_sync_to_async(_world)()
    supervisor = await database_sync_to_async(boss)()
    comm = await floor_socket(supervisor)
    await recv(comm, "hello")
    await comm.send_json_to(
        {"type": "floor.reassign", "id": "r", "conversation": chat.pk, "to_agent": 99999}
    )
    assert (await recv(comm, "error"))["code"] == "agent_not_found"
    await comm.disconnect()
