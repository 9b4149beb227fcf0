"""The floor's agents: time in each state today, from the day's status changes."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.agents import agent_console_connect, agent_presence_set
from agents.models import AgentStatusChange
from supervision.floor import agent_rows
from tests.factories import agent_actor, make_agent

pytestmark = pytest.mark.django_db

MIDNIGHT = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return MIDNIGHT + dt.timedelta(hours=hours)


def test_time_in_each_state_since_midnight(published):
    ann = make_agent("ann")
    agent_console_connect(user=ann, channel_name="c.ann", now=at(8))  # offline -> online
    agent_presence_set(actor=agent_actor(ann), status="away", now=at(10))
    agent_presence_set(actor=agent_actor(ann), status="away", now=at(10.5))  # no change
    agent_presence_set(actor=agent_actor(ann), status="online", now=at(10.75))
    assert AgentStatusChange.objects.filter(user=ann).count() == 3
    row = next(r for r in agent_rows(at(12)) if r["id"] == ann.pk)
    # online 08:00-10:00 and 10:45-12:00, away 10:00-10:45, offline until 08:00.
    assert row["today_s"] == {"online": 7200 + 4500, "away": 2700, "offline": 8 * 3600}
    assert row["status"] == "online" and row["in_state_s"] == 4500


def test_an_agent_without_a_change_today_spent_the_day_in_its_state(published):
    bob = make_agent("bob")
    agent_console_connect(user=bob, channel_name="c.bob", now=at(-2))  # yesterday
    row = next(r for r in agent_rows(at(6)) if r["id"] == bob.pk)
    assert row["today_s"] == {"online": 6 * 3600, "away": 0, "offline": 0}
