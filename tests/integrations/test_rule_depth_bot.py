"""Rule depth through a bot's reply (docs/api.md, "Limits"): the bot's reply to a customer's
message is caused by that message, so a chain of rules that passes through it goes on
counting from there instead of starting again at depth 0.

The bot's step runs under ``chat.hooks.caused_by`` (actions.conversations.message_send):
before, its reply was emitted at depth 0 like the customer's message, and with a rule that
answers every message one customer message got RULES_MAX_DEPTH answers for itself and as
many again for the bot's reply (an integrator's probe: six answers at the default of 3).
"""

from __future__ import annotations

import pytest
from django.test import TestCase

from chat.models import ConversationEvent, Message
from integrations.models import HookEvent, Rule
from integrations.services.endpoints import site_hooks_refresh
from tests.bots.conftest import Chat, make_flow

pytestmark = pytest.mark.django_db

# A bot that asks and, on any answer it does not know, asks again: one reply per message.
ASKING = {
    "start": "pick",
    "nodes": {
        "pick": {
            "type": "choice", "attribute": "topic", "text": {"en": "Order or product?"},
            "buttons": [{"id": "order", "label": {"en": "An order"}, "next": "bye"}],
            "max_retries": 10, "retry_text": {"en": "Please pick one."},
        },
        "bye": {"type": "end", "text": {"en": "Bye."}},
    },
}  # fmt: skip


def test_a_chain_through_the_bot_s_reply_keeps_its_depth(settings):
    limit = settings.PARLEY_INTEGRATIONS["RULES_MAX_DEPTH"]
    chat = Chat(make_flow(ASKING))
    # No time budget: the budget counts a run's wall time, and on a loaded host five runs
    # of a rule that posts (CI: four test tiers on two cores) spent the default 2000 ms a
    # minute, so the rule was paused and one echo was missing. The budget has its own test
    # (test_rules.py); this one is about depth.
    Rule.objects.create(site=chat.site, name="echo", event="message.created", time_budget="",
                        actions=[{"type": "post", "text": "echo"}])  # fmt: skip
    site_hooks_refresh(site_id=chat.site.pk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        replies = chat.send("what?")
    assert replies[0].body == "Please pick one."  # the bot answered, in the same send
    bot_reply = HookEvent.objects.get(body__data__message__id=replies[0].pk)
    assert bot_reply.depth == 1 and bot_reply.rule_id is None
    # No event is given to rules deeper than the limit: the customer's chain answers
    # `limit` times, the chain through the bot's reply one level fewer.
    assert max(HookEvent.objects.values_list("depth", flat=True)) == limit - 1
    echoes = Message.objects.filter(conversation=chat.conversation, data__rule__isnull=False)
    assert echoes.count() == limit + (limit - 1)
    limits = ConversationEvent.objects.filter(conversation=chat.conversation,
                                              type="rule.depth_limit")  # fmt: skip
    assert {e.data["depth"] for e in limits} == {limit}
    assert not ConversationEvent.objects.filter(type="rule.throttled").exists()
