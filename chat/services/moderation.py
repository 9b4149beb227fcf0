"""Moderation at send time, in the sender's transaction and process: the recipients' copy
is decided from the word lists before anyone is told the message exists; under the
"block" policy the message is refused and the attempt kept for supervisors."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F

from chat.exceptions import ValidationError
from chat.models import (
    BlockedMessage,
    Conversation,
    Message,
    ModerationPolicy,
    Participant,
)
from chat.pipeline import conf, moderation
from chat.pipeline.languages import sender_language
from chat.pipeline.payloads import TRANSLATABLE_KINDS
from chat.services.conversations import event_record

logger = logging.getLogger(__name__)
T = TypeVar("T")


# --- moderation at send time ------------------------------------------------------------------
@dataclass(frozen=True)
class ModerationOutcome:
    moderation: str
    body_moderated: str = ""
    flags: list[dict] = field(default_factory=list)
    blocked: bool = False

    def fields(self) -> dict[str, Any]:
        return {
            "moderation": self.moderation,
            "body_moderated": self.body_moderated,
            "moderation_flags": self.flags,
        }


SKIPPED = ModerationOutcome(Message.Moderation.SKIPPED)


class MessageBlocked(Exception):
    """Raised inside message_create when the site's policy is "block"; message_send turns it
    into a ``message_blocked`` error after recording the attempt."""

    def __init__(
        self,
        outcome: ModerationOutcome,
        *,
        body: str,
        conversation_id: int,
        sender_id: int,
        client_msg_id: str | None,
    ) -> None:
        super().__init__("message blocked by moderation")
        self.outcome = outcome
        self.body = body
        self.conversation_id = conversation_id
        self.sender_id = sender_id
        self.client_msg_id = client_msg_id


def _moderated(sender: Participant, conversation: Conversation, kind: str) -> bool:
    if not conf.enabled() or kind != Message.Kind.TEXT:
        return False  # bot, system and event lines are written by Parley or integrations
    if sender.role == Participant.Role.CUSTOMER:
        return True
    return sender.role == Participant.Role.AGENT and conversation.site.moderate_agent_messages


def moderation_policy(conversation: Conversation) -> str:
    """The queue's policy when it sets one, else the site's. Read only when a message has
    matched the lists, so clean messages pay no query for it."""
    if conversation.queue_id is not None:
        policy = conversation.queue.moderation_policy
        if policy:
            return policy
    return conversation.site.moderation_policy


def message_moderate(
    *, conversation: Conversation, sender: Participant, body: str, kind: str
) -> ModerationOutcome:
    """The fast path: word-list moderation in the sender's request, before the message is
    stored, so nothing unmoderated is ever delivered, whatever state the workers are in."""
    if not _moderated(sender, conversation, kind):
        return SKIPPED
    verdict = moderation.moderate(body, language=sender_language(sender, conversation))
    if verdict.clean:
        return ModerationOutcome(Message.Moderation.CLEAN)
    policy = moderation_policy(conversation)
    flags = [m.as_flag(body) for m in verdict.matches]
    blocked = policy == ModerationPolicy.BLOCK
    if blocked and not verdict.blockable:
        # Every word found is innocent in a language the text plausibly is in ("con",
        # "bitte", "dick" from a sender whose locale may be wrong): a refusal could not be
        # undone by the second pass, so the message goes out masked and flagged for review.
        blocked = False
        policy = ModerationPolicy.FLAG
    state = (
        Message.Moderation.FLAGGED if policy == ModerationPolicy.FLAG else Message.Moderation.MASKED
    )
    return ModerationOutcome(state, verdict.text, flags, blocked=blocked)


def blocked_message_record(*, blocked: MessageBlocked) -> BlockedMessage:
    """Keep a blocked message for supervisors and audit (its own transaction: the send's was
    rolled back). A retry with the same client_msg_id counts an attempt, not a new row."""
    conversation_id, sender_id = blocked.conversation_id, blocked.sender_id
    client_msg_id = blocked.client_msg_id
    with transaction.atomic():
        record = None
        if client_msg_id:
            record = (
                BlockedMessage.objects.select_for_update()
                .filter(conversation_id=conversation_id, sender_id=sender_id)
                .filter(client_msg_id=client_msg_id)
                .first()
            )
        if record is not None:
            BlockedMessage.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
            return record
        record = BlockedMessage.objects.create(
            conversation_id=conversation_id,
            sender_id=sender_id,
            body=blocked.body,
            flags=blocked.outcome.flags,
            client_msg_id=client_msg_id,
        )
        # The timeline says that it happened, never what was written (agents read it).
        event_record(
            conversation=Conversation.objects.get(pk=conversation_id),
            type="moderation.blocked",
            reason="the moderation policy blocks profanity",
            actor="moderation",
            data={"blocked_message": record.pk, "participant": sender_id},
        )
        return record


def records_blocked(func: Callable[..., T]) -> Callable[..., T]:
    """Wrap a sending service (outside its transaction): a MessageBlocked raised inside is
    recorded after the rollback and becomes a ``message_blocked`` error that says why."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except MessageBlocked as blocked:
            blocked_message_record(blocked=blocked)
            raise ValidationError(
                blocked_reason(blocked), code="message_blocked", field="body"
            ) from None

    return wrapper


def blocked_reason(blocked: MessageBlocked) -> str:
    words = sorted({flag["text"] for flag in blocked.outcome.flags})
    return (
        "Your message was not sent: it contains words this site does not allow ("
        + ", ".join(repr(w) for w in words)
        + "). Please rephrase it."
    )


def message_flag_record(*, message: Message) -> None:
    """Under the "flag" policy: a timeline line for supervisors (without the text)."""
    event_record(
        conversation=message.conversation,
        type="moderation.flagged",
        reason="profanity masked; waiting for a supervisor's review",
        actor="moderation",
        data={"message": message.pk, "seq": message.seq},
    )


def initial_pipeline_state(kind: str) -> str:
    if conf.enabled() and kind in TRANSLATABLE_KINDS:
        return Message.Pipeline.PENDING
    return Message.Pipeline.DONE
