"""Routing reads a conversation's participants in one statement (routing/services/sql.py,
and the decision function's JSON, route_pick.sql), the agents' profiles with them: an
agent's name (chat.names, the profile's display name) costs no query more per agent."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from agents.models import AgentProfile
from chat.models import Participant
from routing.services.sql import participants_with_names
from tests.factories import make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def test_agents_are_named_by_their_profile_with_no_query_per_agent(django_assert_num_queries):
    from django.db import transaction

    from chat import services
    from tests.factories import customer_actor

    customer = make_customer(site=make_site())
    with transaction.atomic():
        conversation, _ = services.conversation_open(actor=customer_actor(customer))
    ann = make_agent("ann")
    AgentProfile.objects.filter(user=ann).update(display_name="Ann from Support")
    bare = get_user_model().objects.create_user("bare", first_name="Bo", last_name="Bare")
    for user in (ann, bare):
        Participant.objects.create(conversation=conversation, role="agent", user=user)
    participants = participants_with_names(conversation.pk)
    with django_assert_num_queries(0):
        names = {p.user_id: p.display_name for p in participants if p.user_id}
    assert names == {ann.pk: "Ann from Support", bare.pk: "Bo Bare"}
