"""A secret rotation with an overlap: for WEBHOOK_SECRET_OVERLAP_SECONDS every delivery is
signed with the new secret and the old one (Standard Webhooks' several signatures), so a
receiver still holding the old secret keeps verifying while it switches; then only the new.
A probe's receiver refused every delivery from the moment it rotated."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from integrations.models import WebhookDelivery
from integrations.services import delivery
from integrations.services.endpoints import endpoint_secret_rotate

pytestmark = pytest.mark.django_db


def deliver(conversation, hook, send, receiver, text: str) -> dict:
    send(conversation, text)
    WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    before = len(receiver.requests)
    delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)
    assert len(receiver.requests) == before + 1
    return receiver.requests[-1]


def verifies(secret: str, request: dict) -> bool:
    try:
        Webhook(secret).verify(request["body"], request["headers"])
    except Exception:  # standardwebhooks raises its own WebhookVerificationError
        return False
    return True


def test_both_secrets_verify_during_the_overlap_then_only_the_new(
    start, send, endpoint, receiver, settings
):
    settings.PARLEY_INTEGRATIONS = {
        **settings.PARLEY_INTEGRATIONS,
        "WEBHOOK_SECRET_OVERLAP_SECONDS": 3600,
    }
    hook = endpoint()
    old = hook.secret
    conversation = start()
    endpoint_secret_rotate(endpoint=hook)
    hook.refresh_from_db()
    assert hook.secret != old
    during = deliver(conversation, hook, send, receiver, "during the overlap")
    assert verifies(old, during) and verifies(hook.secret, during)
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    type(hook).objects.filter(pk=hook.pk).update(
        previous_secret_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    after = deliver(conversation, hook, send, receiver, "after it")
    assert verifies(hook.secret, after) and not verifies(old, after)


def test_no_overlap_for_a_leaked_secret(start, send, endpoint, receiver, settings):
    settings.PARLEY_INTEGRATIONS = {
        **settings.PARLEY_INTEGRATIONS,
        "WEBHOOK_SECRET_OVERLAP_SECONDS": 0,
    }
    hook = endpoint()
    old = hook.secret
    conversation = start()
    endpoint_secret_rotate(endpoint=hook)
    hook.refresh_from_db()
    request = deliver(conversation, hook, send, receiver, "at once")
    assert verifies(hook.secret, request) and not verifies(old, request)
