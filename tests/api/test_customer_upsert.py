"""POST /customers/: a CRM's sync creates or updates a customer by its own id in one call
(201 created, 200 updated), within the key's site; two calls racing on a new id make one
customer."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chat.models import ApiKey, Customer
from chat.services.customers import customer_upsert
from tests.api.conftest import key_client, visitor_client
from tests.chat.test_concurrency import run_threads
from tests.factories import make_agent, make_customer, make_site

URL = "/api/v1/customers/"


@pytest.mark.django_db
def test_one_call_creates_then_updates_only_what_it_gives():
    site = make_site()
    api, _ = key_client(site=site)
    made = api.post(URL, {"external_id": "u-881", "name": "Zoé", "email": "zoe@example.com",
                          "locale": "fr-FR", "attributes": {"plan": "pro"}}, format="json")  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["site"], body["external_id"], body["name"]) == (site.pk, "u-881", "Zoé")
    again = api.post(URL, {"external_id": "u-881", "name": "Zoé Martin"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert again.json()["email"] == "zoe@example.com"  # not given: kept
    assert again.json()["attributes"] == {"plan": "pro"}
    assert Customer.objects.filter(site=site).count() == 1
    # A customer the widget made (identified by the site's backend) is found, not doubled.
    widget_made = make_customer(site=site, external_id="u-9", name="")
    found = api.post(URL, {"external_id": "u-9", "name": "Ana"}, format="json")
    assert found.status_code == 200 and found.json()["id"] == widget_made.pk


@pytest.mark.django_db
def test_the_site_is_the_key_s_or_the_one_named():
    site, other = make_site(), make_site(name="Other shop")
    bound, _ = key_client(site=site)
    refused = bound.post(URL, {"external_id": "u-1", "site": other.pk}, format="json")
    assert refused.status_code == 403  # as the webhooks answer it
    assert refused.json()["error"]["message"] == "This API key is limited to another site."
    assert (
        bound.post(URL, {"external_id": "u-1", "site": site.pk}, format="json").status_code == 201
    )
    free, _ = key_client()
    missing = free.post(URL, {"external_id": "u-2"}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "site"
    unknown = free.post(URL, {"external_id": "u-2", "site": 999999}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "site"
    made = free.post(URL, {"external_id": "u-2", "site": other.pk}, format="json")
    assert made.status_code == 201 and made.json()["site"] == other.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "no id"}, "external_id"),
        ({"external_id": "   "}, "external_id"),
        ({"external_id": 881}, "external_id"),
        ({"external_id": None}, "external_id"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"external_id": "u-1", "email": "not an email"}, "email"),
        ({"external_id": "u-1", "attributes": ["x"]}, "attributes"),
        ({"external_id": "u-1", "site": "one"}, "site"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(body, field):
    api, _ = key_client(site=make_site())
    answer = api.post(URL, body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["field"] == field
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_who_may_write_customers():
    site = make_site()
    reader, key = key_client(site=site)
    ApiKey.objects.filter(pk=key.pk).update(scopes=["customers:read"])
    assert reader.post(URL, {"external_id": "u-1"}, format="json").status_code == 403
    visitor = visitor_client(make_customer(site=site))
    assert (
        visitor.post(URL, {"external_id": "u-1", "site": site.pk}, format="json").status_code == 403
    )
    agent = APIClient()
    agent.force_login(make_agent("ana"))
    assert (
        agent.post(URL, {"external_id": "u-1", "site": site.pk}, format="json").status_code == 403
    )
    assert not Customer.objects.filter(external_id="u-1").exists()


@pytest.mark.django_db
def test_a_retry_with_the_same_idempotency_key_answers_the_same():
    api, _ = key_client(site=make_site())
    first = api.post(URL, {"external_id": "u-5"}, format="json", HTTP_IDEMPOTENCY_KEY="sync-5")
    second = api.post(URL, {"external_id": "u-5"}, format="json", HTTP_IDEMPOTENCY_KEY="sync-5")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true" and second.json() == first.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_syncs_racing_on_a_new_id_make_one_customer():
    site = make_site()

    def upsert(name):
        return customer_upsert(site_id=site.pk, external_id="u-race", fields={"name": name})

    results, errors = run_threads(upsert, [("A",), ("B",)])
    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert Customer.objects.filter(site=site, external_id="u-race").count() == 1


@pytest.mark.django_db
def test_a_signed_widget_session_verifies_the_crm_s_customer_and_writes_only_its_own_fields():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat.services.identity import identity_hash, visitor_session_create

    site = make_site(identity_secret="s3cret-for-tests")
    api, _ = key_client(site=site)
    made = api.post(URL, {"external_id": "u-1", "email": "zoe@example.com",
                          "attributes": {"plan": "pro"}}, format="json").json()  # fmt: skip
    assert made["identity_verified"] is False
    with CaptureQueriesContext(connection) as queries:
        customer, _ = visitor_session_create(
            site_key=site.key, origin=None, external_id="u-1",
            user_hash=identity_hash(site=site, external_id="u-1"), locale="fr-FR",
        )  # fmt: skip
    assert customer.pk == made["id"]
    # The signature proves who this visitor is: the customer is verified now, so a
    # visitor's form (offline contact, pre-chat) can no longer replace the CRM's email.
    stored = Customer.objects.get(pk=customer.pk)
    assert stored.identity_verified is True and stored.email == "zoe@example.com"
    # Only the session's own fields were written: a save of every field put back a stale
    # copy of what a CRM upsert had committed meanwhile (a probe lost 1 write in 80).
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "chat_customer"')]
    session, rotation = updates
    assert session.startswith('UPDATE "chat_customer" SET "identity_verified" = ')
    for field in ("attributes", "email", "name", "external_id", "token_generation"):
        assert f'"{field}"' not in session
    assert '"token_generation"' in rotation


@pytest.mark.django_db
def test_a_sync_keeps_what_the_widget_recorded_unless_it_names_it():
    site = make_site()
    api, _ = key_client(site=site)
    made = api.post(URL, {"external_id": "u-7"}, format="json").json()
    consent = {"given": True, "at": "2026-12-06T10:00:00+00:00"}
    Customer.objects.filter(pk=made["id"]).update(
        attributes={"consent": consent, "prechat": {"order": "7781"}, "plan": "free"}
    )
    synced = api.post(URL, {"external_id": "u-7", "attributes": {"plan": "pro"}}, format="json")
    assert synced.json()["attributes"] == {
        "consent": consent, "prechat": {"order": "7781"}, "plan": "pro"
    }  # fmt: skip
    # Named, it is the caller's to change (an erasure tool, a consent withdrawn elsewhere).
    patched = api.patch(f"{URL}{made['id']}/", {"attributes": {"consent": None}}, format="json")
    assert patched.json()["attributes"] == {"consent": None, "prechat": {"order": "7781"}}
