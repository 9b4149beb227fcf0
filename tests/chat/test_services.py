from __future__ import annotations

import pytest
from django.core import signing

from actions import conversations as conversation_actions
from chat import selectors, services
from chat.actors import Actor
from chat.exceptions import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from chat.models import ApiKey, Conversation, ConversationEvent, Customer, Message, Participant
from chat.recipients import AGENTS_GROUP, customer_group, user_group
from routing.services import conversation_assign
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def start(customer: Customer) -> Conversation:
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    return conversation


def assigned_pair():
    customer = make_customer()
    agent = make_agent()
    conversation = start(customer)
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    return customer, agent, Conversation.objects.get(pk=conversation.pk)


def send(actor: Actor, conversation: Conversation, body: str = "hello", cid: str = "c1"):
    return conversation_actions.message_send(
        actor=actor, conversation_id=conversation.pk, body=body, client_msg_id=cid
    )


# --- visitor sessions ---------------------------------------------------------------------
class TestVisitorSession:
    def test_unknown_site(self):
        with pytest.raises(NotFound) as exc:
            services.visitor_session_create(site_key="nope", origin=None)
        assert exc.value.code == "site_not_found"

    def test_origin_checked_only_when_site_lists_origins(self):
        open_site = make_site()
        services.visitor_session_create(site_key=open_site.key, origin="https://any.example")
        shop = make_site(allowed_origins=["https://shop.example"])
        services.visitor_session_create(site_key=shop.key, origin="https://shop.example/")
        with pytest.raises(PermissionDenied) as exc:
            services.visitor_session_create(site_key=shop.key, origin="https://evil.example")
        assert exc.value.code == "origin_not_allowed"
        with pytest.raises(PermissionDenied):
            services.visitor_session_create(site_key=shop.key, origin=None)

    def test_new_visitor_gets_a_token_that_resolves_to_it(self):
        site = make_site()
        customer, token = services.visitor_session_create(
            site_key=site.key, origin=None, name="Zoé", email="z@example.com", locale="fr_CA"
        )
        assert selectors.customer_get_from_token(token=token) == customer
        assert (customer.name, customer.email, customer.locale) == ("Zoé", "z@example.com", "fr-ca")
        assert customer.last_seen_at is not None

    @pytest.mark.parametrize(
        "tag, stored",
        [("zh-Hant-TW", "zh-hant-tw"), ("es-419", "es-419"), ("sr_Latn", "sr-latn"), ("de", "de")],
    )
    def test_a_locale_is_any_short_bcp47_tag_a_browser_sends(self, tag, stored):
        site = make_site()
        customer, _ = services.visitor_session_create(site_key=site.key, origin=None, locale=tag)
        assert customer.locale == stored

    @pytest.mark.parametrize("tag", ["x", "english", "zh-Hant-TW-extra", "fr CA", "e1", "a" * 17])
    def test_a_locale_that_is_no_language_tag_is_refused(self, tag):
        site = make_site()
        with pytest.raises(ValidationError) as caught:
            services.visitor_session_create(site_key=site.key, origin=None, locale=tag)
        assert caught.value.field == "locale"

    def test_token_resumes_the_same_visitor(self):
        site = make_site()
        customer, token = services.visitor_session_create(site_key=site.key, origin=None)
        again, token2 = services.visitor_session_create(site_key=site.key, origin=None, token=token)
        assert again.pk == customer.pk
        assert selectors.customer_get_from_token(token=token2) == customer

    def test_foreign_or_broken_token_starts_a_new_visitor(self):
        site, other = make_site(), make_site()
        foreign, token = services.visitor_session_create(site_key=other.key, origin=None)
        fresh, _ = services.visitor_session_create(site_key=site.key, origin=None, token=token)
        assert fresh.pk != foreign.pk and fresh.site == site
        fresh2, _ = services.visitor_session_create(site_key=site.key, origin=None, token="junk")
        assert fresh2.pk not in (fresh.pk, foreign.pk)

    def test_verified_identity_links_to_one_customer(self):
        site = make_site()
        sig = services.identity_hash(site=site, external_id="u-42")
        first, _ = services.visitor_session_create(
            site_key=site.key, origin=None, external_id="u-42", user_hash=sig
        )
        assert first.identity_verified and first.external_id == "u-42"
        # Another browser, no token: same customer.
        second, _ = services.visitor_session_create(
            site_key=site.key, origin=None, external_id="u-42", user_hash=sig
        )
        assert second.pk == first.pk

    def test_anonymous_visitor_who_logs_in_keeps_their_record(self):
        site = make_site()
        anon, token = services.visitor_session_create(site_key=site.key, origin=None)
        sig = services.identity_hash(site=site, external_id="u-7")
        known, _ = services.visitor_session_create(
            site_key=site.key, origin=None, token=token, external_id="u-7", user_hash=sig
        )
        assert known.pk == anon.pk and known.external_id == "u-7" and known.identity_verified

    def test_other_identified_user_on_same_browser_gets_own_record(self):
        site = make_site()
        sig_a = services.identity_hash(site=site, external_id="a")
        a, token = services.visitor_session_create(
            site_key=site.key, origin=None, external_id="a", user_hash=sig_a
        )
        sig_b = services.identity_hash(site=site, external_id="b")
        b, _ = services.visitor_session_create(
            site_key=site.key, origin=None, token=token, external_id="b", user_hash=sig_b
        )
        assert b.pk != a.pk and b.external_id == "b"

    def test_an_identified_customers_token_on_a_page_naming_nobody_starts_a_new_visitor(self):
        # Logged out (or the next person at a shared computer): the stored token must not
        # open the identified customer's record, nor their conversations.
        site = make_site()
        sig = services.identity_hash(site=site, external_id="u-42")
        known, token = services.visitor_session_create(
            site_key=site.key, origin=None, external_id="u-42", user_hash=sig
        )
        anon, anon_token = services.visitor_session_create(
            site_key=site.key, origin=None, token=token
        )
        assert anon.pk != known.pk and anon.external_id is None and not anon.identity_verified
        # That anonymous visitor's own token resumes it; logging in again finds u-42.
        again, _ = services.visitor_session_create(site_key=site.key, origin=None, token=anon_token)
        assert again.pk == anon.pk
        back, _ = services.visitor_session_create(
            site_key=site.key, origin=None, token=anon_token, external_id="u-42", user_hash=sig
        )
        assert back.pk == known.pk

    def test_bad_identity_signature_is_refused(self):
        site = make_site()
        with pytest.raises(AuthenticationFailed) as exc:
            services.visitor_session_create(
                site_key=site.key, origin=None, external_id="u-1", user_hash="forged"
            )
        assert exc.value.code == "identity_invalid"
        with pytest.raises(AuthenticationFailed):
            services.visitor_session_create(site_key=site.key, origin=None, external_id="u-1")
        assert not Customer.objects.filter(external_id="u-1").exists()

    def test_site_requiring_identity_refuses_anonymous(self):
        site = make_site(require_identity=True)
        with pytest.raises(AuthenticationFailed) as exc:
            services.visitor_session_create(site_key=site.key, origin=None)
        assert exc.value.code == "identity_required"

    def test_bad_locale(self):
        site = make_site()
        with pytest.raises(ValidationError):
            services.visitor_session_create(site_key=site.key, origin=None, locale="<script>")

    def test_token_errors(self, settings):
        customer = make_customer()
        token = services.visitor_token_issue(customer=customer)
        for bad in ("", None, 42, token + "x"):
            with pytest.raises(AuthenticationFailed):
                selectors.customer_get_from_token(token=bad)
        settings.PARLEY = {**settings.PARLEY, "VISITOR_TOKEN_MAX_AGE": -1}
        with pytest.raises(AuthenticationFailed) as exc:
            selectors.customer_get_from_token(token=token)
        assert exc.value.code == "token_expired"

    def test_token_of_deleted_customer(self):
        token = signing.dumps({"c": 999999, "s": 1}, salt=selectors.VISITOR_TOKEN_SALT)
        with pytest.raises(AuthenticationFailed):
            selectors.customer_get_from_token(token=token)


# --- conversations ------------------------------------------------------------------------
class TestConversationStart:
    def test_opens_queues_and_records_the_timeline(self, on_commit, published):
        customer = make_customer()
        published.listen(customer_group(customer.pk), AGENTS_GROUP)
        with on_commit(execute=True):
            conversation, created = conversation_actions.conversation_start(
                actor=customer_actor(customer), language="fr"
            )
        assert created
        assert conversation.status == Conversation.Status.QUEUED
        assert conversation.queue == customer.site.default_queue
        assert conversation.language == "fr"
        assert list(conversation.participants.values_list("role", flat=True)) == ["customer"]
        events = list(conversation.events.values_list("type", "to_status"))
        assert events == [("created", ""), ("status_changed", "queued"), ("routing.decision", "")]
        frames = published.frames(customer_group(customer.pk))
        assert [f["type"] for f in frames] == ["conversation.updated"]
        assert frames[0]["conversation"]["status"] == "queued"
        assert published.types(AGENTS_GROUP) == ["conversation.updated"]

    def test_is_idempotent_while_open(self):
        customer = make_customer()
        first = start(customer)
        again, created = conversation_actions.conversation_start(actor=customer_actor(customer))
        assert again.pk == first.pk and not created

    def test_new_conversation_after_resolution(self):
        customer = make_customer()
        first = start(customer)
        conversation_actions.conversation_resolve(
            actor=customer_actor(customer), conversation_id=first.pk
        )
        assert start(customer).pk != first.pk

    def test_only_customers_start(self):
        with pytest.raises(PermissionDenied):
            conversation_actions.conversation_start(actor=agent_actor(make_agent()))

    def test_language_defaults_to_the_customer_locale(self):
        customer = make_customer(locale="it")
        assert start(customer).language == "it"


class TestMessageSend:
    def test_assigns_consecutive_seqs_and_publishes(self, on_commit, published):
        customer, agent, conversation = assigned_pair()
        start_seq = conversation.last_seq  # the "joined" event line
        published.listen(customer_group(customer.pk), user_group(agent.pk), AGENTS_GROUP)
        with on_commit(execute=True):
            m1, created1 = send(customer_actor(customer), conversation, "hi", "c1")
            m2, created2 = send(agent_actor(agent), conversation, "hello!", "a1")
        assert created1 and created2
        assert (m1.seq, m2.seq) == (start_seq + 1, start_seq + 2)
        conversation.refresh_from_db()
        assert conversation.last_seq == m2.seq and conversation.last_message_at == m2.created_at
        for group in (customer_group(customer.pk), user_group(agent.pk)):
            frames = published.frames(group)
            assert [f["message"]["seq"] for f in frames] == [m1.seq, m2.seq]
        # Assigned conversations are not broadcast to every agent.
        assert published.frames(AGENTS_GROUP) == []
        sender = Participant.objects.get(pk=m1.sender_id)
        assert sender.read_seq == m1.seq and sender.delivered_seq == m1.seq

    def test_waiting_conversation_is_previewed_to_agents(self, on_commit, published):
        customer = make_customer()
        conversation = start(customer)
        published.listen(AGENTS_GROUP)
        with on_commit(execute=True):
            send(customer_actor(customer), conversation)
        assert published.types(AGENTS_GROUP) == ["message.new"]

    def test_retry_returns_the_same_message(self, on_commit, published):
        customer = make_customer()
        conversation = start(customer)
        first, created = send(customer_actor(customer), conversation, "hi", "same")
        published.listen(customer_group(customer.pk))
        with on_commit(execute=True):
            again, created_again = send(customer_actor(customer), conversation, "hi", "same")
        assert created and not created_again
        assert again.pk == first.pk and again.seq == first.seq
        assert Message.objects.filter(conversation=conversation).count() == 1
        assert published.frames(customer_group(customer.pk)) == []

    def test_same_client_msg_id_from_another_sender_is_another_message(self):
        customer, agent, conversation = assigned_pair()
        m1, _ = send(customer_actor(customer), conversation, "hi", "x")
        m2, created = send(agent_actor(agent), conversation, "hi", "x")
        assert created and m1.pk != m2.pk

    @pytest.mark.parametrize(
        "body,code",
        [
            (None, "invalid_field"),
            (12, "invalid_field"),
            ("", "invalid_field"),
            ("   ", "invalid_field"),
            ("x" * 4001, "too_large"),
        ],
    )
    def test_bad_bodies(self, body, code):
        customer = make_customer()
        conversation = start(customer)
        with pytest.raises(ValidationError) as exc:
            send(customer_actor(customer), conversation, body)
        assert exc.value.code == code and exc.value.field == "body"
        assert not Message.objects.filter(conversation=conversation).exists()

    @pytest.mark.parametrize("cid", [None, "", "has space", "x" * 65, 5, "<b>"])
    def test_bad_client_msg_ids(self, cid):
        customer = make_customer()
        conversation = start(customer)
        with pytest.raises(ValidationError) as exc:
            send(customer_actor(customer), conversation, "hi", cid)
        assert exc.value.field == "client_msg_id"

    def test_body_is_trimmed(self):
        customer = make_customer()
        message, _ = send(customer_actor(customer), start(customer), "  hi  ")
        assert message.body == "hi"

    def test_other_customer_cannot_see_or_write(self):
        customer = make_customer()
        conversation = start(customer)
        intruder = make_customer(site=customer.site)
        with pytest.raises(NotFound):
            send(customer_actor(intruder), conversation)

    def test_agent_must_be_a_participant_to_write(self):
        customer = make_customer()
        conversation = start(customer)  # waiting: agents may read it
        with pytest.raises(PermissionDenied):
            send(agent_actor(make_agent()), conversation)

    def test_agent_cannot_see_someone_elses_conversation(self):
        _, _, conversation = assigned_pair()
        with pytest.raises(NotFound):
            send(agent_actor(make_agent()), conversation)

    def test_missing_conversation(self):
        customer = make_customer()
        with pytest.raises(NotFound):
            conversation_actions.message_send(
                actor=customer_actor(customer), conversation_id=10**9, body="hi", client_msg_id="c"
            )

    def test_customer_writing_into_a_resolved_conversation_reopens_it(self):
        customer, agent, conversation = assigned_pair()
        conversation_actions.conversation_resolve(
            actor=agent_actor(agent), conversation_id=conversation.pk
        )
        _message, created = send(customer_actor(customer), conversation, "one more thing", "late")
        conversation.refresh_from_db()
        assert created and conversation.status == Conversation.Status.QUEUED
        assert conversation.assignee is None and conversation.resolved_at is None
        statuses = list(
            conversation.events.filter(type="status_changed").values_list("to_status", flat=True)
        )
        assert statuses[-2:] == ["reopened", "queued"]
        bodies = list(conversation.messages.values_list("body", flat=True))
        assert bodies[-2:] == ["Conversation reopened.", "one more thing"]

    def test_agent_cannot_write_into_a_resolved_conversation(self):
        _customer, agent, conversation = assigned_pair()
        conversation_actions.conversation_resolve(
            actor=agent_actor(agent), conversation_id=conversation.pk
        )
        with pytest.raises(Conflict) as exc:
            send(agent_actor(agent), conversation)
        assert exc.value.code == "conversation_closed"

    def test_retry_after_resolution_still_returns_the_original(self):
        _customer, agent, conversation = assigned_pair()
        first, _ = send(agent_actor(agent), conversation, "bye", "a-last")
        conversation_actions.conversation_resolve(
            actor=agent_actor(agent), conversation_id=conversation.pk
        )
        again, created = send(agent_actor(agent), conversation, "bye", "a-last")
        assert not created and again.pk == first.pk


class TestSystemMessages:
    def test_service_posts_idempotently(self, on_commit, published):
        customer = make_customer()
        conversation = start(customer)
        key, raw = services.api_key_create(name="orders")
        assert selectors.api_key_get(raw_key=raw) == key
        published.listen(customer_group(customer.pk))
        actor = Actor.for_service(key)
        with on_commit(execute=True):
            m, created = services.system_message_post(
                actor=actor,
                conversation_id=conversation.pk,
                body="Order 1234 shipped",
                client_msg_id="evt-1",
                data={"order": 1234},
            )
        again, created_again = services.system_message_post(
            actor=actor,
            conversation_id=conversation.pk,
            body="Order 1234 shipped",
            client_msg_id="evt-1",
        )
        assert created and not created_again and again.pk == m.pk
        assert m.kind == "system" and m.data == {"order": 1234, "source": "orders"}
        assert m.sender.role == "system"
        assert published.types(customer_group(customer.pk)) == ["message.new"]
        # last_used_at is stored by the API's authentication, coalesced (tests/api/test_keys.py).

    def test_without_client_msg_id_each_post_is_new(self):
        conversation = start(make_customer())
        key, _ = services.api_key_create(name="crm")
        for _ in range(2):
            services.system_message_post(
                actor=Actor.for_service(key), conversation_id=conversation.pk, body="note"
            )
        assert conversation.messages.filter(kind="system").count() == 2

    def test_only_services_and_only_their_site(self):
        customer = make_customer()
        conversation = start(customer)
        with pytest.raises(PermissionDenied):
            services.system_message_post(
                actor=customer_actor(customer), conversation_id=conversation.pk, body="x"
            )
        key, _ = services.api_key_create(name="other", site=make_site())
        with pytest.raises(NotFound):
            services.system_message_post(
                actor=Actor.for_service(key), conversation_id=conversation.pk, body="x"
            )

    def test_bad_data(self):
        conversation = start(make_customer())
        key, _ = services.api_key_create(name="crm")
        with pytest.raises(ValidationError):
            services.system_message_post(
                actor=Actor.for_service(key), conversation_id=conversation.pk, body="x", data=[1]
            )

    def test_inactive_or_unknown_key(self):
        key, raw = services.api_key_create(name="old")
        ApiKey.objects.filter(pk=key.pk).update(is_active=False)
        for candidate in (raw, "pk_unknown"):
            with pytest.raises(AuthenticationFailed):
                selectors.api_key_get(raw_key=candidate)


class TestReceipts:
    def test_cursors_move_forward_only_and_are_clamped(self, on_commit, published):
        customer, agent, conversation = assigned_pair()
        for i in range(3):
            send(agent_actor(agent), conversation, f"m{i}", f"a{i}")
        conversation.refresh_from_db()
        top = conversation.last_seq
        published.listen(user_group(agent.pk))
        actor = customer_actor(customer)
        with on_commit(execute=True):
            p = services.receipt_update(
                actor=actor, conversation_id=conversation.pk, delivered_seq=top - 1
            )
        assert (p.delivered_seq, p.read_seq) == (top - 1, 0)
        with on_commit(execute=True):
            p = services.receipt_update(
                actor=actor, conversation_id=conversation.pk, read_seq=top + 50
            )
        assert (p.delivered_seq, p.read_seq) == (top, top)  # clamped; read implies delivered
        with on_commit(execute=True):
            p = services.receipt_update(
                actor=actor, conversation_id=conversation.pk, delivered_seq=1, read_seq=1
            )
        assert (p.delivered_seq, p.read_seq) == (top, top)  # never backwards
        frames = published.frames(user_group(agent.pk))
        # The third update changed nothing and published nothing.
        assert [(f["delivered_seq"], f["read_seq"]) for f in frames] == [(top - 1, 0), (top, top)]
        assert frames[0]["role"] == "customer"

    @pytest.mark.parametrize(
        "kwargs",
        [{}, {"delivered_seq": -1}, {"read_seq": "3"}, {"read_seq": True}, {"delivered_seq": 1.5}],
    )
    def test_bad_input(self, kwargs):
        customer = make_customer()
        conversation = start(customer)
        with pytest.raises(ValidationError):
            services.receipt_update(
                actor=customer_actor(customer), conversation_id=conversation.pk, **kwargs
            )

    def test_non_participant(self):
        conversation = start(make_customer())
        with pytest.raises(PermissionDenied):
            services.receipt_update(
                actor=agent_actor(make_agent()), conversation_id=conversation.pk, read_seq=1
            )


class TestTyping:
    def test_target_and_frame(self):
        customer, agent, conversation = assigned_pair()
        target = services.typing_target(actor=agent_actor(agent), conversation_id=conversation.pk)
        # The other participants only: the typer's own tabs show nothing for it.
        assert set(target["groups"]) == {customer_group(customer.pk)}
        frame = services.typing_frame(conversation_id=conversation.pk, target=target, state="start")
        assert frame["role"] == "agent" and frame["state"] == "start"
        with pytest.raises(ValidationError):
            services.typing_frame(conversation_id=conversation.pk, target=target, state="maybe")

    def test_non_participant_cannot_type(self):
        conversation = start(make_customer())
        with pytest.raises(PermissionDenied):
            services.typing_target(actor=agent_actor(make_agent()), conversation_id=conversation.pk)


class TestResolveReopen:
    def test_agent_resolves_with_timeline_and_transcript_line(self, on_commit, published):
        customer, agent, conversation = assigned_pair()
        published.listen(customer_group(customer.pk))
        with on_commit(execute=True):
            resolved = conversation_actions.conversation_resolve(
                actor=agent_actor(agent), conversation_id=conversation.pk
            )
        assert resolved.status == "resolved" and resolved.resolved_at
        assert resolved.messages.last().kind == "event"
        assert published.types(customer_group(customer.pk)) == [
            "message.new",
            "conversation.updated",
        ]
        event = resolved.events.filter(type="status_changed").last()
        assert (event.from_status, event.to_status) == ("assigned", "resolved")
        # Idempotent.
        again = conversation_actions.conversation_resolve(
            actor=agent_actor(agent), conversation_id=conversation.pk
        )
        assert again.status == "resolved"
        assert resolved.events.filter(to_status="resolved").count() == 1

    def test_customer_and_supervisor_may_resolve_outsider_may_not(self, django_user_model):
        customer = make_customer()
        conversation = start(customer)
        with pytest.raises(PermissionDenied):
            conversation_actions.conversation_resolve(
                actor=agent_actor(make_agent()), conversation_id=conversation.pk
            )
        conversation_actions.conversation_resolve(
            actor=customer_actor(customer), conversation_id=conversation.pk
        )
        other = start(make_customer())
        boss = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
        assert (
            conversation_actions.conversation_resolve(
                actor=agent_actor(boss), conversation_id=other.pk
            ).status
            == "resolved"
        )

    def test_abandoned_cannot_be_resolved(self):
        customer = make_customer()
        conversation = start(customer)
        Conversation.objects.filter(pk=conversation.pk).update(status="abandoned")
        with pytest.raises(Conflict):
            conversation_actions.conversation_resolve(
                actor=customer_actor(customer), conversation_id=conversation.pk
            )

    def test_reopen(self):
        _customer, agent, conversation = assigned_pair()
        with pytest.raises(Conflict):
            conversation_actions.conversation_reopen(
                actor=agent_actor(agent), conversation_id=conversation.pk
            )
        conversation_actions.conversation_resolve(
            actor=agent_actor(agent), conversation_id=conversation.pk
        )
        reopened = conversation_actions.conversation_reopen(
            actor=agent_actor(agent), conversation_id=conversation.pk
        )
        assert reopened.status == "queued"
        assert ConversationEvent.objects.filter(
            conversation=conversation, to_status="reopened"
        ).exists()


class TestSelectors:
    def test_lists_are_scoped(self, django_user_model):
        c1, c2 = make_customer(), make_customer()
        conv1, conv2 = start(c1), start(c2)
        agent = make_agent()
        conversation_assign(actor=agent_actor(agent), conversation_id=conv1.pk)
        ids = lambda actor: {c.pk for c in selectors.conversation_list_for_actor(actor=actor)}  # noqa: E731
        assert ids(customer_actor(c1)) == {conv1.pk}
        assert ids(agent_actor(agent)) == {conv1.pk, conv2.pk}  # theirs + the waiting room
        other_agent = make_agent()
        assert ids(agent_actor(other_agent)) == {conv2.pk}
        boss = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
        assert ids(agent_actor(boss)) >= {conv1.pk, conv2.pk}

    def test_user_is_agent(self, django_user_model):
        plain = django_user_model.objects.create_user("plain", password="pw")
        assert not selectors.user_is_agent(plain)
        assert selectors.user_is_agent(make_agent())
        assert not selectors.user_is_agent(None)

    def test_resume_page_and_events(self):
        customer, agent, conversation = assigned_pair()
        for i in range(5):
            send(customer_actor(customer), conversation, f"m{i}", f"c{i}")
        conversation.refresh_from_db()
        page = selectors.resume_page(
            actor=customer_actor(customer), conversation_id=conversation.pk, after_seq=0, limit=3
        )
        assert [m["seq"] for m in page["messages"]] == [1, 2, 3] and page["has_more"]
        page = selectors.resume_page(
            actor=customer_actor(customer), conversation_id=conversation.pk, after_seq=3, limit=100
        )
        assert page["messages"][-1]["seq"] == conversation.last_seq and not page["has_more"]
        events = selectors.conversation_events_for_actor(
            actor=agent_actor(agent), conversation_id=conversation.pk
        )
        assert [e.type for e in events][:2] == ["created", "status_changed"]
