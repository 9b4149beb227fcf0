"""The apps' entry points call the cross-app flows through chat.flows, bound by actions."""

import pytest

from actions import agents, conversations
from chat.flows import Flows, flows


def test_every_flow_is_bound_to_the_actions_layer_at_start_up():
    assert flows.missing() == []
    assert flows.message_send is conversations.message_send
    assert flows.conversation_take is agents.conversation_take


def test_an_unknown_or_unbound_flow_fails_loudly():
    table = Flows()
    with pytest.raises(ValueError, match="no such flow"):
        table.bind(make_coffee=print)
    with pytest.raises(RuntimeError, match="not bound"):
        table.message_send  # noqa: B018
