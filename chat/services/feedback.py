"""What a customer gives back after a chat: a CSAT rating once an agent resolved it, and a
transcript of it by email on request (Django's email backend)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from chat import events, realtime, recipients
from chat.actors import Actor
from chat.exceptions import Conflict, PermissionDenied, ValidationError
from chat.models import Conversation, CsatRating, Message, Participant
from chat.payloads import csat_payload
from chat.selectors import conversation_get_for_actor
from chat.services.conversations import conversation_lock, event_record

MAX_COMMENT = 2000
TRANSCRIPTS_PER_HOUR = 3  # per conversation: the form cannot become a mail cannon


def _score(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError("score must be a whole number from 1 to 5.", field="score")
    return value


def _comment(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("comment must be a string.", field="comment")
    if len(value) > MAX_COMMENT:
        raise ValidationError(f"comment is over {MAX_COMMENT} characters.", field="comment")
    return value.strip()


@transaction.atomic
def csat_submit(*, actor: Actor, conversation_id: int, score: Any, comment: Any = "") -> CsatRating:
    """The customer rates a conversation an agent resolved: stored once (a second rating is
    a 409 ``already_rated``), put on the timeline and told to its agents (csat.submitted)."""
    if actor.kind != "customer":
        raise PermissionDenied("Only the customer rates their conversation.")
    score, comment = _score(score), _comment(comment)
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = conversation_lock(conversation.pk)
    if conversation.status != Conversation.Status.RESOLVED or not conversation.assignee_id:
        raise Conflict("Only a conversation an agent resolved can be rated.", code="not_ratable")
    try:
        with transaction.atomic():
            rating = CsatRating.objects.create(
                conversation=conversation,
                site_id=conversation.site_id,
                agent_id=conversation.assignee_id,
                score=score,
                comment=comment,
            )
    except IntegrityError as exc:
        raise Conflict("This conversation was rated already.", code="already_rated") from exc
    event_record(
        conversation=conversation,
        type="csat.submitted",
        actor=actor.label,
        reason=f"rated {score}/5",
        data={"score": score, "source": "widget", "agent": conversation.assignee_id},
    )
    # Every agent who took part, those who left (a transfer, an invitation) included: the
    # rating is of the whole conversation, not only of its last agent.
    agent_ids = Participant.objects.filter(
        conversation_id=conversation.pk, user__isnull=False
    ).values_list("user_id", flat=True)
    ids = [*agent_ids, *([conversation.assignee_id] if conversation.assignee_id else [])]
    groups = [recipients.user_group(user_id) for user_id in dict.fromkeys(ids)]
    realtime.publish_on_commit(
        groups,
        events.frame(
            events.CSAT_SUBMITTED, conversation=conversation.pk, csat=csat_payload(rating)
        ),
    )
    return rating


def transcript_text(*, conversation: Conversation) -> str:
    """What the customer saw, in order: messages and events, never internal notes (a
    separate table no customer path reads)."""
    lines = []
    rows = (
        Message.objects.filter(conversation=conversation)
        .select_related("sender__user", "sender__customer")
        .order_by("seq")
    )
    for m in rows:
        when = timezone.localtime(m.created_at).strftime("%Y-%m-%d %H:%M")
        if m.kind == Message.Kind.EVENT:
            lines.append(f"[{when}] {m.body}")
        else:
            # Attachments by name: a mail has no lasting link to give (links expire).
            files = [a["name"] for a in (m.data or {}).get("attachments", [])]
            text = " ".join([m.body, *(f"[{name}]" for name in files)]).strip()
            lines.append(f"[{when}] {m.sender.display_name}: {text}")
    return "\n".join(lines)


def transcript_email_send(*, actor: Actor, conversation_id: int, email: Any) -> str:
    """Email the customer the transcript of their conversation, in the conversation's
    language, through Django's email backend; a few per hour per conversation."""
    if actor.kind != "customer":
        raise PermissionDenied("Only the customer asks for their transcript.")
    if not isinstance(email, str):
        raise ValidationError("email must be a string.", field="email")
    email = email.strip()
    try:
        validate_email(email)
    except Exception as exc:
        raise ValidationError("This email address is not valid.", field="email") from exc
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    key = f"transcript:{conversation.pk}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > TRANSCRIPTS_PER_HOUR:
        raise Conflict(
            "Too many transcripts for this conversation; try later.", code="rate_limited"
        )
    language = (conversation.language or conversation.customer.locale or "en").split("-")[0]
    with translation.override(language):
        subject = gettext("Your conversation with %(site)s") % {"site": conversation.site.name}
        intro = gettext("Here is the transcript of your conversation.")
    body = f"{intro}\n\n{transcript_text(conversation=conversation)}\n"
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    event_record(
        conversation=conversation,
        type="transcript.sent",
        actor=actor.label,
        reason="transcript emailed on the customer's request",
        data={},
    )
    return email
