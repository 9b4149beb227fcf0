"""An agent asks for one message in a language: the translation is made by the pipeline's
worker (never on the socket: an engine may take seconds) and arrives as message.updated,
like any other translation."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from chat.actors import Actor
from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from chat.models import Conversation, Message, MessageTranslation, Participant
from chat.pipeline import conf
from chat.pipeline.health import translation_status
from chat.pipeline.languages import base_language, reader_languages
from chat.pipeline.payloads import TRANSLATABLE_KINDS
from chat.selectors import conversation_get_for_actor
from chat.services.pipeline_queue import enqueue


def _target_for(actor: Actor, conversation: Conversation, language: object) -> str:
    if language not in (None, ""):
        if not isinstance(language, str):
            raise ValidationError("language must be a language code.", field="language")
        return base_language(language)
    if actor.user is None:  # an API key has no language of its own
        raise ValidationError("Say which language to translate into.", field="language")
    participant = Participant.objects.filter(conversation=conversation, user=actor.user).first()
    if participant is not None:
        langs = reader_languages(participant, conversation)
        if langs:
            return langs[0]
    profile = getattr(actor.user, "agent_profile", None)
    langs = [base_language(x) for x in (profile.languages or [])] if profile else []
    if langs:
        return langs[0]
    raise ValidationError("Say which language to translate into.", field="language")


@transaction.atomic
def message_translation_request(
    *, actor: Actor, conversation_id: int, seq: int, language: object = None
) -> str:
    """Queue the translation of message ``seq`` into ``language`` (default: the agent's
    first language). Returns "done" when it exists already, else "queued"."""
    if actor.kind not in ("agent", "service"):  # the agents, and keys (messages:write)
        raise PermissionDenied("Only agents and API keys ask for translations.")
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    message = Message.objects.filter(conversation=conversation, seq=seq).first()
    if message is None:
        raise NotFound(f"No message {seq} in this conversation.")
    if message.kind not in TRANSLATABLE_KINDS:
        raise ValidationError("This message is not text to translate.", field="seq")
    target = _target_for(actor, conversation, language)
    if target not in conf.languages():
        raise ValidationError(
            f"language must be one of {', '.join(conf.languages())}.", field="language"
        )
    status = translation_status()
    if not status["enabled"]:
        raise Conflict(status["reason"], code="translation_unavailable")
    source = base_language(message.language)
    if not source:
        raise Conflict("The message's language is not known yet; try again in a moment.")
    if source == target:
        raise ValidationError(f"The message is already in {target}.", field="language")
    row, _created = MessageTranslation.objects.get_or_create(
        message=message, language=target, defaults={"source_language": source}
    )
    if row.state == MessageTranslation.State.DONE:
        return "done"
    MessageTranslation.objects.filter(pk=row.pk, state=MessageTranslation.State.UNAVAILABLE).update(
        state=MessageTranslation.State.PENDING, next_attempt_at=None
    )
    # Pending again, as the sweeper does for a retry: a lost task is caught by its next run.
    Message.objects.filter(pk=message.pk).update(
        pipeline=Message.Pipeline.PENDING, pipeline_queued_at=timezone.now()
    )
    transaction.on_commit(lambda: enqueue(message.pk))
    return "queued"
