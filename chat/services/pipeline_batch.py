"""The language pipeline for a burst of messages (one Celery task per burst, queued by
``pipeline_queue``), in a handful of statements instead of seven per message.

With translation off, most messages need only a detected language stored and their
pipeline marked done: nothing a viewer sees changes, so nothing is pushed. Those are
loaded in one query and stored in one conditional UPDATE. Any message whose outcome
would change what someone sees, or that may settle its conversation's language, or that
was already touched by another run, takes ``message_pipeline_process`` one by one: the
decision of what a message becomes stays in one place (chat.services.pipeline); this
module only recognises the case where that decision is "store the language, no more"."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection
from django.utils import timezone

from chat.models import Message, Participant, Site
from chat.pipeline import detection, engines, moderation
from chat.pipeline.languages import sender_language
from chat.pipeline.payloads import TRANSLATABLE_KINDS
from chat.services.pipeline import message_pipeline_process

logger = logging.getLogger(__name__)

_FIELDS = ["language", "language_confidence", "language_source", "pipeline", "pipeline_done_at"]


def message_pipeline_process_many(*, message_ids: list[int]) -> list[int]:
    """Process a burst of messages; one that fails stays pending (the sweeper queues it
    again) and does not hold up the others. Returns the ids that failed."""
    slow = list(message_ids)
    if engines.engine_name() == "off":
        try:
            slow = _store_quiet(message_ids)
        except Exception:
            logger.exception("the batched pipeline failed; processing one by one")
            slow = list(message_ids)
    failed = []
    for message_id in slow:
        try:
            message_pipeline_process(message_id=message_id)
        except Exception:
            logger.exception("the pipeline failed for message %s; the sweeper retries", message_id)
            failed.append(message_id)
    return failed


def _store_quiet(message_ids: list[int]) -> list[int]:
    """Store the messages whose pipeline changes nothing anyone sees, in one statement;
    return the others' ids (in the given order) for the one-by-one path."""
    messages = {
        m.pk: m
        # The agent's profile too: an agent's languages are the detection's fallback.
        for m in Message.objects.select_related(
            "conversation", "sender__customer", "sender__user__agent_profile"
        ).filter(pk__in=message_ids)
    }
    site_ids = {m.conversation.site_id for m in messages.values()}
    sites = {
        pk: detection.site_detection_settings(languages, min_length)
        for pk, languages, min_length in Site.objects.filter(pk__in=site_ids).values_list(
            "pk", "languages", "detection_min_length"
        )
    }
    now = timezone.now()
    quiet: list[Message] = []
    slow: list[int] = []
    for message_id in message_ids:
        message = messages.get(message_id)
        if message is None:
            continue  # deleted since: nothing to do (as message_pipeline_process)
        if _quiet(message, sites.get(message.conversation.site_id)):
            message.pipeline, message.pipeline_done_at = Message.Pipeline.DONE, now
            quiet.append(message)
        else:
            slow.append(message_id)
    for start in range(0, len(quiet), _CHUNK):
        _store(quiet[start : start + _CHUNK], now)
    return slow


_CHUNK = 500  # rows per statement: 2,000 parameters, far under SQLite's limit


def _store(quiet: list[Message], now: dt.datetime) -> None:
    """One UPDATE for the burst, from a VALUES list the database joins. Django's
    bulk_update builds a CASE with a When per message and field in Python: it was 60 % of
    the worker's CPU at 250 msg/s (py-spy). Conditional on the state read above: a row
    another run has touched since is left alone, as the one-by-one path's conditional
    updates would leave it. VALUES columns are column1… in PostgreSQL and SQLite alike
    (SQLite has UPDATE … FROM since 3.33)."""
    if not quiet:
        return
    qn = connection.ops.quote_name
    col = {f: qn(Message._meta.get_field(f).column) for f in _FIELDS}
    table, pk = qn(Message._meta.db_table), qn(Message._meta.pk.column)
    row = "(CAST(%s AS bigint), CAST(%s AS varchar), CAST(%s AS double precision), CAST(%s AS varchar))"
    params: list = []
    for m in quiet:
        params += [m.pk, m.language, m.language_confidence, m.language_source]
    sql = (
        f"UPDATE {table} SET {col['language']} = v.column2, "
        f"{col['language_confidence']} = v.column3, {col['language_source']} = v.column4, "
        f"{col['pipeline']} = %s, {col['pipeline_done_at']} = %s "
        f"FROM (VALUES {', '.join([row] * len(quiet))}) AS v "
        f"WHERE {table}.{pk} = v.column1 AND {table}.{col['language_source']} = '' "
        f"AND {table}.{col['pipeline']} = %s"
    )
    done_at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        # Parameters in the statement's order: SET, then VALUES, then WHERE.
        cursor.execute(sql, [Message.Pipeline.DONE, done_at, *params, Message.Pipeline.PENDING])


def _quiet(message: Message, site: tuple[tuple[str, ...], int] | None) -> bool:
    """Detect the language into ``message`` and say whether that is all its pipeline does:
    translation is off (checked by the caller), the message is untouched, its moderation
    stays as it is, and it cannot settle its conversation's language (it is not a
    customer's confident detection in a conversation still unsettled)."""
    if (
        message.kind not in TRANSLATABLE_KINDS
        or message.language_source
        or message.pipeline != Message.Pipeline.PENDING
    ):
        return False
    languages, min_length = site or detection.site_detection_settings(None, None)
    found = detection.detect(
        message.body,
        fallback=sender_language(message.sender, message.conversation),
        languages=languages,
        min_length=min_length,
    )
    if (
        found.source == "detected"
        and message.sender.role == Participant.Role.CUSTOMER
        and message.conversation.language_settled_at is None
    ):
        # A customer's confident detection may settle the conversation's language. Only a
        # confident one: settling counts detected messages alone, so a short or unclear
        # text ("ok", a code, a typo) cannot, and it would otherwise pay the one-by-one
        # path (seven statements) for as long as the customer writes nothing clearer.
        return False
    # The second moderation pass (pipeline._moderation_step) runs on a detected language:
    # quiet only if it finds the text clean and the message was clean already.
    second_pass = found.source == "detected" and message.moderation != Message.Moderation.SKIPPED
    if second_pass and (
        message.moderation != Message.Moderation.CLEAN
        or message.body_moderated
        or not moderation.moderate(message.body, language=found.language).clean
    ):
        return False
    message.language = found.language
    message.language_confidence = found.confidence
    message.language_source = found.source
    return True
