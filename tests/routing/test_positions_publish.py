"""The sweep's queue.position frames: a line that has not moved since its last publish is
not read again (its sums and the serving rate say so), and one that moved is, so every
customer whose place changed hears of it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actions import conversations as conversation_actions
from chat.recipients import customer_group
from routing.services import positions_publish
from tests.factories import customer_actor
from tests.routing.conftest import later, make_queue, waiting

pytestmark = pytest.mark.django_db(transaction=True)


def places(published, *conversations) -> list[list[int]]:
    return [
        [f["position"] for f in published.frames(customer_group(c.customer_id))]
        for c in conversations
    ]


def line_reads(queries) -> int:
    """The ranked read of a line's entries with their conversations (the costly one)."""
    return sum(
        1
        for q in queries
        if "routing_queueentry" in q["sql"] and 'JOIN "chat_conversation"' in q["sql"]
    )


def test_an_unmoved_line_is_not_read_again_and_a_moved_one_is(published):
    queue = make_queue()  # nobody serves it: everyone waits
    first, second = waiting(queue), waiting(queue)
    published.listen(customer_group(first.customer_id), customer_group(second.customer_id))
    assert positions_publish(now=later(1)) == 2
    assert places(published, first, second) == [[1], [2]]
    with CaptureQueriesContext(connection) as queries:
        assert positions_publish(now=later(2)) == 0
    assert line_reads(queries) == 0  # only the sums: nothing moved
    # Someone joins: the line is read, and only the newcomer has news.
    third = waiting(queue)
    published.listen(customer_group(third.customer_id))
    with CaptureQueriesContext(connection) as queries:
        assert positions_publish(now=later(3)) == 1
    assert line_reads(queries) == 1
    assert places(published, first, second, third) == [[], [], [3]]
    # The first leaves: everyone behind moves up.
    conversation_actions.conversation_resolve(
        actor=customer_actor(first.customer), conversation_id=first.pk
    )
    assert positions_publish(now=later(4)) == 2
    assert places(published, second, third) == [[1], [2]]
    assert positions_publish(now=later(5)) == 0
