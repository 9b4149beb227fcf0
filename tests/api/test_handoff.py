"""POST /conversations/{id}/handoff/: a supervisor or an integration (a CRM that knows this
customer needs a person) takes a conversation from the bot: the bot says its handoff line
and stops, routing takes over, the agents get the bot's summary and the caller's note."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from bots.models import BotSession
from chat.models import ConversationEvent, Message, Note
from routing.models import Queue, QueueEntry
from tests.api.conftest import key_client, visitor_client
from tests.bots.conftest import Chat, make_flow
from tests.factories import make_agent
from tests.integrations.test_rule_depth_bot import ASKING  # a bot that asks, and asks again

pytestmark = pytest.mark.django_db


def url(chat: Chat) -> str:
    return f"/api/v1/conversations/{chat.conversation.pk}/handoff/"


def test_a_key_takes_the_conversation_from_the_bot():
    chat = Chat(make_flow(ASKING))
    assert chat.conversation.status == "bot"
    billing = Queue.objects.create(name="Billing")
    api, _ = key_client(name="crm")
    answer = api.post(url(chat), {"to_queue": billing.pk, "note": "VIP: refund pending"},
                      format="json")  # fmt: skip
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "queued"
    assert answer.json()["queue"]["id"] == billing.pk
    entry = QueueEntry.objects.get(conversation=chat.conversation, closed_at__isnull=True)
    assert entry.queue_id == billing.pk
    assert BotSession.objects.get(conversation=chat.conversation).state == "handed_off"
    notes = Note.objects.filter(conversation=chat.conversation, kind=Note.Kind.HANDOFF)
    assert {n.author_name for n in notes} == {"Parley bot", "crm (API)"}
    assert notes.get(author_name="crm (API)").body == "VIP: refund pending"
    # The bot said its goodbye, and answers nothing more.
    last_bot = Message.objects.filter(conversation=chat.conversation, kind="bot").last()
    assert last_bot.body != "Order or product?"
    assert chat.send("hello?") == []
    [taken] = ConversationEvent.objects.filter(
        conversation=chat.conversation, type="bot.taken_over"
    )
    assert taken.actor == "service:crm" and taken.data == {"to_queue": billing.pk, "note": True}


def test_without_a_queue_the_summary_names_the_one_it_went_to():
    chat = Chat(make_flow(ASKING))
    api, _ = key_client()
    answer = api.post(url(chat), {}, format="json")
    assert answer.status_code == 200, answer.content
    summary = Note.objects.get(conversation=chat.conversation, author_name="Parley bot")
    assert summary.data["queue"] == answer.json()["queue"]["name"] == "General"


def test_only_a_conversation_with_the_bot_is_handed_off():
    chat = Chat(make_flow(ASKING))
    api, _ = key_client()
    assert api.post(url(chat), {}, format="json").status_code == 200
    again = api.post(url(chat), {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_with_bot"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"to_queue": 999999}, 404, None),
        ({"to_queue": "billing"}, 400, "to_queue"),
        ({"note": "x" * 1001}, 400, "note"),
        ({"note": 5}, 400, "note"),
    ],
)
def test_bad_input_changes_nothing(body, status, field):
    chat = Chat(make_flow(ASKING))
    api, _ = key_client()
    answer = api.post(url(chat), body, format="json")
    assert answer.status_code == status, answer.content
    if field:
        assert answer.json()["error"]["field"] == field
    chat.refresh()
    assert chat.conversation.status == "bot"


def test_who_may_hand_off():
    chat = Chat(make_flow(ASKING))
    assert visitor_client(chat.customer).post(url(chat), {}, format="json").status_code == 403
    agent = APIClient()
    agent.force_login(make_agent("ana"))
    assert agent.post(url(chat), {}, format="json").status_code == 403
    supervisor = APIClient()
    boss = make_agent("boss")
    boss.is_superuser = True
    boss.save()
    supervisor.force_login(boss)
    assert supervisor.post(url(chat), {}, format="json").status_code == 200
