"""Statements compiled once (chat/compiled.py) give what the plain querysets give: the
widget's token read and hello snapshot, on whichever database the suite runs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actions import conversations as conversation_actions
from chat import selectors, services
from chat.compiled import CompiledQuery
from chat.exceptions import NotFound
from chat.models import Customer, Message, MessageTranslation
from chat.payloads import conversation_payload
from chat.socket_reads import customer_conversation_payloads, resume_page, session_snapshot
from routing.services import conversation_assign
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def _orm_payloads(customer: Customer) -> list[dict]:
    """The hello's conversations as the plain querysets read them."""
    return [
        conversation_payload(c, list(c.participants.all()))
        for c in selectors.conversation_list_for_actor(actor=customer_actor(customer))
    ]


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _start(customer: Customer) -> int:
    conversation, _ = conversation_actions.conversation_start(
        actor=customer_actor(customer), subject="parity"
    )
    return conversation.pk


def test_the_snapshot_matches_the_orm_for_a_customer_with_several_conversations():
    customer, other = make_customer(name="Ada"), make_customer()
    agent, second = make_agent(), make_agent()
    resolved = _start(customer)
    conversation_assign(actor=agent_actor(agent), conversation_id=resolved)
    conversation_actions.conversation_resolve(
        actor=customer_actor(customer), conversation_id=resolved
    )
    open_one = _start(customer)
    conversation_assign(actor=agent_actor(second), conversation_id=open_one)
    conversation_actions.message_send(
        actor=customer_actor(customer), conversation_id=open_one, body="hi", client_msg_id="m1"
    )
    _start(other)  # not theirs

    payloads = customer_conversation_payloads(customer_id=customer.pk)
    assert sorted(p["id"] for p in payloads) == sorted([open_one, resolved])
    assert payloads == _orm_payloads(customer)
    assert all(p["participants"] for p in payloads)  # agents and the customer, with names
    assert session_snapshot(actor=customer_actor(customer))["conversations"] == payloads
    assert customer_conversation_payloads(customer_id=other.pk) == _orm_payloads(other)
    assert customer_conversation_payloads(customer_id=make_customer().pk) == []


def test_the_snapshot_runs_the_statements_django_would_write():
    customer = make_customer()
    conversation_assign(actor=agent_actor(make_agent()), conversation_id=_start(customer))
    with CaptureQueriesContext(connection) as orm:
        _orm_payloads(customer)
    with CaptureQueriesContext(connection) as compiled:
        customer_conversation_payloads(customer_id=customer.pk)
    assert len(compiled) == len(orm) == 2
    assert compiled[0]["sql"] == orm[0]["sql"]  # the conversations, the same text


def test_the_token_read_matches_the_orm():
    site = make_site()
    customer = make_customer(site=site, name="Lin")
    token = services.visitor_token_issue(customer=customer)
    found = selectors.customer_get_from_token(token=token)
    plain = Customer.objects.select_related("site").get(pk=customer.pk)
    assert _fields(found) == _fields(plain) and _fields(found.site) == _fields(plain.site)


def test_a_parameter_missing_from_the_sql_is_refused():
    ignores = CompiledQuery(lambda customer: Customer.objects.filter(pk=1), "customer")
    with pytest.raises(ValueError, match="customer"):
        ignores(customer=1)


def test_each_run_reads_its_own_rows():
    a, b = make_customer(name="A"), make_customer(name="B")
    by_id = CompiledQuery(lambda pk: Customer.objects.filter(pk=pk), "pk")
    assert [c.name for c in by_id(pk=a.pk)] == ["A"]
    assert [c.name for c in by_id(pk=b.pk)] == ["B"]
    assert by_id(pk=-1) == []


def test_a_resume_matches_the_orm(settings):
    settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, "TRANSLATION_ENGINE": "fake"}
    customer, agent = make_customer(), make_agent()
    conversation_id = _start(customer)
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation_id)
    for k in range(5):
        actor = customer_actor(customer) if k % 2 == 0 else agent_actor(agent)
        conversation_actions.message_send(
            actor=actor, conversation_id=conversation_id, body=f"m{k}", client_msg_id=f"c{k}"
        )
    for m in Message.objects.filter(conversation_id=conversation_id).order_by("seq")[1:3]:
        for language in ("fr", "de"):
            MessageTranslation.objects.create(
                message=m, language=language, source_language="en", state="done", body="x"
            )
    actor = customer_actor(customer)
    top = Message.objects.filter(conversation_id=conversation_id).count()
    pages, translated = 0, 0
    for after_seq in (0, 1, 2, top, top + 5):
        for limit in (2, 200):
            plain = selectors.resume_page(
                actor=actor, conversation_id=conversation_id, after_seq=after_seq, limit=limit
            )
            compiled = resume_page(
                actor=actor, conversation_id=conversation_id, after_seq=after_seq, limit=limit
            )
            assert compiled == plain
            pages += bool(plain["messages"])
            translated += sum(bool(m["translations"]) for m in plain["messages"])
    assert pages >= 6 and translated >= 4  # pages with messages, translated ones, empty ones
    agent_page = resume_page(
        actor=agent_actor(agent), conversation_id=conversation_id, after_seq=0, limit=200
    )  # an agent's: the plain selectors
    assert len(agent_page["messages"]) == top


def test_a_resume_of_someone_elses_conversation_is_not_found():
    mine, theirs = make_customer(), make_customer()
    _start(mine)
    other = _start(theirs)
    with pytest.raises(NotFound):
        resume_page(actor=customer_actor(mine), conversation_id=other, after_seq=0, limit=10)
    with pytest.raises(NotFound):
        resume_page(actor=customer_actor(mine), conversation_id=10**9, after_seq=0, limit=10)
