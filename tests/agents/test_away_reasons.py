"""Away reasons: lunch, training… go with an away status only."""

from __future__ import annotations

import pytest

from agents.services import agent_presence_set
from chat.exceptions import ValidationError
from tests.factories import agent_actor, make_agent

pytestmark = pytest.mark.django_db


def test_away_reasons_go_with_away_only():
    agent = make_agent()
    presence = agent_presence_set(actor=agent_actor(agent), status="away", away_reason="training")
    assert presence.away_reason == "training"
    with pytest.raises(ValidationError) as exc:
        agent_presence_set(actor=agent_actor(agent), status="away", away_reason="nap")
    assert exc.value.field == "away_reason"
    presence = agent_presence_set(actor=agent_actor(agent), status="online", away_reason="lunch")
    assert presence.away_reason == ""  # only an away status has a reason
