"""A customer's or an agent's text message in one PostgreSQL call.

Through the ORM, a send was eight or nine statements (the lock, the participants, the
client_msg_id check, the insert, two updates, BEGIN and COMMIT), and compiling them cost
the sender's process more CPU than the database spent running them (docs/benchmarks.md,
issue 10 item 5). Here the statements between BEGIN and COMMIT are one call of
parley_message_send (chat/sql/message_send.sql, installed by chat/dbfunctions.py) and
its answer is read back into the same instances the ORM path builds; what follows the
insert (frames, the pipeline's queue, hooks) is messages.message_created, for both.

The ORM path (lifecycle.message_post) stays the only path on SQLite and takes every case
this one hands back: attachments, a body the word lists match (its masking, flags and
blocking stay in Python), and whatever the function answers "fallback" to (no such
conversation, not a participant, a closed conversation), so every error and the reopen
are raised or done by the same code as before.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import ProgrammingError, connection
from django.utils import timezone

from chat.actors import Actor
from chat.dbrows import from_json
from chat.models import Conversation, Customer, Message, Participant, Site
from chat.pipeline import conf
from chat.pipeline.moderation import matches_any
from chat.services import moderation
from chat.services.fanout import viewers_of
from chat.services.messages import message_created

SEND_CALL = "SELECT parley_message_send(%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
BIGINT = 1 << 63


def server_sends() -> bool:
    """Whether a send may be one call of parley_message_send (chat/sql/)."""
    return connection.vendor == "postgresql" and settings.PARLEY["SERVER_SENDS"]


def message_store_on_server(
    *, actor: Actor, conversation_id: Any, body: str, client_msg_id: str, choice: str | None
) -> tuple[Message, bool, Conversation] | None:
    """Store a cleaned text message in one call, inside the caller's transaction: (message,
    created, the locked conversation), or None when the ORM path must answer (nothing was
    written then; the conversation may be locked)."""
    if actor.kind == "customer":
        customer_id, user_id = actor.customer.pk, None
    elif actor.kind == "agent":
        customer_id, user_id = None, actor.user.pk
    else:
        return None
    # Whatever the ORM path would make of an odd id (a string, out of range) it answers.
    if type(conversation_id) is not int or not -BIGINT <= conversation_id < BIGINT:
        return None
    moderate = conf.enabled()
    if moderate and matches_any(body):
        return None  # masked, flagged or blocked: moderation.message_moderate decides
    data = json.dumps({"choice": choice} if choice else {})
    state = moderation.initial_pipeline_state(Message.Kind.TEXT)
    params = [conversation_id, customer_id, user_id, client_msg_id, body, data, moderate,
              state, timezone.now()]  # fmt: skip
    try:
        with connection.cursor() as cursor:
            cursor.execute(SEND_CALL, params)
            raw = cursor.fetchone()[0]
    except (psycopg.errors.UndefinedFunction, ProgrammingError) as exc:
        if "parley_message_send" not in str(exc):
            raise
        raise ImproperlyConfigured(
            "The chat SQL is not installed: run `manage.py migrate` or "
            "`manage.py install_chat_sql` (or set SERVER_SENDS=false)."
        ) from exc
    result = json.loads(raw) if isinstance(raw, str) else raw
    outcome = result["outcome"]
    if outcome == "fallback":
        return None
    message = from_json(Message, result["message"])
    if outcome == "existing":
        # As the ORM's retry: the stored row and nothing else (the caller returns at once).
        return message, False, from_json(Conversation, result["conversation"])
    conversation = _conversation(result)
    participants = [_participant(row) for row in result["participants"]]
    # The assignee is (almost always) an active participant, read with their profile: the
    # same user, so the hooks' payload names them (chat.names) without a query.
    for p in participants:
        if conversation.assignee_id is not None and p.user_id == conversation.assignee_id:
            conversation.assignee = p.user
    audience = viewers_of(participants, conversation)
    sender = next(p for p, _group, _viewer in audience if p.pk == result["sender"])
    # As Message.objects.create leaves them: the instances it was given.
    message.conversation = conversation
    message.sender = sender
    message_created(message=message, conversation=conversation, sender=sender, audience=audience)
    return message, True, conversation


def _conversation(result: dict[str, Any]) -> Conversation:
    """The locked row with what conversation_lock selects with it."""
    conversation = from_json(Conversation, result["conversation"])
    conversation.site = from_json(Site, result["site"])
    conversation.customer = from_json(Customer, result["customer"])
    queue = result["queue"]
    conversation.queue = from_json(Conversation.queue.field.related_model, queue) if queue else None
    assignee = result["assignee"]
    conversation.assignee = from_json(get_user_model(), assignee) if assignee else None
    return conversation


def _participant(row: dict[str, Any]) -> Participant:
    """A participant as fanout.viewers selects it: with its customer, user and profile."""
    p = from_json(Participant, row["p"])
    if row["customer"] is not None:
        p.customer = from_json(Customer, row["customer"])
    elif p.customer_id is None:
        p.customer = None
    if row["user"] is not None:
        User = get_user_model()
        user = from_json(User, row["user"])
        rel = User._meta.get_field("agent_profile")
        profile = from_json(rel.related_model, row["profile"]) if row["profile"] else None
        rel.set_cached_value(user, profile)  # None: "no profile", without a query
        p.user = user
    elif p.user_id is None:
        p.user = None
    return p
