"""A photo sent to the bot (a message of files only) is stored and answered like any
message the bot cannot use: the flow goes on, nothing fails."""

from __future__ import annotations

import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from actions import conversations as conversation_actions
from chat.models import Message
from chat.services.attachments import attachment_upload
from tests.bots.conftest import Chat
from tests.chat.test_attachments import attachments_dir, png  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def test_a_files_only_message_in_the_bots_flow(demo_flow):
    chat = Chat(demo_flow)
    greeted = len(chat.bot_messages())
    assert greeted >= 1
    upload = attachment_upload(
        actor=chat.actor, upload=SimpleUploadedFile("drill.png", png(), content_type="image/png")
    )
    message, created = conversation_actions.message_send(
        actor=chat.actor,
        conversation_id=chat.conversation.pk,
        body=None,
        client_msg_id=f"photo{next(_ids)}",
        attachments=[str(upload.pk)],
    )
    assert created and message.body == ""
    assert [a["name"] for a in message.data["attachments"]] == ["drill.png"]
    after = Message.objects.filter(conversation=chat.conversation, seq__gt=message.seq)
    # The bot answered (asked again, or handed over): the conversation goes on.
    assert after.exists()
    assert chat.refresh().status in ("bot", "queued", "offered", "assigned")
