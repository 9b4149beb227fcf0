"""The language pipeline after the send, in Celery (``chat.tasks.message_pipeline_run`` →
``message_pipeline_process``): language detection, a second moderation pass with the
detected language, the conversation's language, and translations. Every step is a
conditional update or a unique row, so a task that runs twice (``acks_late`` redelivery,
the sweeper) gives one result. ``message_pipeline_queue`` queues it after commit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from chat.models import (
    Conversation,
    Message,
    MessageTranslation,
    ModerationPolicy,
    Participant,
    Site,
)
from chat.pipeline import conf, detection, engines, moderation
from chat.pipeline.glossary import protect, restore
from chat.pipeline.health import health_record
from chat.pipeline.languages import base_language, reader_languages, sender_language
from chat.pipeline.payloads import TRANSLATABLE_KINDS, Viewer
from chat.services.conversations import conversation_publish, event_record
from chat.services.fanout import message_publish, viewers
from chat.services.moderation import message_flag_record, moderation_policy
from chat.services.pipeline_queue import enqueue

logger = logging.getLogger(__name__)

READER_ROLES = (Participant.Role.CUSTOMER, Participant.Role.AGENT)


# --- the Celery steps ---------------------------------------------------------------------------
def _load(message_id: int) -> Message | None:
    # Few joins on purpose: a wide select_related costs more to compile than the rows it
    # saves (the site is read only when a second moderation pass needs its policy).
    return (
        Message.objects.select_related("conversation", "sender__customer", "sender__user")
        .filter(pk=message_id)
        .first()
    )


def message_pipeline_process(*, message_id: int, now: datetime | None = None) -> None:
    """Detection, moderation with the detected language, the conversation's language, then
    translations; each outcome stored, then pushed as message.updated."""
    message = _load(message_id)
    if message is None:
        return  # deleted since (or a test database long gone)
    conversation = message.conversation
    audience = None  # read only when something is pushed or translated
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
            # With translation off, a detected language changes nothing a viewer sees
            # (clients show a message's language only beside a translation): it is
            # stored, and resume and REST return it, but not pushed to every socket.
            if changed == ["language"] and engines.engine_name() == "off":
                changed = []
            if changed:
                audience = viewers(conversation=conversation)
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
    site = (
        Site.objects.filter(pk=message.conversation.site_id)
        .values_list("languages", "detection_min_length")
        .first()
    )
    languages, min_length = detection.site_detection_settings(*(site or (None, None)))
    found = detection.detect(
        message.body,
        fallback=sender_language(message.sender, message.conversation),
        languages=languages,
        min_length=min_length,
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


def conversation_language_settle(*, conversation_id: int, now: datetime | None = None) -> bool:
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
    now: datetime | None = None,
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
        glossary = conversation.site.translation_glossary if conversation.site_id else []
        outcomes = [(row, _engine_call(engine, message, row, glossary)) for row in todo]
        errors = [o for _row, o in outcomes if isinstance(o, engines.EngineError)]
        health_record(engine=engine.name, error=str(errors[-1]) if errors else None)
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


def _engine_call(
    engine: engines.TranslationEngine,
    message: Message,
    row: MessageTranslation,
    glossary: list[str],
) -> str | engines.EngineError:
    source = row.source_language or base_language(message.language)
    text, kept = protect(message.recipient_body, glossary)
    try:
        return restore(engine.translate(text, source=source, target=row.language), kept)
    except engines.EngineError as exc:
        return exc


def _translation_store(
    engine: engines.TranslationEngine,
    row: MessageTranslation,
    outcome: str | engines.EngineError,
    *,
    now: datetime | None = None,
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
def pipeline_sweep(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
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
            enqueue(message_id)
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
                transaction.on_commit(lambda m=message_id: enqueue(m))
    return {"requeued": queued, "translations_retried": retried}
