"""Idempotency-Key on every POST: a retry gets the same response and does nothing again;
the same key with another body gets 409; the key lives 24 h; a server error frees it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from chat.api import idempotency
from chat.models import Conversation, IdempotencyRecord, Message
from tests.api.conftest import key_client, visitor_client
from tests.factories import make_customer, make_site

pytestmark = pytest.mark.django_db


def test_a_retry_gets_the_same_response_and_creates_nothing_more():
    site = make_site()
    customer = make_customer(site=site)
    client, _ = key_client(site=site)
    conversation = client.post(
        "/api/v1/conversations/", {"customer": customer.pk}, format="json"
    ).json()
    url = f"/api/v1/conversations/{conversation['id']}/system-messages/"
    body = {"body": "Order shipped"}  # no client_msg_id: only the key makes it idempotent
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="ship-7")
    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="ship-7")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Message.objects.filter(kind="system", body="Order shipped").count() == 1
    other = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="ship-8")
    assert other.status_code == 201
    assert Message.objects.filter(kind="system", body="Order shipped").count() == 2


def test_the_same_key_with_another_body_is_a_409():
    customer = make_customer()
    client, _ = key_client()
    first = client.post(
        "/api/v1/conversations/",
        {"customer": customer.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert first.status_code == 201
    other = make_customer(site=customer.site)
    response = client.post(
        "/api/v1/conversations/", {"customer": other.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Conversation.objects.filter(customer=other).count() == 0


def test_errors_are_replayed_too_and_keys_belong_to_their_caller():
    client, _ = key_client()
    refused = client.post(
        "/api/v1/conversations/", {"customer": 999999}, format="json", HTTP_IDEMPOTENCY_KEY="e1"
    )
    assert refused.status_code == 404
    replay = client.post(
        "/api/v1/conversations/", {"customer": 999999}, format="json", HTTP_IDEMPOTENCY_KEY="e1"
    )
    assert replay.status_code == 404 and replay["Idempotent-Replayed"] == "true"
    # Another caller's identical key is theirs, not a replay of this one.
    customer = make_customer()
    visitor = visitor_client(customer)
    mine = visitor.post("/api/v1/conversations/", {}, format="json", HTTP_IDEMPOTENCY_KEY="e1")
    assert mine.status_code == 201 and "Idempotent-Replayed" not in mine


def test_a_request_still_running_makes_a_retry_409():
    customer = make_customer()
    client, key = key_client()
    IdempotencyRecord.objects.create(
        principal=f"api_key:{key.pk}", key="busy", fingerprint="x" * 64
    )
    response = client.post(
        "/api/v1/conversations/",
        {"customer": customer.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="busy",
    )
    # Another request's fingerprint: reused. Same fingerprint while running: in flight.
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    record = IdempotencyRecord.objects.get(key="busy")
    record.fingerprint = _fingerprint_of(client, customer)
    record.save()
    response = client.post(
        "/api/v1/conversations/",
        {"customer": customer.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="busy",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "idempotency_in_flight",
    )


def _fingerprint_of(client, customer) -> str:
    """The fingerprint the server computes for that request (by making it once, fresh)."""
    client.post(
        "/api/v1/conversations/",
        {"customer": customer.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="probe",
    )
    return IdempotencyRecord.objects.get(key="probe").fingerprint


def test_a_key_expires_after_its_ttl_and_is_purged():
    customer = make_customer()
    client, _ = key_client()
    client.post(
        "/api/v1/conversations/",
        {"customer": customer.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="old",
    )
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=IdempotencyRecord.objects.get(key="old").created_at - dt.timedelta(hours=25)
    )
    fresh = client.post(
        "/api/v1/conversations/",
        {"customer": customer.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="old",
    )
    assert "Idempotent-Replayed" not in fresh  # ran again (the open conversation: 200)
    assert fresh.status_code == 200
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=IdempotencyRecord.objects.get(key="old").created_at - dt.timedelta(hours=25)
    )
    assert idempotency.purge() == 1
    assert not IdempotencyRecord.objects.filter(key="old").exists()


def test_a_server_error_frees_the_key(settings):
    settings.ROOT_URLCONF = "tests.api.boom_urls"
    client, _ = key_client()
    client.raise_request_exception = False
    response = client.post("/api/v1/boom-post/", {}, format="json", HTTP_IDEMPOTENCY_KEY="b1")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal"
    assert not IdempotencyRecord.objects.filter(key="b1").exists()


@pytest.mark.parametrize("raw", ["", "x" * 256, "caf\u00e9", "a\x00b"])
def test_a_malformed_key_is_a_400(raw):
    client, _ = key_client()
    response = client.post("/api/v1/conversations/", {}, format="json", HTTP_IDEMPOTENCY_KEY=raw)
    assert (response.status_code, response.json()["error"]["field"]) == (400, "Idempotency-Key")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_run_the_request_once():
    """Eight threads send the same keyed request at once: one message, one 201, and the
    others either replay it or are told it is still running."""
    site = make_site()
    customer = make_customer(site=site)
    client, _ = key_client(site=site)
    conversation = client.post(
        "/api/v1/conversations/", {"customer": customer.pk}, format="json"
    ).json()
    url = f"/api/v1/conversations/{conversation['id']}/system-messages/"
    token = client._credentials["HTTP_AUTHORIZATION"]
    barrier = threading.Barrier(8)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def call():
        mine = APIClient()
        mine.credentials(HTTP_AUTHORIZATION=token)
        barrier.wait()
        response = mine.post(url, {"body": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="race")
        code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
        with lock:
            results.append((response.status_code, code))
        connection.close()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Message.objects.filter(kind="system", body="once").count() == 1
    assert sum(1 for status, _ in results if status == 201) >= 1
    assert all(status == 201 or code == "idempotency_in_flight" for status, code in results)


def test_a_response_with_dates_is_kept_and_replayed(admin_client):
    """An API key's creation answers datetimes (and its secret, once): the retry gets the
    same key back, not a second key, and its secret is never stored, so not replayed."""
    body = {"name": "crm", "scopes": ["customers:read"]}
    first = admin_client.post(
        "/api/v1/api-keys/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="mk-1"
    )
    again = admin_client.post(
        "/api/v1/api-keys/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="mk-1"
    )
    assert first.status_code == again.status_code == 201
    secret = first.json()["secret"]
    assert again.json() == {**first.json(), "secret": None}
    assert again["Idempotent-Replayed"] == "true" and first.json()["created_at"]
    assert secret.startswith("pk_")
    assert not IdempotencyRecord.objects.filter(response__icontains=secret[3:]).exists()
    from chat.models import ApiKey

    assert ApiKey.objects.filter(name="crm").count() == 1


def test_a_session_upload_with_a_key_is_fingerprinted_from_its_parsed_parts():
    # The session's CSRF check reads a multipart body as a stream before the key is
    # claimed, so Django keeps no copy of it: this was a 500 (RawPostDataException).
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import make_agent

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_agent("uploader"))
    token = "a" * 32
    client.cookies["csrftoken"] = token
    url = "/api/v1/conversations/999999/attachments/"

    def upload(content: bytes):
        return client.post(
            url,
            {"file": SimpleUploadedFile("f.txt", content, content_type="text/plain")},
            format="multipart",
            HTTP_X_CSRFTOKEN=token,
            HTTP_IDEMPOTENCY_KEY="up-1",
        )

    first, again = upload(b"hello"), upload(b"hello")
    assert first.status_code == again.status_code == 404, first.content
    assert again["Idempotent-Replayed"] == "true"
    other = upload(b"other bytes")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("body", ["5", '"x"', "[]", "null"])
def test_a_body_that_is_not_an_object_is_a_400_on_the_widget_forms(body):
    site = make_site()
    customer = make_customer(site=site)
    client = visitor_client(customer)
    for url in (
        "/api/v1/conversations/1/csat/",
        "/api/v1/conversations/1/transcript/",
        "/api/v1/conversations/1/offline-contact/",
        "/api/v1/widget/prechat/",
    ):
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.content)
        assert response.json()["error"]["code"] == "invalid_field"


def test_the_api_answers_json_whatever_format_or_accept_asks():
    client, _ = key_client()
    for query, accept in (("?format=xml", "application/json"), ("?format=api", "text/html")):
        response = client.get(f"/api/v1/conversations/{query}", HTTP_ACCEPT=accept)
        assert response["Content-Type"].startswith("application/json"), query
    assert client.get("/api/v1/conversations/?format=xml").status_code == 200
    refused = client.get("/api/v1/conversations/", HTTP_ACCEPT="text/html")
    assert refused.status_code == 406 and refused.json()["error"]["code"] == "not_acceptable"
