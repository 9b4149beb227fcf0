"""The send as one PostgreSQL call (parley_message_send, chat/sql/message_send.sql) against
the ORM path it replaces (lifecycle.message_post's statements, which SQLite always runs):
the same sends, both ways, in two worlds built alike, must store the same rows, return the
same values, raise the same errors and publish the same frames."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actions import conversations as conversation_actions
from chat.dbfunctions import SEND_SQL
from chat.exceptions import ParleyError
from chat.models import Conversation, ConversationEvent, Message, Participant
from chat.recipients import AGENTS_GROUP, customer_group, user_group, watch_group
from integrations.models import HookEvent
from routing.services import conversation_assign
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the send's server path exists on PostgreSQL only")


def world(*, moderate_agents: bool, agent_languages: list[str]) -> dict[str, Any]:
    """A site whose rules listen to message.created (so the hook's payload is built), a
    customer writing in French, an agent assigned to the conversation, an outsider agent
    and another customer of the same site."""
    site = make_site(
        moderate_agent_messages=moderate_agents,
        hook_events={"rules": ["message.created"]},
    )
    customer = make_customer(site=site, locale="fr", email="zoe@example.com")
    # Both worlds' agents are named alike (their usernames differ): the profile's display
    # name is the name everyone sees.
    agent = make_agent(languages=agent_languages)
    agent.agent_profile.display_name = "Ana"
    agent.agent_profile.save(update_fields=["display_name"])
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    return {
        "site": site,
        "customer": customer,
        "agent": agent,
        "outsider": make_agent(),
        "stranger": make_customer(site=site),
        "conversation": Conversation.objects.get(pk=conversation.pk),
    }


# (who, body, client_msg_id, choice): the steps both paths run, in this order.
STEPS = [
    ("customer", "Bonjour, ma commande n'est pas arrivée", "c1", None),
    ("customer", "another body, same id: a retry", "c1", None),
    ("agent", "Hello! Let me check that for you.", "a1", None),
    ("customer", "Oui", "c2", "yes"),
    ("customer", "quelle merde", "c3", None),  # the word lists match: masked
    ("agent", "this shit happens", "a2", None),  # masked only where agents are moderated
    ("agent", "Hello! again", "a1", None),
    ("outsider", "let me in", "o1", None),
    ("stranger", "hello?", "s1", None),
    ("customer", "   ", "c4", None),
    ("customer", "ok", "bad id!", None),
    ("agent", "x" * 5, "a3", None),
    ("resolve", None, None, None),
    ("agent", "one more thing", "a4", None),  # closed: refused
    ("customer", "Encore moi", "c5", None),  # closed: reopens
    ("outsider", "may I?", "o2", None),  # waiting: visible to them, yet not theirs
    ("customer", "Vous êtes là ?", "c6", None),  # waiting again: previewed to the lobby
    ("customer", "Vous êtes là ?", "c6", None),
]


def actor_of(w: dict[str, Any], who: str):
    if who in ("customer", "stranger"):
        return customer_actor(w[who])
    return agent_actor(w[who])


def run(w: dict[str, Any], on_commit, published) -> dict[str, Any]:
    conversation = w["conversation"]
    groups = {
        "customer": customer_group(w["customer"].pk),
        "agent": user_group(w["agent"].pk),
        "outsider": user_group(w["outsider"].pk),
        "lobby": AGENTS_GROUP,
        "watch": watch_group(conversation.pk),
    }
    published.listen(*groups.values())
    returned: list[Any] = []
    calls = 0
    for who, body, cid, choice in STEPS:
        with CaptureQueriesContext(connection) as ctx, on_commit(execute=True):
            try:
                if who == "resolve":
                    conversation_actions.conversation_resolve(
                        actor=agent_actor(w["agent"]), conversation_id=conversation.pk
                    )
                    returned.append("resolved")
                    continue
                message, created = conversation_actions.message_send(
                    actor=actor_of(w, who),
                    conversation_id=conversation.pk,
                    body=body,
                    client_msg_id=cid,
                    choice=choice,
                )
                returned.append(
                    (message.seq, created, message.client_msg_id, message.body,
                     message.recipient_body, message.moderation, message.data,
                     message.created_at == Message.objects.get(pk=message.pk).created_at)
                )  # fmt: skip
            except ParleyError as exc:
                returned.append((type(exc).__name__, exc.code, str(exc)))
        calls += sum("parley_message_send" in q["sql"] for q in ctx.captured_queries)
    messages = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    stamps = {m.created_at: f"at:{m.seq}" for m in messages}
    stamps.update({m.created_at.isoformat(): f"at:{m.seq}" for m in messages})
    ids = {m.pk: f"m{m.seq}" for m in messages}
    participants = {p.pk: p.role for p in Participant.objects.filter(conversation=conversation)}

    def norm_message(m: Message) -> dict[str, Any]:
        row = {f.attname: getattr(m, f.attname) for f in Message._meta.concrete_fields}
        row["id"] = ids[m.pk]
        row["conversation_id"] = "C"
        row["sender_id"] = participants[m.sender_id]
        row["created_at"] = stamps[m.created_at]
        row["pipeline_queued_at"] = m.pipeline_queued_at is not None  # a moment later on one
        return row

    def norm_frame(frame: dict[str, Any]) -> Any:
        if frame["type"] != "message.new":
            return frame["type"]  # built by the same code for both (the reopen is Python's)
        payload = dict(frame["message"])
        payload["id"] = ids[payload["id"]]
        payload["conversation"] = "C"
        payload["created_at"] = stamps[payload["created_at"]]
        payload["sender"] = {**payload["sender"], "participant": "P"}
        return {**frame, "message": payload}

    c = Conversation.objects.get(pk=conversation.pk)
    hook_bodies = []
    for event in HookEvent.objects.filter(conversation=conversation).order_by("id"):
        data = dict(event.body["data"])
        data["conversation"] = {
            **data["conversation"], "id": "C", "site": "S", "created_at": "T",
            "customer": {**data["conversation"]["customer"], "id": "U"},
            "assignee": data["conversation"]["assignee"] and "A",
        }  # fmt: skip
        data["message"] = {**data["message"], "id": ids[data["message"]["id"]], "created_at": "T"}
        hook_bodies.append((event.type, data))
    return {
        "calls": calls,
        "returned": returned,
        "messages": [norm_message(m) for m in messages],
        "conversation": (
            c.status,
            c.last_seq,
            c.rev,
            c.language,
            c.priority,
            stamps.get(c.last_message_at),
            stamps.get(c.awaiting_since, c.awaiting_since),
        ),
        "participants": sorted(
            (p.role, p.read_seq, p.delivered_seq, p.left_at is None, p.language)
            for p in Participant.objects.filter(conversation=conversation)
        ),
        "timeline": list(
            ConversationEvent.objects.filter(conversation=conversation)
            .order_by("id")
            .values_list("type", "from_status", "to_status", "reason")
        ),
        "hooks": hook_bodies,
        "frames": {
            name: [norm_frame(f) for f in published.frames(group)] for name, group in groups.items()
        },
    }


@pytest.mark.parametrize(
    ("pipeline", "moderate_agents", "agent_languages"),
    [(True, False, ["en"]), (True, True, ["fr", "en"]), (False, False, [])],
)
def test_the_same_sends_both_ways(
    settings, on_commit, published, pipeline, moderate_agents, agent_languages
):
    settings.PARLEY_PIPELINE = {**getattr(settings, "PARLEY_PIPELINE", {}), "ENABLED": pipeline}
    out = {}
    for server in (True, False):
        settings.PARLEY = {**settings.PARLEY, "SERVER_SENDS": server}
        w = world(moderate_agents=moderate_agents, agent_languages=agent_languages)
        out[server] = run(w, on_commit, published)
    on_server, in_python = out[True], out[False]
    # The server path ran for the plain sends and their retries, and only there.
    assert on_server["calls"] >= 8 and in_python["calls"] == 0
    for key in ("returned", "messages", "conversation", "participants", "timeline", "hooks"):
        assert on_server[key] == in_python[key], key
    for group, frames in in_python["frames"].items():
        assert on_server["frames"][group] == frames, group
    # The steps did what they say (a test that compares two empty lists cannot fail).
    kinds = [r[0] if isinstance(r[0], str) else "ok" for r in in_python["returned"]]
    assert kinds.count("ok") == 11
    assert {"PermissionDenied", "NotFound", "ValidationError", "Conflict"} <= set(kinds)
    assert "message.new" in [f["type"] for f in in_python["frames"]["lobby"] if isinstance(f, dict)]
    assert len(in_python["hooks"]) >= 8


def test_a_retry_of_a_stored_message_on_the_server_returns_it(on_commit):
    w = world(moderate_agents=False, agent_languages=["en"])
    actor, conversation = customer_actor(w["customer"]), w["conversation"]
    first, created = conversation_actions.message_send(
        actor=actor, conversation_id=conversation.pk, body="hi", client_msg_id="r1"
    )
    with CaptureQueriesContext(connection) as ctx:
        again, created_again = conversation_actions.message_send(
            actor=actor, conversation_id=conversation.pk, body="hi", client_msg_id="r1"
        )
    assert created and not created_again
    assert (again.pk, again.seq, again.created_at) == (first.pk, first.seq, first.created_at)
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert [sql.split("(")[0] for sql in statements] == ["SELECT parley_message_send"]


def test_the_installed_function_is_this_files():
    """post_migrate installed the file's SQL in the test database; the command checks and
    repairs it, and a missing function says how to install it."""
    assert SEND_SQL.is_current()
    call_command("install_chat_sql", "--check", stdout=io.StringIO())
    w = world(moderate_agents=False, agent_languages=["en"])
    with connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION {SEND_SQL.signature}")
    with pytest.raises(CommandError, match="missing"):
        call_command("install_chat_sql", "--check", stdout=io.StringIO())
    with pytest.raises(ImproperlyConfigured, match="install_chat_sql"):
        conversation_actions.message_send(
            actor=customer_actor(w["customer"]),
            conversation_id=w["conversation"].pk,
            body="hi",
            client_msg_id="x1",
        )
    call_command("install_chat_sql", stdout=io.StringIO())
    assert SEND_SQL.is_current()
    assert not SEND_SQL.install()  # current: nothing to do
