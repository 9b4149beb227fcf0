"""The language pipeline's writers and publishers.

At send time (in the sender's transaction, in-process): ``message_moderate`` decides the
recipients' copy from the word lists, ``message_publish`` sends each viewer their own
payload after commit, ``message_pipeline_queue`` queues the Celery task after commit.

In Celery (``chat.tasks.message_pipeline_run`` → ``message_pipeline_process``): language
detection, a second moderation pass with the detected language, the conversation's
language, and translations. Every step is a conditional update or a unique row, so a task
that runs twice (``acks_late`` redelivery, the sweeper) gives one result.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from celery import current_app
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from chat import realtime, recipients
from chat.exceptions import ValidationError
from chat.models import (
    BlockedMessage,
    Conversation,
    Message,
    MessageTranslation,
    ModerationPolicy,
    Participant,
)
from chat.payloads import message_payload
from chat.pipeline import conf, detection, engines, moderation
from chat.pipeline.languages import base_language, reader_languages, sender_language
from chat.pipeline.payloads import TRANSLATABLE_KINDS, Viewer
from chat.services.conversations import conversation_publish, event_record

logger = logging.getLogger(__name__)
PIPELINE_TASK = "chat.tasks.message_pipeline_run"
T = TypeVar("T")

READER_ROLES = (Participant.Role.CUSTOMER, Participant.Role.AGENT)


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
    state = (
        Message.Moderation.FLAGGED if policy == ModerationPolicy.FLAG else Message.Moderation.MASKED
    )
    return ModerationOutcome(state, verdict.text, flags, blocked=policy == ModerationPolicy.BLOCK)


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


# --- fan-out: each viewer gets their own payload ------------------------------------------------
def viewers(*, conversation: Conversation) -> list[tuple[Participant, str, Viewer]]:
    """(participant, principal group, viewer) for the conversation's active participants."""
    out = []
    participants = Participant.objects.filter(
        conversation_id=conversation.pk, left_at__isnull=True
    ).select_related("customer", "user__agent_profile")
    for p in participants:
        group = recipients.participant_group(p)
        if group is None:
            continue
        out.append((p, group, Viewer.for_participant(p, reader_languages(p, conversation))))
    return out


def message_publish(
    *,
    message: Message,
    conversation: Conversation,
    frame_type: str,
    sender: Participant | None = None,
    translations: list[MessageTranslation] | None = None,
    changed: list[str] | None = None,
    audience: list[tuple[Participant, str, Viewer]] | None = None,
) -> None:
    """Queue ``frame_type`` (message.new / message.updated) to every viewer after commit,
    each with their own view: the sender's groups get their own text, the others the
    moderated copy. Consoles in the waiting room get the recipients' copy. ``audience``:
    ``viewers()`` when the caller already has it."""
    sender = sender or message.sender
    if translations is None:
        translations = list(message.translations.all())
    enabled = engines.engine_name() != "off"

    def frame(viewer: Viewer | None) -> dict[str, Any]:
        out = {
            "type": frame_type,
            "message": message_payload(
                message,
                sender,
                viewer=viewer,
                translations=translations,
                translation_enabled=enabled,
            ),
        }
        if changed is not None:
            out["changed"] = changed
        return out

    items = [
        ([group], frame(viewer))
        for _participant, group, viewer in audience or viewers(conversation=conversation)
    ]
    if conversation.status in Conversation.WAITING_STATUSES:
        items.append(([recipients.AGENTS_GROUP], frame(None)))
    # One trip through the layer for all the viewers' frames (in order), not one each.
    realtime.publish_many_on_commit(items)


# --- queueing ---------------------------------------------------------------------------------
# The broker is written to from one background thread per process: the sender's request
# never waits on it (a dead broker takes seconds to fail a connect, even with retry=False).
_enqueuer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipeline-enqueue")
_broker_down_until = 0.0
BROKER_BACKOFF = 30.0  # seconds without trying after a failed publish (the sweeper covers)


def message_pipeline_queue(*, message: Message) -> None:
    """Queue the Celery task once the message is committed, in the background. Nothing
    here can fail or slow the send: a task that could not be queued (broker down, process
    killed) leaves the message ``pipeline = pending``, and the sweeper queues it later."""
    if not conf.enabled():
        return
    message_id = message.pk
    transaction.on_commit(lambda: _enqueuer.submit(_enqueue, message_id), robust=True)


def _enqueue(message_id: int) -> bool:
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False  # failed a moment ago: don't queue up seconds-long connect attempts
    try:
        # By name: the task module imports this one (tasks call services), not back.
        current_app.tasks[PIPELINE_TASK].apply_async((message_id,), retry=False)
    except Exception:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF
        logger.warning("could not queue the pipeline for message %s", message_id, exc_info=True)
        return False
    return True


# --- the Celery steps ---------------------------------------------------------------------------
def _load(message_id: int) -> Message | None:
    # Few joins on purpose: a wide select_related costs more to compile than the rows it
    # saves (the site is read only when a second moderation pass needs its policy).
    return (
        Message.objects.select_related("conversation", "sender__customer", "sender__user")
        .filter(pk=message_id)
        .first()
    )


def message_pipeline_process(*, message_id: int, now=None) -> None:
    """Detection, moderation with the detected language, the conversation's language, then
    translations; each outcome stored, then pushed as message.updated."""
    message = _load(message_id)
    if message is None:
        return  # deleted since (or a test database long gone)
    conversation = message.conversation
    audience = viewers(conversation=conversation)
    # Only this message, unless the readers may have changed: a "joined" line (an event)
    # or a settled language catches up the conversation's recent messages.
    catch_up = message.kind not in TRANSLATABLE_KINDS
    if message.kind in TRANSLATABLE_KINDS:
        # One transaction for both steps: fewer commits (the worker shares the database
        # with the senders), and the frame leaves only once both are stored.
        with transaction.atomic():
            changed = []
            if _detect_step(message):
                changed.append("language")
            if _moderation_step(message):
                changed.append("moderation")
            if changed:
                message_publish(
                    message=message,
                    conversation=conversation,
                    frame_type="message.updated",
                    changed=changed,
                    audience=audience,
                )
        if (
            message.language_source == "detected"
            and message.sender.role == Participant.Role.CUSTOMER
            and conversation.language_settled_at is None
            and conversation_language_settle(conversation_id=conversation.pk, now=now)
        ):
            conversation.refresh_from_db()
            audience = viewers(conversation=conversation)  # the customer's language changed
            catch_up = True
    conversation_translations_run(
        conversation=conversation,
        now=now,
        audience=audience,
        message_id=None if catch_up else message.pk,
    )
    Message.objects.filter(pk=message.pk, pipeline=Message.Pipeline.PENDING).update(
        pipeline=Message.Pipeline.DONE, pipeline_done_at=now or timezone.now()
    )


def _detect_step(message: Message) -> bool:
    if message.language_source:
        return False
    found = detection.detect(
        message.body, fallback=sender_language(message.sender, message.conversation)
    )
    updated = Message.objects.filter(pk=message.pk, language_source="").update(
        language=found.language,
        language_confidence=found.confidence,
        language_source=found.source,
    )
    message.refresh_from_db(fields=["language", "language_confidence", "language_source"])
    return bool(updated)


def _moderation_step(message: Message) -> bool:
    """Moderate again with the detected language: it can unmask a word that is innocent in
    that language, or mask one the sender's locale let through. Idempotent: the same input
    gives the same output, and the update is conditional on the text we started from."""
    if message.moderation == Message.Moderation.SKIPPED or message.language_source != "detected":
        return False
    verdict = moderation.moderate(message.body, language=message.language)
    if verdict.clean:
        state, text = Message.Moderation.CLEAN, ""
    elif message.moderation == Message.Moderation.FLAGGED or (
        moderation_policy(message.conversation) != ModerationPolicy.MASK
    ):
        # Already delivered, so too late to block: mask it, and flag it for review.
        state, text = Message.Moderation.FLAGGED, verdict.text
    else:
        state, text = Message.Moderation.MASKED, verdict.text
    if state == message.moderation and text == message.body_moderated:
        return False
    updated = Message.objects.filter(
        pk=message.pk, moderation=message.moderation, body_moderated=message.body_moderated
    ).update(
        moderation=state,
        body_moderated=text,
        moderation_flags=[m.as_flag(message.body) for m in verdict.matches],
    )
    if updated:
        # Translations made from the old copy are stale.
        MessageTranslation.objects.filter(message=message).update(
            state=MessageTranslation.State.PENDING, body=""
        )
        if state == Message.Moderation.FLAGGED and message.moderation != state:
            message_flag_record(message=message)
    message.refresh_from_db(fields=["moderation", "body_moderated", "moderation_flags"])
    return bool(updated)


def conversation_language_settle(*, conversation_id: int, now=None) -> bool:
    """Settle the conversation's language from the customer's confident detections: the
    widget's locale confirmed once, or any language seen LANGUAGE_SETTLE_COUNT times. Set
    once (conditional update), recorded on the timeline, shown to consoles."""
    conversation = Conversation.objects.get(pk=conversation_id)
    if conversation.language_settled_at is not None:
        return False
    counts = dict(
        Message.objects.filter(
            conversation_id=conversation_id,
            sender__role=Participant.Role.CUSTOMER,
            language_source="detected",
        )
        .values_list("language")
        .annotate(n=Count("id"))
        .values_list("language", "n")
    )
    locale = base_language(conversation.language)
    need = max(1, int(conf.cfg("LANGUAGE_SETTLE_COUNT")))
    settled = None
    if counts.get(locale, 0) >= 1:
        settled = locale
    else:
        best = max(counts.items(), key=lambda kv: kv[1], default=None)
        if best and best[1] >= need:
            settled = best[0]
    if not settled:
        return False
    with transaction.atomic():
        won = Conversation.objects.filter(
            pk=conversation_id, language_settled_at__isnull=True
        ).update(language=settled, language_settled_at=now or timezone.now())
        if not won:
            return False
        Participant.objects.filter(
            conversation_id=conversation_id, role=Participant.Role.CUSTOMER
        ).update(language=settled)
        conversation = Conversation.objects.select_related(
            "customer", "queue", "assignee", "site"
        ).get(pk=conversation_id)
        event_record(
            conversation=conversation,
            type="language.settled",
            reason=f"{counts.get(settled, 0)} customer message(s) detected as {settled}",
            actor="pipeline",
            data={"language": settled, "previous": locale, "detections": counts},
        )
        conversation_publish(conversation=conversation)
    return True


def translation_targets(
    *, message: Message, readers: list[tuple[Participant, tuple[str, ...]]]
) -> list[str]:
    """Each reader other than the sender who does not read the message's language gets it
    in their first language."""
    source = base_language(message.language)
    if not source or message.kind not in TRANSLATABLE_KINDS:
        return []
    targets = set()
    for participant, langs in readers:
        if participant.pk == message.sender_id or not langs or source in langs:
            continue
        targets.add(langs[0])
    return sorted(targets)


def conversation_translations_run(
    *,
    conversation: Conversation,
    now=None,
    audience: list[tuple[Participant, str, Viewer]] | None = None,
    message_id: int | None = None,
) -> int:
    """Make the translations the conversation's current readers lack and translate what
    is pending: for one message (``message_id``), or for the recent ones (a reader who
    joined or whose language settled gets the earlier messages too). Returns the number
    of messages whose translations changed."""
    engine = engines.get_engine()
    if engine is None:
        return 0  # translation is off; detection and moderation still ran
    audience = audience if audience is not None else viewers(conversation=conversation)
    readers = [
        (p, reader_languages(p, conversation)) for p, _group, _viewer in audience
        if p.role in READER_ROLES
    ]  # fmt: skip
    qs = (
        Message.objects.filter(conversation_id=conversation.pk, kind__in=TRANSLATABLE_KINDS)
        .exclude(language="")
        .select_related("sender__customer", "sender__user")
        .prefetch_related("translations")
    )
    if message_id is not None:
        recent = list(qs.filter(pk=message_id))
    else:
        recent = list(qs.order_by("-seq")[: int(conf.cfg("CATCH_UP_MESSAGES"))])
    made = 0
    for message in reversed(recent):
        have = {t.language: t for t in message.translations.all()}
        todo = [t for t in have.values() if t.state == MessageTranslation.State.PENDING]
        missing = [
            t for t in translation_targets(message=message, readers=readers) if t not in have
        ]
        if missing:
            source = base_language(message.language)
            MessageTranslation.objects.bulk_create(
                [MessageTranslation(message=message, language=t, source_language=source)
                 for t in missing],
                ignore_conflicts=True,  # another run made it first: one row per language
            )  # fmt: skip
            todo += MessageTranslation.objects.filter(
                message=message, language__in=missing, state=MessageTranslation.State.PENDING
            )
        if not todo:
            continue
        # The engine is called outside any transaction (no lock or connection held busy
        # while it thinks); the results are stored together, then pushed once.
        outcomes = [(row, _engine_call(engine, message, row)) for row in todo]
        with transaction.atomic():
            changed = False
            for row, outcome in outcomes:
                changed |= _translation_store(engine, row, outcome, now=now)
            if changed:
                made += 1
                message_publish(
                    message=message,
                    conversation=conversation,
                    frame_type="message.updated",
                    translations=list(MessageTranslation.objects.filter(message=message)),
                    changed=["translations"],
                    audience=audience,
                )
    return made


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 3600))


def _engine_call(engine, message: Message, row: MessageTranslation) -> str | engines.EngineError:
    source = row.source_language or base_language(message.language)
    try:
        return engine.translate(message.recipient_body, source=source, target=row.language)
    except engines.EngineError as exc:
        return exc


def _translation_store(
    engine, row: MessageTranslation, outcome: str | engines.EngineError, *, now=None
) -> bool:
    """Store one result with a conditional update on the pending state: of two racing
    runs, the first wins and the second changes nothing."""
    now = now or timezone.now()
    if isinstance(outcome, engines.EngineError):
        exc = outcome
        attempts = row.attempts + 1
        retry = exc.transient and attempts < int(conf.cfg("TRANSLATION_MAX_ATTEMPTS"))
        logger.info("translation of message %s to %s failed: %s", row.message_id, row.language, exc)
        return bool(
            MessageTranslation.objects.filter(
                pk=row.pk, state=MessageTranslation.State.PENDING
            ).update(
                state=MessageTranslation.State.UNAVAILABLE,
                engine=engine.name,
                error=str(exc)[:300],
                attempts=attempts,
                next_attempt_at=now + _backoff(attempts) if retry else None,
            )
        )
    return bool(
        MessageTranslation.objects.filter(pk=row.pk, state=MessageTranslation.State.PENDING).update(
            state=MessageTranslation.State.DONE,
            body=outcome,
            engine=engine.name,
            error="",
            attempts=row.attempts + 1,
            next_attempt_at=None,
        )
    )


# --- the sweeper (beat) ----------------------------------------------------------------------
def pipeline_sweep(*, now=None, limit: int = 200) -> dict[str, int]:
    """Re-queue what fell through: messages whose task never ran (broker down when they
    were sent, a worker killed mid-task) and translations whose retry time has come.
    Each claim is a conditional update, so two sweepers never queue one message twice."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=int(conf.cfg("STALE_AFTER")))
    queued = 0
    ids = list(
        Message.objects.filter(pipeline=Message.Pipeline.PENDING)
        .filter(pipeline_queued_at__lt=stale)
        .order_by("pipeline_queued_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in ids:
        if Message.objects.filter(
            pk=message_id, pipeline=Message.Pipeline.PENDING, pipeline_queued_at__lt=stale
        ).update(pipeline_queued_at=now):
            _enqueue(message_id)
            queued += 1
    retried = 0
    due = list(
        MessageTranslation.objects.filter(
            state=MessageTranslation.State.UNAVAILABLE, next_attempt_at__lte=now
        ).values_list("pk", "message_id")[:limit]
    )
    for row_id, message_id in due:
        with transaction.atomic():
            if MessageTranslation.objects.filter(
                pk=row_id, state=MessageTranslation.State.UNAVAILABLE, next_attempt_at__lte=now
            ).update(state=MessageTranslation.State.PENDING, next_attempt_at=None):
                # Pending again, so a lost task is caught by the first sweep above.
                Message.objects.filter(pk=message_id).update(
                    pipeline=Message.Pipeline.PENDING, pipeline_queued_at=now
                )
                retried += 1
                transaction.on_commit(lambda m=message_id: _enqueue(m))
    return {"requeued": queued, "translations_retried": retried}
