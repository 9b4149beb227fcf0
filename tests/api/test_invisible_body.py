"""A body of only invisible characters (zero-width space, word joiner, BOM…, with spaces or
not) is refused as an empty one, over REST and through the socket's send (one check:
chat.services.validation.clean_body); the same characters inside real text are kept."""

from __future__ import annotations

import pytest

from actions import conversations as conversation_actions
from chat.exceptions import ValidationError
from chat.models import Message
from tests.api.conftest import key_client, visitor_client
from tests.factories import customer_actor
from tests.pipeline.helpers import make_chat

pytestmark = pytest.mark.django_db

INVISIBLE = [
    "\u200b\u200b",
    "\u2060",
    "\ufeff",
    " \u200b \u2060\ufeff ",
    "\u200c\u200d",
    "\u3164",
    "\u200e\n\u200f",
]
VISIBLE = [
    "👩\u200d💻",  # a ZWJ emoji sequence
    "👨\u200d👩\u200d👧",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian (mi-khaham) with ZWNJ
    "क्\u200dष",  # Devanagari with ZWJ
    "a\u200bb",
    "\u200bhello\u200b",
]


def _refused(answer) -> None:
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_field", "body")


@pytest.mark.parametrize("body", INVISIBLE)
def test_rest_refuses_an_invisible_body_as_a_blank_one(body):
    chat = make_chat(locale="en")
    url = f"/api/v1/conversations/{chat.conversation.pk}/messages/"
    visitor = visitor_client(chat.customer)
    _refused(visitor.post(url, {"client_msg_id": "c1", "body": body}, format="json"))
    _refused(visitor.post(url, {"client_msg_id": "c2", "body": "   "}, format="json"))
    api, _ = key_client()
    _refused(api.post(url, {"client_msg_id": "k1", "body": body}, format="json"))
    assert not Message.objects.filter(conversation=chat.conversation, kind="text").exists()


@pytest.mark.parametrize("body", INVISIBLE)
def test_the_socket_send_refuses_an_invisible_body_as_a_blank_one(body):
    # What the widget's and the console's message.send await (chat/consumers.py).
    chat = make_chat(locale="en")
    for sent in (body, "  "):
        with pytest.raises(ValidationError) as refused:
            conversation_actions.message_send(
                actor=customer_actor(chat.customer),
                conversation_id=chat.conversation.pk,
                body=sent,
                client_msg_id="s1",
            )
        assert (refused.value.code, refused.value.field) == ("invalid_field", "body")
        assert refused.value.message == "body must not be empty."


@pytest.mark.parametrize("body", VISIBLE)
def test_joiners_inside_real_text_are_kept(body):
    chat = make_chat(locale="en")
    message, _ = conversation_actions.message_send(
        actor=customer_actor(chat.customer),
        conversation_id=chat.conversation.pk,
        body=body,
        client_msg_id="s1",
    )
    assert message.body == body.strip()
    answer = visitor_client(chat.customer).post(
        f"/api/v1/conversations/{chat.conversation.pk}/messages/",
        {"client_msg_id": "c1", "body": body},
        format="json",
    )
    assert answer.status_code == 201, answer.content
