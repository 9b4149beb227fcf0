"""A conversation's row: opening one, locking it, changing its status, its timeline, and
telling its participants (conversation.updated)."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from chat import events, hooks, realtime, recipients, send_reads
from chat.actors import Actor
from chat.exceptions import NotFound, PermissionDenied
from chat.models import Conversation, ConversationEvent, Customer, Participant
from chat.payloads import conversation_payload
from chat.services.validation import clean_locale, clean_subject


def conversation_lock(conversation_id: int, *, customer_id: int | None = None) -> Conversation:
    """The conversation row, locked (SELECT … FOR UPDATE) until the transaction ends: every
    writer of one conversation serialises here, so seq order is commit order.

    ``customer_id``: lock it only if it is that customer's (a customer sees nothing else),
    so a customer's send checks and locks in one statement; NotFound otherwise, the same
    answer as for a missing id."""
    conversation = send_reads.locked_conversation(conversation_id, customer_id)
    if conversation is None:
        raise NotFound("No such conversation.")
    # After waiting for the lock, PostgreSQL returns the row's newest version but re-checks
    # the joined rows as the statement first saw them (READ COMMITTED): an agent or queue
    # set by the transaction we waited for comes back as an id without its row (the
    # payload then failed). Load those again; only in that race, so no query otherwise.
    for name in ("queue", "assignee"):
        field = Conversation._meta.get_field(name)
        cached = field.get_cached_value(conversation, default=None)
        if getattr(conversation, field.attname) != (cached.pk if cached else None):
            field.delete_cached_value(conversation)
    return conversation


def conversation_rev_bump(conversation: Conversation) -> int:
    """Give the next snapshot of a conversation its revision. Call with the row locked
    (every builder of conversation.updated does): the lock orders the bumps as it orders
    the states, so a higher rev is always a newer state, whichever process sends it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Conversation._meta.db_table} SET rev = rev + 1 WHERE id = %s RETURNING rev",
            [conversation.pk],
        )
        conversation.rev = cursor.fetchone()[0]
    return conversation.rev


def conversation_publish(*, conversation: Conversation, to_agents: bool = True) -> None:
    """Queue a conversation.updated frame to its participants (and the agents' lobby)."""
    conversation_rev_bump(conversation)
    participants = list(
        Participant.objects.filter(conversation_id=conversation.pk).select_related(
            "customer", "user"
        )
    )
    frame = events.frame(
        events.CONVERSATION_UPDATED,
        conversation=conversation_payload(conversation, participants),
    )
    groups = recipients.conversation_groups(participants, lobby=to_agents)
    realtime.publish_on_commit(groups, frame)


def conversation_transition(
    *,
    conversation: Conversation,
    to_status: str,
    reason: str,
    actor: str,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Conversation:
    """Change status on a row the caller has locked, and record it on the timeline."""
    from_status = conversation.status
    conversation.status = to_status
    for name, value in fields.items():
        setattr(conversation, name, value)
    conversation.save(update_fields=["status", "updated_at", *fields.keys()])
    ConversationEvent.objects.create(
        conversation=conversation,
        type="status_changed",
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        actor=actor,
        data=data or {},
    )
    if to_status == Conversation.Status.ASSIGNED:
        hooks.emit(
            conversation=conversation,
            event=events.HOOK_CONVERSATION_ASSIGNED,
            agent=hooks.agent_payload(conversation.assignee),
        )
    elif to_status == Conversation.Status.RESOLVED:
        hooks.emit(
            conversation=conversation,
            event=events.HOOK_CONVERSATION_RESOLVED,
            from_status=from_status,
            reason=reason,
        )
    return conversation


def event_record(
    *,
    conversation: Conversation,
    type: str,
    reason: str = "",
    actor: str = "",
    data: dict[str, Any] | None = None,
) -> ConversationEvent:
    record = ConversationEvent.objects.create(
        conversation=conversation, type=type, reason=reason, actor=actor, data=data or {}
    )
    _timeline_hook(conversation, type, data or {})
    return record


def _timeline_hook(conversation: Conversation, type: str, data: dict[str, Any]) -> None:
    """The timeline entries that are integration events too (one place, whoever records)."""
    if type == "created":
        hooks.emit(conversation=conversation, event=events.HOOK_CONVERSATION_CREATED)
    elif type == "routing.transfer":
        hooks.emit(
            conversation=conversation,
            event=events.HOOK_CONVERSATION_TRANSFERRED,
            from_agent=data.get("from"),
            to_agent=data.get("to_agent"),
            to_queue=data.get("to_queue"),
        )
    elif type == "csat.submitted":
        hooks.emit(
            conversation=conversation,
            event=events.HOOK_CSAT_SUBMITTED,
            score=data.get("score"),
            source=data.get("source", ""),
        )


@transaction.atomic(savepoint=False)  # no savepoint round trips inside an action
def conversation_open(
    *,
    actor: Actor,
    language: str | None = None,
    subject: str = "",
    visit: dict | None = None,
    started_by: Actor | None = None,
) -> tuple[Conversation, bool]:
    """Return the customer's open conversation (locked), or create one in the bot stage.
    ``started_by``: who started it for the customer (an API key, a supervisor), named on
    the timeline's ``created`` entry instead of the customer.

    Idempotent: a widget that retries, or two tabs starting at once, get the same
    conversation, because the customer row is locked while we look. What happens next
    (a bot greets it, or routing queues it) is the caller's: actions.conversation_start.
    """
    if actor.kind != "customer":
        raise PermissionDenied("Only a customer starts a conversation.")
    # Checked before the lookup: a start that finds its conversation open must refuse a
    # bad field all the same, or what a client may send depends on what it already has.
    language = clean_locale(language, field="language")
    subject = clean_subject(subject)
    # The customer's row only, and FOR NO KEY UPDATE: a start that retried, or a second
    # tab, waits here, then for the conversation's lock. FOR UPDATE of the joined site row
    # serialised every start of a site and, with the plain FOR UPDATE, blocked the foreign
    # key checks (FOR KEY SHARE) of transactions that hold the conversation's lock and
    # write a row naming this customer: a deadlock under load (bench/soak.py found it).
    customer = (
        Customer.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site")
        .get(pk=actor.customer.pk)
    )
    current = (
        Conversation.objects.filter(customer=customer, status__in=Conversation.OPEN_STATUSES)
        .order_by("-id")
        .first()
    )
    if current is not None:
        return conversation_lock(current.pk), False
    language = language or customer.locale
    conversation = Conversation.objects.create(
        site=customer.site,
        customer=customer,
        status=Conversation.Status.BOT,
        language=language,
        subject=subject,
        visit=visit or {},
    )
    Participant.objects.create(
        conversation=conversation,
        role=Participant.Role.CUSTOMER,
        customer=customer,
        language=language,
    )
    by = started_by or actor
    via = {"customer": "widget", "service": "api", "agent": "agent"}[by.kind]
    event_record(conversation=conversation, type="created", actor=by.label, reason=via)
    return conversation_lock(conversation.pk), True


def conversation_language_follow(*, customer_id: int, language: str) -> list[int]:
    """The customer's widget now reads ``language`` (Parley.setLocale, or a page in another
    language: its visitor session reported a new locale): their open conversations follow,
    so the bot's next texts, the translations made for the customer and the routing read
    the language the customer now sees. Returns the ids of the conversations it changed.

    A conversation whose language the pipeline settled follows too: the customer's own
    choice of what to read is newer than what their messages looked like. Each
    conversation in its own transaction with only its row locked, so this never waits on
    the customer's row while a bot step that holds the conversation waits on it.
    """
    language = clean_locale(language)
    if not language:
        return []
    changed = []
    open_ids = Conversation.objects.filter(
        customer_id=customer_id, status__in=Conversation.OPEN_STATUSES
    ).values_list("pk", flat=True)
    for conversation_id in list(open_ids):
        with transaction.atomic():
            conversation = conversation_lock(conversation_id)
            previous = conversation.language
            if conversation.status not in Conversation.OPEN_STATUSES or previous == language:
                continue
            conversation.language = language
            conversation.save(update_fields=["language", "updated_at"])
            Participant.objects.filter(
                conversation_id=conversation_id, role=Participant.Role.CUSTOMER
            ).update(language=language)
            event_record(
                conversation=conversation,
                type="language.changed",
                reason=f"the customer's widget switched to {language}",
                actor=f"customer:{customer_id}",
                data={"language": language, "previous": previous},
            )
            conversation_publish(conversation=conversation)
            changed.append(conversation_id)
    return changed
