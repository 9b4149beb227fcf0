"""/metrics: scraped and parsed as Prometheus would, behind a token or an allow-list."""

from __future__ import annotations

import pytest
from celery import current_app
from celery.signals import task_failure
from django.core.cache import cache
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.throttling import AnonRateThrottle

from actions.conversations import message_send
from chat import metrics
from chat.models import Message
from routing.models import Reservation
from tests.factories import customer_actor
from tests.routing.conftest import make_queue, online_agent, open_offer, waiting

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_and_scrape_time_gauges(client, published):
    before = scrape(client)
    queue = make_queue(name="Billing")
    online_agent(queue)
    conversation = waiting(queue)  # the router offers it to the agent after commit
    offer = open_offer(conversation)
    assert offer.state == Reservation.State.OFFERED
    for n in (1, 2):
        message_send(
            actor=customer_actor(conversation.customer),
            conversation_id=conversation.pk,
            body=f"hello {n}",
            client_msg_id=f"c{n}",
        )
    metrics.webhook_delivery("delivered")
    task_failure.send(sender=current_app.tasks["chat.tasks.pipeline_sweep"], task_id="t1")
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("parley_offers_total", outcome="offered") == 1
    assert delta("parley_webhook_deliveries_total", outcome="delivered") == 1
    assert delta("parley_celery_task_failures_total", task="chat.tasks.pipeline_sweep") == 1
    assert delta("parley_messages_total", kind="text") == 2
    counted = sum(
        delta("parley_messages_total", kind=kind) for kind in ("text", "bot", "system", "event")
    )
    assert counted == Message.objects.count()
    assert value(after, "parley_queue_depth", queue="Billing") == 1
    backlog = Message.objects.filter(pipeline="pending").count()
    assert value(after, "parley_pipeline_backlog") == backlog
    # The histogram is exposed with its buckets (observed in test_socket_metrics).
    assert ("parley_message_send_seconds_bucket", (("le", "+Inf"),)) in after


def test_refused_without_the_token_or_from_elsewhere(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.1.2.3"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    # A forwarded header is never believed.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics").status_code == 403  # with a token set, the token rules
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-token")


def test_a_throttled_rest_call_is_counted(client, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "1/min"})
    cache.delete("throttle_anon_127.0.0.1")  # the test client's address
    before = value(scrape(client), "parley_rate_limited_total", endpoint="rest")
    statuses = [
        client.post(
            "/api/v1/widget/sessions/", {"site_key": "none"}, content_type="application/json"
        ).status_code
        for _ in range(3)
    ]
    assert statuses.count(429) == 2
    after = value(scrape(client), "parley_rate_limited_total", endpoint="rest")
    assert after - before == 2
