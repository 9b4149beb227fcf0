"""Reads for the pipeline's per-viewer payloads."""

from __future__ import annotations

from django.db.models import QuerySet

from chat.actors import Actor
from chat.models import Conversation, Participant
from chat.pipeline.languages import base_language, reader_languages
from chat.pipeline.payloads import Viewer


def viewer_participants(*, conversation_id: int) -> QuerySet[Participant]:
    """The participants a reader may be, with what their reading languages need."""
    return Participant.objects.filter(conversation_id=conversation_id).select_related(
        "customer", "user__agent_profile"
    )


def viewer_for_actor(*, actor: Actor, conversation: Conversation) -> Viewer:
    """The viewer a REST or resume reader is: their participant row when they have one."""
    qs = viewer_participants(conversation_id=conversation.pk)
    participant = None
    if actor.kind == "customer":
        participant = qs.filter(customer_id=actor.customer.pk).first()
    elif actor.kind == "agent":
        participant = qs.filter(user_id=actor.user.pk).first()
        if participant is None:
            profile = getattr(actor.user, "agent_profile", None)
            langs = [base_language(x) for x in (profile.languages if profile else [])]
            return Viewer(None, langs[0] if langs else None)
    return viewer_of(participant, conversation)


def viewer_of(participant: Participant | None, conversation: Conversation) -> Viewer:
    if participant is None:
        return Viewer()
    return Viewer.for_participant(participant, reader_languages(participant, conversation))
