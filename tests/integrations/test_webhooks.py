"""Webhooks against a real receiver on loopback: the outbox written with the change, signed
deliveries, retries, timeouts, order per conversation, the log, replays, disabling."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks import Webhook

from chat.models import Site
from integrations import conf
from integrations.models import HookEvent, WebhookDelivery, WebhookEndpoint
from integrations.services import delivery
from integrations.services.endpoints import endpoint_save
from tests.supervision.test_metrics import scrape

pytestmark = pytest.mark.django_db
State = WebhookDelivery.State


def run_lane(conversation, endpoint) -> int:
    return delivery.lane_run(endpoint_id=endpoint.pk, lane=conversation.pk)


def make_due(**filters) -> None:
    WebhookDelivery.objects.filter(**filters).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_nobody_listening_costs_no_query_and_writes_nothing(site, start, send, endpoint):
    conversation = start()
    send(conversation, "warm up")  # first-send work (participants, caches) out of the count
    with CaptureQueriesContext(connection) as quiet:
        send(conversation, "one")
    # A webhook on another event: the send path still reads nothing more.
    endpoint(events=["conversation.resolved"])
    conversation.refresh_from_db()
    with CaptureQueriesContext(connection) as other:
        send(conversation, "two")
    assert len(other.captured_queries) == len(quiet.captured_queries)
    assert not HookEvent.objects.exists()
    # A subscriber: the event and its delivery, two inserts, and no read.
    endpoint(events=["message.created"])
    conversation.refresh_from_db()
    with CaptureQueriesContext(connection) as listened:
        send(conversation, "three")
    assert len(listened.captured_queries) == len(quiet.captured_queries) + 2
    ours = [
        q["sql"].split("(")[0] for q in listened.captured_queries if "integrations_" in q["sql"]
    ]
    assert ours == [
        'INSERT INTO "integrations_hookevent" ',
        'INSERT INTO "integrations_webhookdelivery" ',
    ]


def test_the_event_is_written_with_the_change_and_not_without_it(
    site, customer, start, send, endpoint
):
    hook = endpoint()
    conversation = start()
    with pytest.raises(RuntimeError), transaction.atomic():
        send(conversation, "rolled back")
        raise RuntimeError
    assert not HookEvent.objects.exists()
    message = send(conversation, "kept")
    event = HookEvent.objects.get()
    assert event.type == "message.created"
    assert event.body["data"]["message"]["id"] == message.pk
    assert event.body["data"]["conversation"]["id"] == conversation.pk
    assert WebhookDelivery.objects.get().endpoint == hook


def test_a_delivery_is_signed_per_standard_webhooks(start, send, endpoint, receiver, client):
    hook = endpoint()
    conversation = start()
    message = send(conversation, "where is my order?")
    before = scrape(client)
    assert run_lane(conversation, hook) == 1
    delivered = ("parley_webhook_deliveries_total", (("outcome", "delivered"),))
    assert scrape(client).get(delivered, 0) - before.get(delivered, 0) == 1  # /metrics counts it
    [request] = receiver.requests
    payload = Webhook(hook.secret).verify(request["body"], request["headers"])
    assert payload["type"] == "message.created"
    assert payload["data"]["message"]["body"] == "where is my order?"
    assert payload["data"]["message"]["seq"] == message.seq
    event = HookEvent.objects.get()
    assert request["headers"]["webhook-id"] == event.msg_id
    # Another secret does not verify it.
    other = Webhook(WebhookEndpoint(site_id=hook.site_id).secret)
    with pytest.raises(Exception, match="signature"):
        other.verify(request["body"], request["headers"])
    d = WebhookDelivery.objects.get()
    assert (d.state, d.attempts, d.last_status) == (State.DELIVERED, 1, 200)
    [attempt] = d.log.all()
    assert attempt.response_status == 200 and json.loads(attempt.response_body) == {"got": 200}
    assert json.loads(attempt.request_body)["type"] == "message.created"
    assert "webhook-signature" not in attempt.request_headers  # nothing to replay it with


def test_a_failure_is_retried_with_backoff_and_later_events_wait(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    for text in ("one", "two", "three"):
        send(conversation, text)
    receiver.plan = [500]
    before = timezone.now()
    assert run_lane(conversation, hook) == 0
    assert len(receiver.requests) == 1  # "two" and "three" wait behind "one"
    first, second, third = WebhookDelivery.objects.order_by("id")
    first.refresh_from_db()
    assert (first.state, first.attempts, first.last_status) == (State.PENDING, 1, 500)
    assert first.next_attempt_at >= before + dt.timedelta(seconds=conf.RETRY_SCHEDULE[0])
    assert second.attempts == third.attempts == 0
    assert WebhookEndpoint.objects.get(pk=hook.pk).failing_since is not None
    # Not due yet: nothing is sent.
    assert run_lane(conversation, hook) == 0 and len(receiver.requests) == 1
    make_due(pk=first.pk)
    assert run_lane(conversation, hook) == 3
    texts = [b["data"]["message"]["body"] for b in receiver.bodies()]
    assert texts == ["one", "one", "two", "three"]
    assert WebhookEndpoint.objects.get(pk=hook.pk).failing_since is None
    assert list(first.log.values_list("response_status", flat=True)) == [500, 200]


def test_a_timeout_is_a_failure_and_is_logged(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    send(conversation)
    receiver.plan = ["timeout"]
    assert run_lane(conversation, hook) == 0
    d = WebhookDelivery.objects.get()
    assert d.state == State.PENDING and d.last_status is None
    assert d.last_error.startswith("timeout")
    assert d.log.get().error.startswith("timeout")


def test_a_refused_connection_is_logged_as_its_cause(start, send, endpoint):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hook = endpoint(url=f"http://127.0.0.1:{port}/hook")
    conversation = start()
    send(conversation)
    assert run_lane(conversation, hook) == 0
    error = WebhookDelivery.objects.get().last_error
    # The cause, without urllib3's connection object ("HTTPConnection(host=…): …").
    assert error.startswith("error: ") and "refused" in error.lower()
    assert "HTTPConnection" not in error and "object at" not in error


def test_other_conversations_do_not_wait_for_a_failing_one(
    start, send, endpoint, receiver, customer
):
    from chat.models import Conversation

    hook = endpoint()
    first = start()
    send(first, "a")
    Conversation.objects.filter(pk=first.pk).update(status="resolved")
    second = start()
    assert second.pk != first.pk
    send(second, "b")
    receiver.plan = [503]
    run_lane(first, hook)
    assert run_lane(second, hook) == 1


def test_after_the_last_retry_the_delivery_fails_and_the_lane_moves_on(
    start, send, endpoint, receiver
):
    hook = endpoint()
    conversation = start()
    send(conversation, "one")
    send(conversation, "two")
    first = WebhookDelivery.objects.order_by("id").first()
    WebhookDelivery.objects.filter(pk=first.pk).update(attempts=len(conf.RETRY_SCHEDULE))
    receiver.plan = [500]
    assert run_lane(conversation, hook) == 0
    first.refresh_from_db()
    assert first.state == State.FAILED and first.attempts == len(conf.RETRY_SCHEDULE) + 1
    assert run_lane(conversation, hook) == 1
    assert receiver.bodies()[-1]["data"]["message"]["body"] == "two"


def test_the_retry_schedule_spans_about_a_day():
    assert 23 * 3600 <= sum(conf.RETRY_SCHEDULE) <= 26 * 3600


def test_an_endpoint_failing_for_days_is_disabled_and_its_owner_emailed(
    site, start, send, endpoint, receiver
):
    hook = endpoint(owner_email="ops@example.com")
    conversation = start()
    send(conversation)
    days = conf.get("WEBHOOK_DISABLE_AFTER_DAYS")
    WebhookEndpoint.objects.filter(pk=hook.pk).update(
        failing_since=timezone.now() - dt.timedelta(days=days, minutes=1)
    )
    receiver.plan = [500]
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_lane(conversation, hook)
    hook.refresh_from_db()
    assert not hook.enabled and "failing since" in hook.disabled_reason
    assert Site.objects.get(pk=site.pk).hook_events["webhooks"] == []
    [email] = mail.outbox
    assert email.to == ["ops@example.com"] and hook.url in email.subject
    # Its pending events are kept, and go out once it is enabled again.
    send(conversation, "while off")  # no listener now: no new delivery
    assert WebhookDelivery.objects.filter(state=State.PENDING).count() == 1
    endpoint_save(endpoint=hook, enabled=True)
    make_due()
    assert run_lane(conversation, hook) == 1


def test_replay_sends_the_same_event_again_at_the_end_of_its_lane(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    send(conversation, "one")
    run_lane(conversation, hook)
    original = WebhookDelivery.objects.get()
    replay = delivery.delivery_replay(delivery=original)
    assert replay.pk != original.pk and replay.replay_of == original
    assert run_lane(conversation, hook) == 1
    first, again = receiver.requests
    assert first["headers"]["webhook-id"] == again["headers"]["webhook-id"]
    assert first["body"] == again["body"]


def test_a_replay_to_a_disabled_endpoint_is_refused(start, send, endpoint):
    from chat.exceptions import Conflict

    hook = endpoint()
    conversation = start()
    send(conversation)
    endpoint_save(endpoint=hook, enabled=False)
    with pytest.raises(Conflict):
        delivery.delivery_replay(delivery=WebhookDelivery.objects.get())


@pytest.mark.redis
def test_over_its_rate_an_endpoint_s_deliveries_wait_and_the_owner_is_told_once(
    start, send, endpoint, receiver
):
    from chat.models import QuotaNotice

    hook = endpoint(rate="2/min", owner_email="owner@example.com")
    conversation = start()
    for text in ("one", "two", "three", "four"):
        send(conversation, text)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert run_lane(conversation, hook) == 2
        assert run_lane(conversation, hook) == 0
    assert len(receiver.requests) == 2
    third = WebhookDelivery.objects.order_by("id")[2]
    assert third.state == State.PENDING and third.attempts == 0
    assert third.last_error.startswith("deferred: rate")
    assert third.next_attempt_at > timezone.now() + dt.timedelta(seconds=20)
    make_due(pk=third.pk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert run_lane(conversation, hook) == 0  # still over: deferred again, told once
    notice = QuotaNotice.objects.get(kind="webhook", owner_id=str(hook.pk))
    assert notice.limit == "rate"
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_on_one_lane_send_each_event_once_in_order(
    start, send, endpoint, receiver
):
    hook = endpoint()
    conversation = start()
    for i in range(12):
        send(conversation, f"m{i}")
    errors = []

    def worker():
        try:
            delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)  # whatever a loser left
    texts = [b["data"]["message"]["body"] for b in receiver.bodies()]
    assert texts == [f"m{i}" for i in range(12)]
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_the_sweeper_finds_due_and_abandoned_lanes(start, send, endpoint):
    hook = endpoint()
    conversation = start()
    send(conversation)
    assert delivery.due_lanes() == [(hook.pk, conversation.pk)]
    # A worker died mid-request: its lease runs out, then the lane is due again.
    WebhookDelivery.objects.update(
        state=State.SENDING, lease_until=timezone.now() + dt.timedelta(seconds=30)
    )
    assert delivery.due_lanes() == []
    WebhookDelivery.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert delivery.due_lanes() == [(hook.pk, conversation.pk)]


def test_a_lane_waiting_on_a_retry_is_not_swept_for_its_later_events(start, send, endpoint):
    hook = endpoint()
    conversation = start()
    send(conversation, "one")
    send(conversation, "two")
    first = WebhookDelivery.objects.order_by("id").first()
    WebhookDelivery.objects.filter(pk=first.pk).update(
        attempts=3, next_attempt_at=timezone.now() + dt.timedelta(hours=2)
    )
    assert delivery.due_lanes() == []  # "two" is due, but it waits for "one"
    make_due(pk=first.pk)
    assert delivery.due_lanes() == [(hook.pk, conversation.pk)]


def test_old_finished_events_are_pruned_and_open_ones_kept(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    send(conversation, "delivered")
    delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)
    send(conversation, "still pending")
    days = conf.get("WEBHOOK_RETENTION_DAYS")
    later = timezone.now() + dt.timedelta(days=days, hours=1)
    assert delivery.prune(now=later) == 1
    [kept] = HookEvent.objects.all()
    assert kept.body["data"]["message"]["body"] == "still pending"
    assert not WebhookDelivery.objects.filter(state=State.DELIVERED).exists()


def test_a_url_that_now_resolves_inside_the_network_is_refused_at_send(
    settings, start, send, endpoint, receiver
):
    hook = endpoint()  # saved while private addresses were allowed
    settings.PARLEY_INTEGRATIONS = {**settings.PARLEY_INTEGRATIONS, "WEBHOOK_ALLOW_PRIVATE": False}
    conversation = start()
    send(conversation)
    assert delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk) == 0
    assert receiver.requests == []
    assert WebhookDelivery.objects.get().last_error.startswith("refused: 127.0.0.1")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_committed_events_reach_the_receiver_through_the_kick(start, send, endpoint, receiver):
    """After commit the kick thread queues the lanes (several at once: one ``_many`` task);
    with Celery eager the tasks run right there, so the events arrive with nobody calling
    lane_run."""
    import time

    from celery import current_app

    endpoint()
    conversations = [start()]
    send(conversations[0], "first")
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        send(conversations[0], "second")
        deadline = time.monotonic() + 20

        def done() -> bool:
            # The receiver has the request before the sender has its answer and records the
            # delivery: wait for both, not the request alone (a race on a loaded machine).
            states = set(WebhookDelivery.objects.values_list("state", flat=True))
            return len(receiver.requests) >= 2 and states == {State.DELIVERED}

        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        current_app.conf.task_always_eager = was
    texts = [b["data"]["message"]["body"] for b in receiver.bodies()]
    assert texts[:2] == ["first", "second"]
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_kicks_of_several_lanes_go_as_one_task_per_chunk(start, send, endpoint, receiver, customer):
    from celery import current_app

    from chat.models import Conversation
    from integrations import kick
    from integrations.services.outbox import LANE_TASK

    hook = endpoint()
    first = start()
    send(first, "a")
    Conversation.objects.filter(pk=first.pk).update(status="resolved")
    second = start()
    send(second, "b")
    ran = []
    many = current_app.tasks[f"{LANE_TASK}_many"]
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        # Eager: the task runs here, in this test's transaction, and says what it got.
        from celery.signals import task_prerun

        def seen(sender=None, args=None, **_):
            ran.append((sender.name, args))

        task_prerun.connect(seen)
        kick._kicker._send(LANE_TASK, [(hook.pk, first.pk), (hook.pk, second.pk)])
        task_prerun.disconnect(seen)
    finally:
        current_app.conf.task_always_eager = was
    assert ran == [(many.name, [[[hook.pk, first.pk], [hook.pk, second.pk]]])]  # one task
    assert sorted(b["data"]["message"]["body"] for b in receiver.bodies()) == ["a", "b"]
